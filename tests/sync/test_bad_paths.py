"""Unwritable or odd paths for ``--target``, ``--state`` and ``--report-dir``: one clear line, exit 7, no Zoho call.

Each case runs the real ``zohocrm migrate`` process: a read-only disk, ``/proc`` and ``/sys``,
a folder given where a file is expected and a file where a folder is, a control character in
the name. The answer names the option and the fix, is never ``internal error`` nor a
traceback, never blames Zoho or "another migration", and comes before any call to Zoho (the
emulators count every call). A state file really held by another process is told apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import connector
from connector.emulator import Emulator
from connector.errors import FileAccessError
from connector.sync.idmap import SyncStateStore

from .helpers import ALLOW

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def orgs() -> Iterator[tuple[Emulator, Emulator]]:
    with Emulator(records=30, seed=81) as a, Emulator(records=0, seed=82) as b:
        yield a, b


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only file system (a tmpfs mounted ro); where mounting is not allowed, a
    folder this user may not write (non-root), or sysfs, which refuses new files even to root."""
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                                                   capture_output=True).returncode == 0
    if mounted:
        yield ro
        subprocess.run(["umount", str(ro)], check=True)
    elif os.geteuid() != 0:
        ro.chmod(0o500)
        yield ro
        ro.chmod(0o700)
    else:
        yield Path("/sys/kernel")


def zohocrm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def assert_clear(proc: subprocess.CompletedProcess[str], option: str, *needles: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 7, text
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, text
    for bad in ("internal error", "Traceback", "another migration", "settings/modules", "Errno", "IO Error"):
        assert bad not in text, text
    assert option in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


def odd_places(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a-folder").mkdir(exist_ok=True)
    (tmp_path / "a-file").write_text("not a folder\n")
    return {"folder": tmp_path / "a-folder", "file": tmp_path / "a-file"}


TARGETS = [  # (target, what the line says)
    ("duckdb:{ro}/crm.duckdb", "cannot write"),
    ("duckdb:/sys/crm.duckdb", "permission denied"),
    ("duckdb:/proc/crm.duckdb", "does not accept new files"),
    ("duckdb:{folder}", "is a folder, not a file"),
    ("duckdb:{file}/crm.duckdb", "is a file, not a folder"),
    ("duckdb:{file}", "not a DuckDB database"),
    ("parquet:{file}", "is a file, not a folder"),
    ("parquet:/proc/zohocrm-out", "does not accept new files"),
    ("csv:{ro}/out", "cannot write"),
    ("csv:{tmp}/new\nline", "control character"),
]


@pytest.mark.parametrize(("target", "says"), TARGETS, ids=[t[0] for t in TARGETS])
def test_an_unusable_target_is_named_before_any_zoho_call(orgs, read_only: Path, tmp_path: Path, target: str,
                                                          says: str) -> None:
    a, _ = orgs
    before = a.stats()["calls_total"], a.stats()["tokens_minted"]
    where = target.format(ro=read_only, tmp=tmp_path, **odd_places(tmp_path))
    assert_clear(zohocrm("migrate", "--source", a.connection_string, "--target", where, "--modules", "Deals"),
                 "--target", says)
    assert (a.stats()["calls_total"], a.stats()["tokens_minted"]) == before


STATES = [
    ("--state", "{ro}/state.duckdb", "cannot write"),
    ("--state", "{folder}", "is a folder, not a file"),
    ("--state", "/proc/state.duckdb", "does not accept new files"),
    ("--state", "{file}/state.duckdb", "is a file, not a folder"),
    ("--state", "{file}", "not a DuckDB database"),
    ("--report-dir", "{ro}/reports", "cannot write"),
    ("--report-dir", "{file}", "is a file, not a folder"),
    ("--report-dir", "/sys/zohocrm-reports", "report folder"),
]


@pytest.mark.parametrize(("option", "path", "says"), STATES, ids=[f"{s[0]} {s[1]}" for s in STATES])
def test_an_unusable_state_or_report_folder_is_named_before_any_zoho_call(orgs, read_only: Path, tmp_path: Path,
                                                                         option: str, path: str, says: str) -> None:
    _, b = orgs
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company\n1,Path,PathCo\n")
    args = ["migrate", "--source", f"csv:{src}", "--target", b.connection_string + ALLOW, "--modules", "Leads",
            "--state", str(tmp_path / "state.duckdb")]
    args += [option, path.format(ro=read_only, **odd_places(tmp_path))]
    before = b.stats()["calls_total"], b.stats()["tokens_minted"]
    assert_clear(zohocrm(*args), option, says)
    assert (b.stats()["calls_total"], b.stats()["tokens_minted"]) == before


def test_a_state_file_held_by_another_process_says_so(orgs, tmp_path: Path) -> None:
    _, b = orgs
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company\n1,Held,HeldCo\n")
    held = SyncStateStore(tmp_path / "state.duckdb")
    before = b.stats()["calls_total"], b.stats()["tokens_minted"]
    try:
        proc = zohocrm("migrate", "--source", f"csv:{src}", "--target", b.connection_string + ALLOW, "--modules",
                       "Leads", "--state", str(tmp_path / "state.duckdb"))
    finally:
        held.close()
    assert proc.returncode == 7, proc.stderr
    assert "in use by another process" in proc.stderr and "--state" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert (b.stats()["calls_total"], b.stats()["tokens_minted"]) == before


@pytest.mark.parametrize("arg", ["target", "state_path", "report_dir"])
def test_a_nul_in_a_path_given_to_the_library_is_a_file_access_error(orgs, tmp_path: Path, arg: str) -> None:
    _, b = orgs
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company\n1,Nul,NulCo\n")
    kw = {"state_path": str(tmp_path / "s.duckdb")}
    target = b.connection_string + ALLOW
    if arg == "target":
        target = f"duckdb:{tmp_path}/a\x00b.duckdb"
    else:
        kw[arg] = f"{tmp_path}/a\x00b"
    with pytest.raises(FileAccessError) as info:
        connector.migrate(f"csv:{src}", target, modules=["Leads"], **kw)
    assert "control character" in str(info.value) and "\x00" not in str(info.value)


#: run apart from pytest: DuckDB leaves its progress bar off by default under pytest, on otherwise
_BARS = """
import json
import sys
from pathlib import Path
from connector.engine.sandbox import sandboxed_connection
from connector.sync.paths import connect_duckdb
from connector.sync.source_duckdb import DuckDBSource
from connector.sync.target_duckdb import DuckDBTarget

folder = Path(sys.argv[1])
def bar(con):
    return con.sql("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
import duckdb
seen = {"plain DuckDB": bar(duckdb.connect()), "engine": bar(sandboxed_connection()),
        "state": bar(connect_duckdb(folder / "s.duckdb", "sync state", "--state"))}
for where in (str(folder / "t.duckdb"), ":memory:"):
    target = DuckDBTarget(where)
    seen[f"target {where}"] = bar(target.con)
    target.close()
seen["source"] = bar(DuckDBSource(folder / "t.duckdb").con)
print(json.dumps(seen))
"""


def test_no_duckdb_the_connector_opens_draws_a_progress_bar(tmp_path: Path) -> None:
    """DuckDB draws a progress bar on stdout for a statement over 2 s: a SQL read waiting on Zoho, a long
    load into a DuckDB target or the sync state, a long read of a DuckDB source. Every connection the
    connector opens has it off (checked in a process of its own, where DuckDB's default is on)."""
    out = subprocess.run([sys.executable, "-c", _BARS, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen.pop("plain DuckDB") is True, "DuckDB's default changed: this test no longer proves anything"
    assert seen and not any(seen.values()), seen
