"""``zohocrm query`` and the local disk: -o/--output, --report, the default report folder, NULL in tables.

Unusable paths are refused before any Zoho call (not even a token) with one line naming the
option (exit 7); outputs and reports are private (0600, folders 0700); an output file appears only
when the statement succeeded (issue 11, items 2, 11, 19 and 25).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connector.cli.query_output import OutputFile
from connector.emulator import Emulator
from connector.errors import FileAccessError

from .conftest import calls_since, data_calls

SQL = "SELECT id, Email FROM Leads WHERE Lead_Source = 'Partner'"


def zohocrm(*args: str, connection: str, env: dict[str, str] | None = None,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    full = dict(os.environ, ZOHOCRM_CONNECTION=connection, **(env or {}))
    return subprocess.run([*prefix, sys.executable, "-m", "connector.cli", "query", *args], env=full,
                          capture_output=True, timeout=120)


def all_calls(emu: Emulator) -> int:
    return sum(int(v) for v in emu.stats()["calls"].values())


def read_only_folder(tmp_path: Path) -> tuple[tuple[str, ...], Path]:
    """A folder on a read-only file system: a private read-only tmpfs (user+mount namespace), or, for a
    user who is not root, a folder without write permission (which refuses writes the same way)."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode == 0:
        mount = f'mount -t tmpfs -o ro,size=1m tmpfs "{folder}" && exec "$@"'
        return (unshare, "-rm", "sh", "-c", mount, "sh"), folder
    assert os.geteuid() != 0, "root without unshare: no way to make a read-only folder"
    folder.chmod(0o500)
    return (), folder


def bad_paths(tmp_path: Path) -> list[tuple[str, str]]:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    return [
        (str(tmp_path), "it is a folder"),
        (str(a_file / "out.csv"), "a part of the path is a file"),
        ("/proc/zohocrm-out.csv", "the folder /proc does not take new files"),
        ("/sys/zohocrm-out.csv", "cannot write the"),
        (str(tmp_path / "line\nbreak.csv"), "control character"),
    ]


@pytest.mark.parametrize("option", ["--output", "--report"])
def test_unusable_paths_are_refused_before_any_zoho_call(org: Emulator, org_conn: str, tmp_path: Path,
                                                         option: str) -> None:
    prefix, readonly = read_only_folder(tmp_path)
    cases = [*bad_paths(tmp_path), (str(readonly / "out.csv"), "file system is read-only" if prefix else "denied")]
    sql = SQL if option == "--output" else "DELETE FROM Leads WHERE Email = 'nobody@example.com'"
    for i, (path, words) in enumerate(cases):
        before = all_calls(org)
        p = zohocrm(option, path, "--format", "csv", sql, connection=org_conn,
                    prefix=prefix if i == len(cases) - 1 else ())
        lines = p.stderr.decode().strip().splitlines()
        assert p.returncode == 7, (path, p.stderr.decode())
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], (path, lines)
        assert option in lines[0] and "internal error" not in lines[0] and ".tmp" not in lines[0]
        assert "\n" in path or f" at {path}" in lines[0], lines  # the path given, not a temporary one
        assert all_calls(org) == before, path  # not even a token was asked for
        assert p.stdout == b""


def test_paths_with_nul_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="control character") as info:
        OutputFile(str(tmp_path / "a\x00b.csv"))
    assert "\x00" not in str(info.value)


def test_report_needs_a_csv_or_parquet_name(org_conn: str, tmp_path: Path) -> None:
    p = zohocrm("--report", str(tmp_path / "report.txt"), "DELETE FROM Leads WHERE false", connection=org_conn)
    assert p.returncode == 2 and b".csv or .parquet" in p.stderr and b"Traceback" not in p.stderr


def test_output_is_private_and_appears_only_when_the_statement_succeeds(org: Emulator, org_conn: str,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "new" / "leads.csv"
    p = zohocrm("-o", str(out), "--format", "csv", SQL, connection=org_conn)
    assert p.returncode == 0, p.stderr.decode()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert out.read_text().startswith('"id","Email"')
    before = data_calls(org)
    failed = zohocrm("-o", str(out), "--format", "csv", "SELECT Emial FROM Leads", connection=org_conn)
    assert failed.returncode == 6 and b"did you mean Email" in failed.stderr
    assert out.read_text().startswith('"id","Email"')  # the earlier file is untouched
    assert sorted(x.name for x in out.parent.iterdir()) == ["leads.csv"]  # no temporary file left
    assert set(calls_since(org, before)) <= {"count_records"}  # the planner's size estimate; no record read


def test_write_reports_go_to_the_users_state_folder(private_org: Any, tmp_path: Path) -> None:
    emu: Emulator = private_org(records=100)
    conn = emu.connection_string + ";AllowedOperations=read,insert;AllowedModules=Leads"
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()
    for env, folder in ((dict(XDG_STATE_HOME=str(state)), state / "zohocrm" / "reports"),
                        (dict(XDG_STATE_HOME="", HOME=str(home)), home / ".local" / "state" / "zohocrm" / "reports")):
        p = zohocrm("--format", "csv", "INSERT INTO Leads (Last_Name) VALUES ('Reported')", connection=conn, env=env)
        assert p.returncode == 0, p.stderr.decode()
        (report,) = folder.iterdir()
        assert f"per-row report: {report}".encode() in p.stderr
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(report.stat().st_mode) == 0o600
        assert "inserted" in report.read_text()


def test_table_format_shows_null_and_at_most_a_thousand_rows(org_conn: str) -> None:
    sql = ("SELECT * FROM (VALUES (NULL, '', 1), ('x', NULL, NULL)) t(nothing, empty, one) "
           "ORDER BY nothing NULLS FIRST")
    table = zohocrm(sql, connection=org_conn)
    assert table.returncode == 0, table.stderr.decode()
    lines = [line for line in table.stdout.decode().splitlines() if "│" in line]  # rows (the header has ┃)
    assert [c.strip() for c in lines[0].strip("│ ").split("│")] == ["NULL", "", "1"]
    assert [c.strip() for c in lines[1].strip("│ ").split("│")] == ["x", "NULL", "NULL"]
    csv = zohocrm("--format", "csv", sql, connection=org_conn)
    assert csv.stdout.decode().splitlines()[1:] == [',"",1', '"x",,']  # CSV keeps its own convention
    many = zohocrm("SELECT range AS n FROM range(1500)", connection=org_conn)
    shown = [line.strip("│ ") for line in many.stdout.decode().splitlines() if line.startswith("│")]
    assert many.returncode == 0 and shown == [str(n) for n in range(1000)]
    assert "the first 1,000 rows; the table format stops there" in many.stdout.decode()
