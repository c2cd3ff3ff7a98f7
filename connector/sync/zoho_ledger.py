"""What a Zoho target did with each file and link: a table in the sync state, and a per-row report.

Attachments, file-field files and related-list links are not records the writers batch; each is
one call (an upload, a link), so each gets its own line in the sync state, written *before* the
call (``sending``) and settled *after* it (``done``; file fields pass through ``uploaded``: the
file is in Zoho's file store, the record does not name it yet). A run killed between the two
finds the ``sending`` line and asks Zoho what arrived before sending anything again
(:mod:`.zoho_files`, :mod:`.zoho_links`). Table ``child_writes`` of the sync state::

    module, source_id, slot     the source row (a field file: "<field>/<source file id>")
    parent_module, parent_id    where it went in the target (the record it hangs on)
    name, size, sha256, value   what was sent (a link: its status or role), to skip it when unchanged
    status, target_id           sending | uploaded | done, and the id the target gave it

The report, ``files-<time>.csv`` beside the migration's report, has one line per file or link
this run touched, success or not, so a user can account for every file.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.localfs import open_private

from .idmap import SyncStateStore
from .paths import transaction

_DDL = ("CREATE TABLE IF NOT EXISTS child_writes (module VARCHAR, source_id VARCHAR, slot VARCHAR, "
        "parent_module VARCHAR, parent_id VARCHAR, name VARCHAR, size BIGINT, sha256 VARCHAR, value VARCHAR, "
        "status VARCHAR, target_id VARCHAR, PRIMARY KEY (module, source_id, slot))")
_COLS = ("module", "source_id", "slot", "parent_module", "parent_id", "name", "size", "sha256", "value", "status",
         "target_id")
SENDING, UPLOADED, DONE = "sending", "uploaded", "done"


@dataclass
class Line:
    module: str
    source_id: str
    slot: str = ""
    parent_module: str = ""
    parent_id: str = ""
    name: str = ""
    size: int | None = None
    sha256: str | None = None
    value: str | None = None
    status: str = SENDING
    target_id: str | None = None


class Ledger:
    """The ``child_writes`` table of one sync state."""

    def __init__(self, store: SyncStateStore) -> None:
        self.store = store
        #: files are written several at once (:func:`.zoho_files.each_at_once`): one statement at a time here
        self._lock = threading.RLock()
        store.con.execute(_DDL)

    def lines(self, module: str, source_ids: Iterable[str] | None = None) -> dict[tuple[str, str], Line]:
        """(source id, slot) -> line, for these rows (every row of ``module`` when None)."""
        with self._lock:
            sql = f"SELECT {', '.join(_COLS)} FROM child_writes WHERE module = ?"
            params: list[Any] = [module]
            if source_ids is not None:
                ids = sorted(set(source_ids))
                if not ids:
                    return {}
                sql += " AND source_id IN (SELECT unnest(?))"
                params.append(ids)
            return {(r[1], r[2]): Line(*r) for r in self.store.con.execute(sql, params).fetchall()}

    def put(self, line: Line) -> None:
        """Write one line now (committed: a kill right after finds it)."""
        with self._lock:
            self.store.con.execute(f"INSERT OR REPLACE INTO child_writes VALUES ({', '.join('?' * len(_COLS))})",
                                   [getattr(line, c) for c in _COLS])

    def done(self, line: Line, target_id: str, mapped: str | None = None) -> None:
        """The line settled and its row mapped to ``mapped`` (the target id by default), in one transaction."""
        with self._lock:
            line.status, line.target_id = DONE, target_id
            con = self.store.con
            with transaction(con):
                self.put(line)
                if not line.slot:  # a whole row (an attachment, a link): the id map knows it too
                    con.execute("INSERT OR REPLACE INTO idmap VALUES (?, ?, ?)",
                                [line.module, line.source_id, mapped or target_id])
                    con.execute("DELETE FROM failed WHERE module = ? AND source_id = ?", [line.module, line.source_id])

    def drop(self, module: str, source_id: str, slot: str | None = None) -> None:
        """Forget a line (``slot`` None: the row's every line, and its id-map entry)."""
        with self._lock:
            con = self.store.con
            if slot is None:
                con.execute("DELETE FROM child_writes WHERE module = ? AND source_id = ?", [module, source_id])
                con.execute("DELETE FROM idmap WHERE module = ? AND source_id = ?", [module, source_id])
            else:
                con.execute("DELETE FROM child_writes WHERE module = ? AND source_id = ? AND slot = ?",
                            [module, source_id, slot])

    def target_ids(self, module: str) -> set[str]:
        """Target ids of this module's settled rows (an attachment found in Zoho and not among them is no one's)."""
        with self._lock:
            rows = self.store.con.execute("SELECT target_id FROM child_writes WHERE module = ? AND target_id IS NOT NULL",
                                          [module]).fetchall()
            return {str(r[0]) for r in rows}


REPORT_COLUMNS = ("module", "source_id", "field", "name", "size", "sha256", "parent_module", "parent_id",
                  "target_id", "status", "code", "message")


class FileReport:
    """``files-<time>.csv``: one line per file or link this run uploaded, linked, kept, removed or failed."""

    def __init__(self, folder: Path, stem: str = "files") -> None:
        self._lock = threading.Lock()  # lines come from the threads that write files at once
        self.path = folder / f"{stem}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"
        self._fh: Any = None
        self._out: Any = None
        self.counts: dict[str, dict[str, int]] = {}  # module -> status -> lines

    def add(self, line: Line, status: str, code: str = "", message: str = "", field: str = "") -> None:
        with self._lock:
            if self._fh is None:
                n = 1
                while self.path.exists():  # never an earlier run's report of the same second
                    n += 1
                    self.path = self.path.with_name(f"{self.path.stem.rsplit('~', 1)[0]}~{n}.csv")
                self._fh = open_private(self.path, "w", "per-file report", setting="--report-dir", newline="")
                self._out = csv.writer(self._fh)
                self._out.writerow(REPORT_COLUMNS)
            self._out.writerow([line.module, line.source_id, field, line.name, "" if line.size is None else line.size,
                                line.sha256 or "", line.parent_module, line.parent_id, line.target_id or "", status,
                                code, message])
            self._fh.flush()
            per = self.counts.setdefault(line.module, {})
            per[status] = per.get(status, 0) + 1

    def note(self, module: str) -> str | None:
        per = self.counts.get(module)
        if not per:
            return None
        return "files and links: " + ", ".join(f"{n:,} {status}" for status, n in sorted(per.items())) + \
            f" (per file: {self.path})"

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
