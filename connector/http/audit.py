"""Tamper-evident audit log: one JSON line per API call (or refused call), chained by SHA-256.

Each line carries ``seq``, ``prev`` (the previous line's hash) and ``hash``
(SHA-256 over ``prev`` and the line's canonical JSON without ``hash``). A
side file ``<log>.head`` holds the last sequence number and hash, so removing
lines at the end is detected too. ``zohocrm audit verify FILE`` replays the
chain. Lines never hold secrets: paths are logged without query strings.

What a line's writer is promised (group commit):

* A call's line is written — appended to the log, chained, and the head moved to it — before
  ``record`` returns, so before the call's answer leaves (a broker's client, the caller of a
  direct connection). A killed or crashed process loses no line of a call it answered: the
  line is in the file, whatever happens to the process.
* Lines are made durable (fsync of the log, then of the head) by group commit: one fsync pair
  per batch of lines, at most :data:`FLUSH_DELAY_S` after a line was written. A decision that
  is a refusal, or a call that may change data (any operation but the reads and metadata),
  waits for the commit of its batch before ``record`` returns: those lines are on disk before
  their answer leaves. So an OS crash or power cut can lose only the last lines of *reads*
  answered within :data:`FLUSH_DELAY_S` before it: the log then ends earlier (``audit verify``
  says so when the head reached the disk first, and passes on the shorter log otherwise), but
  no line before the last durable one can go missing, and the chain stays verifiable.
* The head is rewritten in place (one 128-byte block at offset 0, within one disk sector), not
  through a temp file and a rename: two fsyncs a batch instead of three file operations a line.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from connector.config.properties import READ_OPERATIONS
from connector.errors import FileAccessError, StateError
from connector.localfs import (
    PRIVATE_FILE,
    check_path_text,
    file_error,
    make_private,
    open_private,
    private_dir,
    reporting_os_errors,
)
from connector.redaction import redact

GENESIS = "0" * 64
LOCK_TIMEOUT_S = 60.0
#: Longest a written line waits for its fsync (reads only; refusals and writes wait for theirs).
FLUSH_DELAY_S = 0.05
HEAD_SIZE = 128
IDLE_EXIT_S = 5.0
#: Lines of these operations may ride the next group commit; every other line waits for its own.
_READS = frozenset((*READ_OPERATIONS, "metadata"))


def _digest(prev: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()


_WHAT, _SETTING = "audit log", "AuditLog"


class AuditLog:
    """Appends chained lines to ``path``; the log, ``.head`` and ``.lock`` are 0600, new folders 0700.

    The path is proven writable when the log is opened, before any call is made: a write sent to
    Zoho must never succeed while its audit line cannot be written. Any OS error is a
    :class:`~connector.errors.FileAccessError` that names the file and the ``AuditLog`` setting.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_path_text(path, _WHAT, _SETTING)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock = threading.Lock()
        # A timeout, because filelock retries some errors (a lock file in /proc) for ever.
        self._file_lock = FileLock(str(self.path) + ".lock", mode=0o600, timeout=LOCK_TIMEOUT_S)
        # Group commit: lines written (by this object) and lines known durable; the flusher
        # thread fsyncs the log and the head for every batch, waking early for a waiting line.
        self._written = 0
        self._durable = 0
        self._urgent = False
        self._flushed = threading.Condition(threading.Lock())
        self._flusher: threading.Thread | None = None
        self._flush_error: OSError | None = None
        with reporting_os_errors(self.path, _WHAT, setting=_SETTING):
            if not self.path.parent.exists():
                private_dir(self.path.parent, "folder of the audit log", setting=_SETTING)
            with open_private(self.path, "a", _WHAT, setting=_SETTING):  # before the lock: see above
                pass
            with self._locked():
                make_private(self.head_path)
                self._read_head()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self._file_lock:
                yield
        except Timeout:
            raise FileAccessError(
                f"cannot lock the audit log at {self.path}: {self.path.name}.lock has been held for over "
                f"{LOCK_TIMEOUT_S:g} s", hint="if no other zohocrm process is writing this log, delete the .lock "
                                               "file; or use another AuditLog") from None

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def _read_head(self) -> tuple[int, str]:
        try:
            text = self.head_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0, GENESIS
        try:
            data = json.loads(text)
            return int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError):
            raise StateError(f"the audit log's head file {self.head_path} is damaged, so the chain cannot be "
                             "continued", hint=f"run `zohocrm audit verify {self.path}`, then keep the log aside "
                                               "and start a new one with another AuditLog") from None

    def record(self, *, method: str, path: str, status: int | str, code: str | None = None,
               records: int = 0, credits: int = 0, operation: str = "", module: str = "", decision: str = "",
               reason: str = "", api: str = "", workspace: str = "") -> None:
        """One line; ``decision`` (allow/deny) and ``reason`` say why the call was or was not sent,
        ``operation`` is the governed operation (list_records, query, insert...), ``api`` the call kind."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": redact(path.split("?", 1)[0]),
            "status": status,
            "code": code,
            "records": records,
            "credits": credits,
        }
        if operation:
            entry["operation"] = operation
        if module:
            entry["module"] = module
        if decision:
            entry.update(rows=records, decision=decision, reason=reason)
        if api:
            entry["api"] = api
        if workspace:
            entry["workspace"] = workspace  # a broker's workspace the call was made for
        with self._lock, reporting_os_errors(self.path, _WHAT, setting=_SETTING), self._locked():
            seq, prev = self._read_head()
            entry["seq"] = seq + 1
            entry["prev"] = prev
            digest = _digest(prev, entry)
            line = json.dumps({**entry, "hash": digest}, ensure_ascii=False, separators=(",", ":"))
            with open_private(self.path, "a", _WHAT, setting=_SETTING) as fh:
                fh.write(line + "\n")
            self._write_head(seq + 1, digest)
            with self._flushed:
                self._written += 1
                mine = self._written
        self._commit(mine, wait=bool(decision and decision != "allow") or operation not in _READS)

    def _write_head(self, seq: int, digest: str) -> None:
        """The head, in place: one block that other writers (threads, processes) read under the lock."""
        text = json.dumps({"seq": seq, "hash": digest}).encode()
        block = text + b" " * (HEAD_SIZE - 1 - len(text)) + b"\n"  # json.loads ignores the padding
        fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
        try:
            os.pwrite(fd, block, 0)
            if os.fstat(fd).st_size > HEAD_SIZE:  # a head from an older version was longer
                os.ftruncate(fd, HEAD_SIZE)
        finally:
            os.close(fd)

    # -- group commit ----------------------------------------------------------------------------

    def _commit(self, mine: int, *, wait: bool) -> None:
        with self._flushed:
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(target=self._flush_loop, name="zohocrm-audit-fsync", daemon=True)
                self._flusher.start()
            if not wait:
                self._flushed.notify_all()
                return
            self._urgent = True
            self._flushed.notify_all()
            while self._durable < mine and self._flush_error is None:
                self._flushed.wait()
            if self._durable < mine and self._flush_error is not None:
                raise file_error(self._flush_error, self.path, _WHAT, setting=_SETTING)

    def _flush_loop(self) -> None:
        while True:
            with self._flushed:
                while self._written == self._durable:
                    if not self._flushed.wait(IDLE_EXIT_S):
                        self._flusher = None  # idle: no thread kept per log; the next line starts one
                        return
                # Gather a batch: lines written within the delay share the fsync. Every new line
                # notifies (to wake an idle flusher), so the wait runs to its deadline unless a
                # line that must be durable before it returns (a refusal, a write) asks for it now.
                deadline = time.monotonic() + FLUSH_DELAY_S
                while not self._urgent and (left := deadline - time.monotonic()) > 0:
                    self._flushed.wait(left)
                target, self._urgent = self._written, False
            try:
                self._sync()
                error = None
            except OSError as exc:
                error = exc
            with self._flushed:
                self._flush_error = error
                if error is None:
                    self._durable = max(self._durable, target)
                self._flushed.notify_all()
            if error is not None:
                time.sleep(FLUSH_DELAY_S)  # a waiting line fails now; later lines try again

    def _sync(self) -> None:
        # The log before the head: a head on disk never names a line the log lacks after a crash.
        for path in (self.path, self.head_path):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def flush(self) -> None:
        """Make every line written so far durable now (the flusher would within FLUSH_DELAY_S)."""
        with self._flushed:
            mine = self._written
        if mine:
            self._commit(mine, wait=True)


@dataclass
class AuditVerdict:
    ok: bool
    lines: int
    problem: str = ""

    def __str__(self) -> str:
        return f"OK: {self.lines} lines, chain intact" if self.ok else f"TAMPERED: {self.problem}"


def verify_audit_log(path: str | os.PathLike[str]) -> AuditVerdict:
    """Replay the hash chain; say which line breaks it."""
    p = Path(path)
    if not p.exists():
        raise StateError(f"audit log not found: {p}")
    with reporting_os_errors(p, _WHAT, writing=False):
        return _verify(p)


def _verify(p: Path) -> AuditVerdict:
    prev = GENESIS
    n = 0
    with open(p, encoding="utf-8", errors="replace") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                obj = json.loads(raw)
                claimed = obj.pop("hash")
            except (ValueError, KeyError, AttributeError):
                return AuditVerdict(False, n - 1, f"line {n} is not a valid audit entry")
            if obj.get("seq") != n:
                return AuditVerdict(False, n - 1, f"line {n} has sequence {obj.get('seq')}: a line was removed "
                                                  "or reordered before it")
            if obj.get("prev") != prev:
                return AuditVerdict(False, n - 1, f"line {n} does not follow line {n - 1} (chain broken)")
            if _digest(prev, obj) != claimed:
                return AuditVerdict(False, n - 1, f"line {n} was edited (hash mismatch)")
            prev = claimed
    head = p.with_name(p.name + ".head")
    if not head.exists():
        # AuditLog writes the head with the first line: without it, lines cut from the end
        # could not be noticed, so a missing head fails the check (fail closed).
        if n:
            return AuditVerdict(False, n, f"{head.name} is missing, so lines removed from the end could not "
                                          "be detected; keep the .head file beside the log")
        return AuditVerdict(True, 0)
    try:
        data = json.loads(head.read_text())
        head_seq, head_hash = int(data["seq"]), str(data["hash"])
    except (ValueError, KeyError, TypeError):
        return AuditVerdict(False, n, f"{head.name} is damaged")
    if head_seq != n or head_hash != prev:
        if head_seq > n:
            return AuditVerdict(False, n, f"the log ends at line {n} but {head_seq} lines were written: "
                                          "lines were removed from the end")
        return AuditVerdict(False, n, f"the log has {n} lines but {head.name} records {head_seq} "
                                      "with another last hash: the end of the log was rewritten")
    return AuditVerdict(True, n)
