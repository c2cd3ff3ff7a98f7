"""``zohocrm demo`` as a new user runs it, off a terminal (as CI, a pipe or a log file sees it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOX = "│┃"


def run_demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(HOME=str(cwd / "home"), TMPDIR=str(cwd / "tmp"), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "connector.cli", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def table_rows(stdout: str) -> list[list[str]]:
    """Cells of every body row of the rich tables on stdout."""
    rows = []
    for line in stdout.splitlines():
        if line.startswith("│"):
            rows.append([cell.strip() for cell in re.split(f"[{BOX}]", line)[1:-1]])
    return rows


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_demo_off_a_terminal_full_width_null_visible_a_working_hint_and_only_its_folder(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    proc = run_demo(tmp_path, "--records", "400", "--dir", "demo-out")
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    # Full width: sentences are whole lines, nothing is cut with an ellipsis.
    assert re.search(r"^Done in \d+ s, .* API credits used \(a real Enterprise org has at least 50,000 a day\)\.$",
                     err, re.M), err
    assert re.search(r"^ +incremental: .* credits$", err, re.M), err
    assert "…" not in out + err
    # NULL is a visible value, never a blank cell (a blank first row looked like no row at all).
    rows = table_rows(out)
    assert rows and all(all(cells) for cells in rows), out
    assert any("NULL" in cells for cells in rows), out
    # The hint runs as printed, with what was installed along with the connector.
    hint = next(line.strip() for line in err.splitlines() if " -c " in line and "import duckdb" in line)
    assert not hint.startswith("duckdb ")
    shown = subprocess.run(["bash", "-c", hint], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "Lead_Source" in shown.stdout and "leads" in shown.stdout
    # Nothing outside its folder: not the token store, not its key, not a report.
    assert listing(tmp_path / "home") == []
    assert listing(tmp_path / "tmp") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-out", "home", "tmp"]
    kept = listing(tmp_path / "demo-out")
    assert "zoho.duckdb" in kept and any(p.endswith(".tokens") for p in kept) and any(p.endswith(".key") for p in kept)
    # A second run in the same folder starts afresh (new emulator, new credentials) and works.
    again = run_demo(tmp_path, "--records", "200", "--dir", "demo-out")
    assert again.returncode == 0, again.stderr
    assert listing(tmp_path / "home") == [] and listing(tmp_path / "tmp") == []


def test_a_demo_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "taken").write_text("not a folder\n")
    proc = run_demo(tmp_path, "--records", "200", "--dir", "taken")
    assert proc.returncode == 2 and "--dir" in proc.stderr and "is a file" in proc.stderr
    proc = run_demo(tmp_path, "--records", "200", "--dir", "taken/inside")
    assert proc.returncode == 7, proc.stderr
    assert "taken" in proc.stderr and "--dir" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_a_bad_org_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "--org", "startup")
    assert proc.returncode == 2 and "startup" in proc.stderr and "Traceback" not in proc.stderr
