"""Private files and folders whatever the umask, and OS failures said as what, why and what to do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import FileAccessError
from connector.localfs import check_path_text, open_private, private_dir, private_umask, write_private


@pytest.fixture
def open_umask():
    old = os.umask(0o000)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_files_and_folders_are_private_under_an_open_umask(tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "a" / "b" / "report.csv"
    with open_private(target, "w", "write report") as fh:
        fh.write("x")
    assert mode(target) == 0o600
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    write_private(tmp_path / "c" / "state.json", b"{}")
    assert mode(tmp_path / "c" / "state.json") == 0o600 and mode(tmp_path / "c") == 0o700
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["state.json"]  # no temp file left


def test_an_existing_world_readable_file_is_made_private_when_written(tmp_path: Path, open_umask: None) -> None:
    p = tmp_path / "log.txt"
    p.write_text("old\n")
    os.chmod(p, 0o644)
    with open_private(p, "a") as fh:
        fh.write("new\n")
    assert mode(p) == 0o600 and p.read_text() == "old\nnew\n"


def test_private_umask_covers_files_made_by_libraries_and_nests(tmp_path: Path, open_umask: None) -> None:
    import duckdb

    with private_umask(), private_umask():
        con = duckdb.connect(str(tmp_path / "t.duckdb"))
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        wal_modes = [mode(p) for p in tmp_path.iterdir()]
        con.close()
    assert all(m == 0o600 for m in wal_modes), wal_modes
    assert os.umask(0o000) == 0o000  # put back after the outer block


@pytest.mark.parametrize(("make", "needle", "hint"), [
    (lambda d: d / "is-a-dir", "it is a folder, not a file", "inside that folder"),
    (lambda d: d / "file" / "below", "is a file, not a folder", "folder"),
    (lambda d: Path("/proc/zohocrm-nope/x.csv"), "cannot write", "writable location"),
])
def test_os_failures_are_named_with_a_fix(tmp_path: Path, make, needle: str, hint: str) -> None:
    (tmp_path / "is-a-dir").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(FileAccessError) as info:
        with open_private(make(tmp_path), "w", "write report", setting="--report") as fh:
            fh.write("x")
    text = str(info.value)
    assert needle in text and hint in text and "write report" in text


def test_a_read_only_folder_is_permission_denied(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        ro = Path("/sys/kernel")  # root ignores file modes; sysfs refuses new files even to root
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        os.chmod(ro, 0o500)
    with pytest.raises(FileAccessError) as info:
        write_private(ro / "zohocrm-state.json", "{}", "state file", setting="--state")
    assert str(info.value) == (f"cannot write the state file at {ro / 'zohocrm-state.json'}: permission denied "
                               "(choose a writable location with --state)")


def test_a_file_where_a_folder_is_wanted(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(FileAccessError, match="it is a file, not a folder"):
        private_dir(tmp_path / "f", "pending batches folder")


@given(st.text(min_size=1, max_size=40))
def test_path_text_with_a_control_character_is_refused_without_echo(text: str) -> None:
    if any(ord(c) < 32 for c in text) or not text.strip():
        with pytest.raises(FileAccessError) as info:
            check_path_text(text, "log file", "Logfile")
        assert text not in str(info.value) or not text.strip()
    else:
        assert check_path_text(text, "log file") == Path(text)


def test_a_folder_that_takes_no_files_is_said_as_such() -> None:
    with pytest.raises(FileAccessError) as info:
        write_private("/proc/zohocrm-state.json", "{}", "state file", setting="--state")
    assert str(info.value) == ("cannot write the state file at /proc/zohocrm-state.json: the folder /proc does not "
                               "take new files (choose a writable location with --state)")
