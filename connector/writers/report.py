"""The per-row write report, and the journal that keeps it on disk while a write runs.

A report has one row per input row: ``row`` (0-based input row number),
``key`` (the key value when a key was given), ``record_id``, ``status``, ``code``
(Zoho's code), ``message`` and ``at`` (when the row's fate was recorded, UTC, on
Zoho's clock as its ``Date`` headers tell it; an ``unknown`` row's ``at`` is when it
was first sent, which a resumed write compares with Zoho's ``Created_Time``).

While a write runs, entries are appended to a CSV journal as batches finish
(the results file itself for ``.csv``, ``<file>.journal.csv`` next to a
``.parquet``), flushed and fsynced, so a crash at any point leaves a report a
re-run can resume from. A row may appear several times in a journal; the last
entry wins. Inserts write an ``unknown`` entry *before* their batch is sent:
if the process dies before the answer is recorded, the resumed run looks those
rows up in Zoho instead of inserting them twice.

One write at a time holds a report (``<file>.lock``, :func:`holding`): a second
write on the same report — the same command started twice, a Spark task's
speculative copy, or a cancelled task's worker still writing when the task runs
again — would read the report before the first had marked the rows it is sending,
and send them again. The second waits (Spark) or is refused (the CLI) until the
first has let go; then it resumes from everything the first recorded.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connector.errors import ConfigError, StateError
from connector.localfs import file_error, open_private, private_dir, private_umask

#: statuses of rows that need nothing more
DONE = frozenset({"inserted", "updated", "deleted", "skipped"})
#: statuses a resumed write takes up again (``unknown``: may have been written; looked up first)
RETRY = frozenset({"failed", "unknown", "unprocessed"})
DRY_RUN = frozenset({"would_insert", "would_update", "would_upsert", "would_delete"})
STATUS_ORDER = ("inserted", "updated", "deleted", "skipped", "would_insert", "would_update", "would_upsert",
                "would_delete", "failed", "unknown", "unprocessed")
COLUMNS = ("row", "key", "record_id", "status", "code", "message", "at")
SCHEMA = pa.schema([("row", pa.int64()), ("key", pa.string()), ("record_id", pa.string()),
                    ("status", pa.string()), ("code", pa.string()), ("message", pa.string()),
                    ("at", pa.timestamp("ms", tz="UTC"))])

log = logging.getLogger("connector.writers")
#: how often a write waiting for a report another write holds looks again
LOCK_POLL_S = 0.1


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Entry:
    row: int
    status: str
    key: str | None = None
    record_id: str | None = None
    code: str | None = None
    message: str | None = None
    at: datetime = field(default_factory=utc_now)

    def csv_row(self) -> list[str]:
        return [str(self.row), self.key or "", self.record_id or "", self.status, self.code or "",
                self.message or "", self.at.isoformat(timespec="milliseconds")]

    @classmethod
    def from_csv(cls, cells: list[str]) -> Entry | None:
        """One journal line, or None when it is torn (the process died while writing it)."""
        if len(cells) != len(COLUMNS) or not cells[0].isdigit() or cells[3] not in STATUS_ORDER:
            return None
        try:
            at = datetime.fromisoformat(cells[6])
        except ValueError:
            return None
        return cls(int(cells[0]), cells[3], cells[1] or None, cells[2] or None, cells[4] or None,
                   cells[5] or None, at if at.tzinfo else at.replace(tzinfo=UTC))


def _table(entries: Iterable[Entry]) -> pa.Table:
    rows = sorted(entries, key=lambda e: e.row)
    return pa.table({"row": [e.row for e in rows], "key": [e.key for e in rows],
                     "record_id": [e.record_id for e in rows], "status": [e.status for e in rows],
                     "code": [e.code for e in rows], "message": [e.message for e in rows],
                     "at": [e.at for e in rows]}, schema=SCHEMA)


def _journal_path(path: Path) -> Path:
    return path if path.suffix.lower() == ".csv" else path.with_name(path.name + ".journal.csv")


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"results file {path} must end in .csv or .parquet")


def _read_journal(path: Path) -> list[Entry]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    out = []
    for cells in csv.reader(io.StringIO(text, newline="")):
        if cells and cells[0] != "row":
            entry = Entry.from_csv(cells)
            if entry is not None:
                out.append(entry)
    return out


class WriteReport:
    """What happened to every input row of one write (an Arrow table plus a few helpers)."""

    def __init__(self, table: pa.Table, *, module: str = "", operation: str = "", dry_run: bool = False,
                 warnings: Iterable[str] = (), path: Path | None = None, credits: int = 0) -> None:
        self.table = table.cast(SCHEMA) if table.schema != SCHEMA else table
        self.module, self.operation, self.dry_run = module, operation, dry_run
        self.warnings = list(warnings)
        self.path = path
        self.credits = credits
        self._entries: dict[int, Entry] | None = None

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], **kw: Any) -> WriteReport:
        rows = sorted(entries, key=lambda e: e.row)
        report = cls(_table(rows), **kw)
        report._entries = {e.row: e for e in rows}  # kept: turning the table back into entries costs more
        return report

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.summary().items())
        return f"WriteReport({self.operation} {self.module}: {counts})"

    def entries(self) -> dict[int, Entry]:
        if self._entries is not None:
            return dict(self._entries)
        return {int(d["row"]): Entry(int(d["row"]), d["status"], d["key"], d["record_id"], d["code"],
                                     d["message"], d["at"] or utc_now())
                for d in self.table.to_pylist()}

    def summary(self) -> dict[str, int]:
        """Rows per status (only statuses that occur) and ``total``."""
        counts = dict.fromkeys(STATUS_ORDER, 0)
        for status in self.table.column("status").to_pylist():
            counts[status] = counts.get(status, 0) + 1
        out = {k: v for k, v in counts.items() if v}
        out["total"] = self.table.num_rows
        return out

    def failed_rows(self) -> pa.Table:
        """Rows that were not written: failed, unknown (answer lost, not confirmed) or unprocessed."""
        mask = pc.is_in(self.table.column("status"), value_set=pa.array(sorted(RETRY)))
        return self.table.filter(mask)

    @property
    def rowcount(self) -> int:
        """Records written (inserted + updated + deleted): what a DB-API cursor reports."""
        statuses = self.table.column("status").to_pylist()
        return sum(1 for s in statuses if s in ("inserted", "updated", "deleted"))

    @property
    def ok(self) -> bool:
        return bool(self.failed_rows().num_rows == 0)

    def record_ids(self) -> list[str | None]:
        return list(self.table.column("record_id").to_pylist())

    def write_results(self, path: str | Path) -> Path:
        """Write the report as Parquet or CSV (by extension), atomically."""
        path = Path(path)
        _check_suffix(path)
        private_dir(path.parent, "folder of the write report")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # Reports quote record values: 0600 whatever the umask (pyarrow takes no mode, hence the umask).
        if path.suffix.lower() == ".parquet":
            with private_umask():
                pq.write_table(self.table, tmp)
        else:
            with open_private(tmp, "w", "write report", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(COLUMNS)
                out.writerows(e.csv_row() for e in self.entries().values())
        os.replace(tmp, path)
        return path

    @staticmethod
    def exists(path: str | Path) -> bool:
        """True when a write left a report (or the journal of one it did not finish) at ``path``."""
        return Path(path).exists() or _journal_path(Path(path)).exists()

    @classmethod
    def read(cls, path: str | Path) -> WriteReport:
        """A report written by :meth:`write_results` or left by an interrupted write (journal included)."""
        path = Path(path)
        _check_suffix(path)
        entries: dict[int, Entry] = {}
        if path.suffix.lower() == ".parquet" and path.exists():
            entries.update(cls(pq.read_table(path)).entries())
        journal = _journal_path(path)
        for e in _read_journal(journal):
            entries[e.row] = e
        if not entries and not cls.exists(path):
            raise StateError(f"no write report at {path}", hint="pass the results file of an earlier write")
        return cls.from_entries(entries.values(), path=path)


@contextlib.contextmanager
def holding(path: str | Path | None, wait_s: float = 0.0) -> Iterator[None]:
    """This write's hold on the report at ``path`` (none without a report), for as long as the write runs.

    ``wait_s``: how long to wait for another write holding it to end; past that (at once, by default)
    a :class:`StateError` says which report is in use. On a filesystem that cannot lock files, the write
    goes on unheld, with a warning. The lock file goes when the hold does.
    """
    if path is None:
        yield
        return
    path = Path(path)
    lock = Path(f"{path}.lock")
    private_dir(path.parent, "folder of the write report")
    try:
        fd = _lock_file(lock, wait_s)
    except TimeoutError:
        waited = f" (waited {wait_s:g} s)" if wait_s > 0 else ""
        raise StateError(f"another write is using the report {path}{waited}",
                         hint="let it finish (this one would send rows it has not yet marked, twice), then run "
                              "this again to resume from its report; or give this write another report") from None
    except OSError as exc:  # some FUSE and network mounts take no locks
        if exc.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise file_error(exc, lock, "lock of the write report") from None
        log.warning("the report %s cannot be locked on its filesystem (%s): two writes on it at once could send "
                    "rows twice", path, exc.strerror or exc)
        fd = None
    try:
        yield
    finally:
        if fd is not None:
            lock.unlink(missing_ok=True)  # still held: a write waiting on it finds it gone and takes a new one
            os.close(fd)


def _lock_file(lock: Path, wait_s: float) -> int:
    """An open descriptor holding ``lock`` (``flock``, exclusive), made if missing; ``TimeoutError`` when
    another process holds it past ``wait_s``. A file its holder removed while we waited is not taken:
    the lock is whatever file has the name now."""
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise TimeoutError(str(lock)) from None
            time.sleep(LOCK_POLL_S)
            continue
        except BaseException:
            os.close(fd)
            raise
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed it as it let go: take the one there now


class ReportJournal:
    """The report of a running write: entries in memory, appended to disk as they arrive (thread-safe)."""

    def __init__(self, path: str | Path | None, carried: Iterable[Entry] = ()) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self.entries: dict[int, Entry] = {}
        self._fh: Any = None
        # Group commit: batches finishing together share one fsync (each still returns only once its lines
        # are on disk). _written counts the writes, _synced the last one an fsync covered.
        self._sync_lock = threading.Lock()
        self._written = self._synced = 0
        if self.path is not None:
            _check_suffix(self.path)
            private_dir(self.path.parent, "folder of the write report")
            journal = _journal_path(self.path)
            # Start the journal over with what is carried (the earlier report, collapsed), atomically,
            # so a crash before the first new entry still leaves the earlier report readable.
            tmp = journal.with_name(f".{journal.name}.{os.getpid()}.tmp")
            with open_private(tmp, "w", "write report", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(COLUMNS)
                out.writerows(e.csv_row() for e in sorted(carried, key=lambda e: e.row))
            os.replace(tmp, journal)
            if journal != self.path and self.path.exists():
                self.path.unlink()  # an earlier final file: its entries are carried in the journal now
            self._fh = open_private(journal, "a", "write report", newline="")
        for e in carried:
            self.entries[e.row] = e

    def record(self, entries: Iterable[Entry], *, durable: bool = True) -> None:
        """Keep ``entries``; on disk before this returns when ``durable`` (an insert's ``unknown`` rows, journaled
        before their call). An outcome need not wait for its fsync: if it is lost with the machine, its row is
        still ``unknown`` and the resumed write looks it up; the next durable record carries it to disk too."""
        batch = list(entries)
        if not batch:
            return
        with self._lock:
            for e in batch:
                self.entries[e.row] = e
            if self._fh is None:
                return
            buf = io.StringIO()
            csv.writer(buf).writerows(e.csv_row() for e in batch)
            self._fh.write(buf.getvalue())
            self._fh.flush()
            self._written += 1
            mine = self._written
        if durable:
            self._sync(mine)

    def _sync(self, mine: int) -> None:
        """Return once write number ``mine`` is on disk: one fsync covers every write made before it began."""
        with self._sync_lock:
            if self._synced >= mine:
                return  # a batch that finished with ours already synced it
            with self._lock:
                upto, fh = self._written, self._fh
            if fh is not None:
                os.fsync(fh.fileno())
            self._synced = upto

    def get(self, row: int) -> Entry | None:
        with self._lock:
            return self.entries.get(row)

    def fill(self, rows: Iterable[int], status: str, message: str) -> None:
        """Give rows that have no entry yet one (``unprocessed`` after a stop)."""
        with self._lock:
            missing = [r for r in rows if r not in self.entries]
        self.record(Entry(r, status, message=message) for r in missing)

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def finish(self, **meta: Any) -> WriteReport:
        """The final report; on disk, the journal is replaced by the collapsed report."""
        self.close()
        with self._lock:
            report = WriteReport.from_entries(self.entries.values(), path=self.path, **meta)
        if self.path is not None:
            report.write_results(self.path)
            journal = _journal_path(self.path)
            if journal != self.path and journal.exists():
                journal.unlink()
        return report


def retag(entry: Entry, **changes: Any) -> Entry:
    return replace(entry, **changes)
