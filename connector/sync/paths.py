"""The local paths a migration writes — target, ``--state``, ``--report-dir`` — checked before any Zoho call.

A path that cannot be used is found when the target is opened, not hours later when the
first failed row needs a report: :func:`usable_file` and :func:`usable_folder` create what
is missing (private: ``0700``), then create and remove a probe file, so a read-only disk,
``/proc`` or ``/sys``, a folder given as a file or a file given as a folder, or a control
character in the name is a :class:`~connector.errors.FileAccessError` that names the option
and the fix (exit status 7), never a raw ``OSError`` nor a blame on Zoho.

:func:`connect_duckdb` opens a DuckDB file we own: the file and its WAL made ``0600``, its
errors said in words, and a lock held by another process told apart (a :class:`StateError`:
another migration is running). Callers hold :func:`~connector.localfs.private_umask` for as
long as the connection is open, because DuckDB re-creates the WAL at every checkpoint.
:func:`quiet` is for every DuckDB connection a run opens (its own files, a source file, memory).
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from connector.errors import FileAccessError, StateError
from connector.localfs import check_path_text, file_error, make_private, private_dir

if TYPE_CHECKING:  # DuckDB is imported where a file of ours is opened: a run into Parquet or CSV never needs it
    import duckdb

#: the options that name these paths on the command line (``state_path=``, ``report_dir=`` in Python)
TARGET, STATE, REPORT_DIR = "--target", "--state", "--report-dir"


def _nearest_existing(path: Path) -> Path:
    cur = path
    while not cur.exists() and cur != cur.parent:
        cur = cur.parent
    return cur


def _refused(exc: OSError, path: Path, what: str, setting: str) -> FileAccessError:
    """``file_error``, but a folder that exists and still says "no such file" is a system folder."""
    if exc.errno == errno.ENOENT and _nearest_existing(path.parent).is_dir():
        error = FileAccessError(f"cannot write the {what} at {path}: that folder does not accept new files "
                                "(a system folder such as /proc or /sys?)",
                                hint=f"choose a folder on a writable disk with {setting}")
        error.errno = exc.errno
        return error
    return file_error(exc, path, what, setting=setting)


def probe_folder(folder: Path, shown: Path, what: str, setting: str) -> None:
    """Create and remove a file in ``folder``: the one honest test that we may write there."""
    probe = folder / f".zohocrm-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _refused(exc, shown, what, setting) from None


def _private_dir(folder: Path, shown: Path, what: str, setting: str) -> None:
    try:
        private_dir(folder, what, setting=setting)
    except FileAccessError as exc:
        if exc.errno == errno.ENOENT:
            raise _refused(OSError(errno.ENOENT, "no such file"), shown, what, setting) from None
        raise


def usable_folder(path: str | os.PathLike[str], what: str, setting: str) -> Path:
    """``path`` as a folder we can write in (created ``0700`` when missing), or a clear error now."""
    p = check_path_text(path, what, setting).expanduser()
    _private_dir(p, p, what, setting)
    probe_folder(p, p, what, setting)
    return p


def usable_file(path: str | os.PathLike[str], what: str, setting: str) -> Path:
    """``path`` as a file we can create or rewrite (its folder created ``0700``), or a clear error now."""
    p = check_path_text(path, what, setting).expanduser()
    if p.is_dir():
        raise FileAccessError(f"cannot use {p} as the {what}: it is a folder, not a file",
                              hint=f"give a file name with {setting}, e.g. {p / 'zohocrm.duckdb'}")
    _private_dir(p.parent, p, f"folder of the {what}", setting)
    probe_folder(p.parent, p, what, setting)
    if p.exists() and not os.access(p, os.W_OK):
        raise _refused(PermissionError(errno.EACCES, "permission denied"), p, what, setting)
    return p


def connect_duckdb(path: Path, what: str, setting: str) -> duckdb.DuckDBPyConnection:
    """Open (or create) the DuckDB file ``path`` that the connector owns, private, errors in words."""
    import duckdb

    for own in (path, path.with_name(path.name + ".wal")):
        make_private(own)  # made by an older version, or under a looser umask: ours now
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StateError(f"the {what} {path} is in use by another process",
                             hint="another migration with the same file is running: wait for it to finish "
                                  f"(runs take turns), or give another file with {setting}") from None
        if "not a valid DuckDB database" in text:
            raise FileAccessError(f"{path} is not a DuckDB database, so it cannot be the {what}",
                                  hint=f"give a new file name or a file an earlier run wrote with {setting}") from None
        raise FileAccessError(f"cannot open the {what} at {path}: {text.splitlines()[0]}",
                              hint=f"choose a writable location with {setting}") from None
    except duckdb.Error as exc:
        raise FileAccessError(f"cannot open the {what} at {path}: {str(exc).splitlines()[0]}",
                              hint=f"give a DuckDB file an earlier run wrote, or a new name, with {setting}") from None
    return quiet(con)


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` without DuckDB's progress bar, which a statement running over 2 s (a long load, a large
    source read) draws on the caller's stdout: into a piped output or a scheduler's log."""
    con.execute("SET enable_progress_bar=false")
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends well, rolled back when it raises (the error goes on)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, quietly when there is nothing to roll back.

    An interrupted COMMIT has either committed or not (DuckDB commits atomically); a ROLLBACK
    after it may find no transaction, and that error must not hide the interrupt being raised.
    """
    import duckdb

    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass
