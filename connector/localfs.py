"""Files the connector writes on the user's machine: private by default, and failures said plainly.

Everything the connector writes may hold record data or state next to secrets (logs, audit logs,
sync state, id maps, write reports, pending batches, targets), so it is created ``0600`` and the
folders it creates ``0700`` whatever the process umask is — like the token store. Files made by
libraries that take no mode (DuckDB and its WAL, which DuckDB deletes and re-creates at every
checkpoint; pyarrow writers) are made inside :func:`private_umask`.

An ``OSError`` on such a path becomes a :class:`~connector.errors.FileAccessError` that names the
file, what it is for, the cause in words and the setting that moves it (:func:`file_error`), never a
raw ``PermissionError`` nor a blame on Zoho.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from connector.errors import FileAccessError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PRIVATE_UMASK = 0o077

_umask_lock = threading.Lock()
_umask_depth = 0
_umask_saved = 0

_CAUSES = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "a folder on the way does not exist",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "too many symbolic links on the way",
    errno.EEXIST: "it already exists and is not what was expected",
    errno.EINVAL: "the operating system does not accept that name here",
    errno.EIO: "the disk reported an input/output error",
}


def check_path_text(path: str | os.PathLike[str], what: str, setting: str | None = None) -> Path:
    """``path`` as a Path, refused with a clear error when it holds a NUL or control character."""
    text = os.fspath(path)
    if isinstance(text, bytes):  # pragma: no cover - the connector passes str paths
        text = text.decode("utf-8", "surrogateescape")
    if not text.strip():
        raise FileAccessError(f"the path for the {what} is empty",
                              hint=f"give a file name{_where(setting)}")
    if any(ord(ch) < 32 for ch in text):
        raise FileAccessError(f"the path for the {what} contains a control character (NUL, CR, LF or another)",
                              hint=f"give a plain file name{_where(setting)}")
    return Path(text)


def _where(setting: str | None) -> str:
    return f" with {setting}" if setting else ""


def file_error(exc: OSError, path: str | os.PathLike[str], what: str, *, setting: str | None = None,
               writing: bool = True) -> FileAccessError:
    """An ``OSError`` met on ``path`` as a :class:`FileAccessError` saying what, why and what to do."""
    cause = _CAUSES.get(exc.errno or 0) or (exc.strerror or type(exc).__name__).lower()
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if writing and exc.errno == errno.ENOENT and os.path.isdir(parent):
        cause = f"the folder {parent} does not take new files"  # /proc and the like
    verb = "write" if writing else "read"
    fix = f"choose a {'writable' if writing else 'readable'} location{_where(setting)}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space or choose another disk{_where(setting)}"
    elif exc.errno == errno.EISDIR:
        fix = f"give a file name inside that folder{_where(setting)}"
    error = FileAccessError(f"cannot {verb} the {what} at {os.fspath(path)!s}: {cause}", hint=fix)
    error.errno = exc.errno
    return error


@contextmanager
def reporting_os_errors(path: str | os.PathLike[str], what: str, *, setting: str | None = None,
                        writing: bool = True) -> Iterator[None]:
    """Turn an ``OSError`` inside the block into :func:`file_error` for ``path``."""
    try:
        yield
    except FileAccessError:
        raise
    except OSError as exc:
        raise file_error(exc, path, what, setting=setting, writing=writing) from None


def private_dir(path: str | os.PathLike[str], what: str = "folder", *, setting: str | None = None) -> Path:
    """Create ``path`` and its missing parents as ``0700`` folders; an existing folder is left as it is."""
    p = check_path_text(path, what, setting)
    missing: list[Path] = []
    cur = p
    while not cur.exists() and cur != cur.parent:
        missing.append(cur)
        cur = cur.parent
    with reporting_os_errors(p, what, setting=setting):
        if p.exists() and not p.is_dir():
            raise FileAccessError(f"cannot use {p} as the {what}: it is a file, not a folder",
                                  hint=f"give a folder{_where(setting)}")
        for d in reversed(missing):
            try:
                d.mkdir(mode=PRIVATE_DIR)
            except FileExistsError:
                continue  # another process made it meanwhile
            os.chmod(d, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return p


def open_private(path: str | os.PathLike[str], mode: str = "w", what: str = "file", *,
                 setting: str | None = None, encoding: str | None = "utf-8", newline: str | None = None) -> IO[Any]:
    """Open ``path`` for writing (``w``, ``a``, ``x``, with ``b`` for bytes) as a ``0600`` file.

    A file that already exists keeps its content rules (``w`` truncates, ``a`` appends) and is
    made ``0600`` too. Missing parent folders are created ``0700``.
    """
    p = check_path_text(path, what, setting)
    if p.parent != p and not p.parent.exists():
        private_dir(p.parent, f"folder of the {what}", setting=setting)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    kind = mode.replace("b", "").replace("t", "").replace("+", "")
    if kind == "w":
        flags |= os.O_TRUNC
    elif kind == "a":
        flags |= os.O_APPEND
    elif kind == "x":
        flags |= os.O_EXCL
    else:
        raise ValueError(f"open_private: mode {mode!r} is not a write mode")
    if "+" in mode:
        flags = (flags & ~os.O_WRONLY) | os.O_RDWR
    with reporting_os_errors(p, what, setting=setting):
        fd = os.open(p, flags, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)
            if "b" in mode:
                return os.fdopen(fd, mode)
            return os.fdopen(fd, mode, encoding=encoding, newline=newline)
        except BaseException:
            os.close(fd)
            raise


def write_private(path: str | os.PathLike[str], data: str | bytes, what: str = "file", *,
                  setting: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically (a private temp file renamed into place, fsynced)."""
    p = check_path_text(path, what, setting)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open_private(tmp, "wb" if isinstance(data, bytes) else "w", what, setting=setting) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except FileAccessError as exc:  # name the file the user knows, not the temp file beside it
        tmp.unlink(missing_ok=True)
        raise FileAccessError(str(exc.message).replace(os.fspath(tmp), os.fspath(p)), hint=exc.hint) from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise file_error(exc, p, what, setting=setting) from None


def make_private(path: str | os.PathLike[str]) -> None:
    """Make an existing file ``0600`` (or a folder ``0700``); a missing one is ignored."""
    try:
        os.chmod(path, PRIVATE_DIR if os.path.isdir(path) else PRIVATE_FILE)
    except FileNotFoundError:
        pass


@contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files and folders that libraries create get no group or other access.

    The umask is per process: it is set to ``077`` while any block is open (nested and concurrent
    blocks share it) and put back when the last one ends. It only ever makes files more private.
    """
    global _umask_depth, _umask_saved
    with _umask_lock:
        if _umask_depth == 0:
            _umask_saved = os.umask(PRIVATE_UMASK)
        _umask_depth += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_depth -= 1
            if _umask_depth == 0:
                os.umask(_umask_saved)
