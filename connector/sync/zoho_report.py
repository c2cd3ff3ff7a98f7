"""The migration's report of rows a Zoho target did not take: one CSV line per row, by source id.

The writers' own reports number rows within one write batch; a migration's
user thinks in source records, so this file says ``module, source_id,
target_id, operation, status, code, message``. It is created on the first
failure only, in ``<state>.reports/`` beside the sync state unless ``report_dir``
says otherwise, private (``0600`` in a ``0700`` folder: it quotes record values),
and flushed after every batch so a killed run still leaves it readable.

One line per source row: a row may be tried more than once in a run (a resumed
batch, then the same row read again from the source), and the last outcome wins
— a row that lands later leaves the report, a row that fails twice is one line.
The file is appended to while the run goes and rewritten collapsed when it ends.
A dry run lists every row, with what would happen to it (``would_insert`` ...).
"""

from __future__ import annotations

import csv
import errno
import io
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.errors import FileAccessError
from connector.localfs import open_private, write_private
from connector.writers.report import RETRY, Entry

COLUMNS = ("module", "source_id", "target_id", "operation", "status", "code", "message")


class FailureLog:
    def __init__(self, folder: Path, stem: str) -> None:
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.folder, self.stem = Path(folder), stem
        self.path = self.folder / f"{stem}-{self.stamp}.csv"
        self.count = 0  # source rows in the report (each once)
        self._fh: Any = None
        self._out: Any = None
        self._lines = 0  # lines appended so far (a row tried twice has two)
        self._latest: dict[tuple[str, str], list[str]] = {}  # (module, source id) -> its last line
        self._lock = threading.RLock()  # files written at once report their failures from several threads

    def add(self, module: str, operation: str, rows: list[tuple[str, Entry]]) -> None:
        with self._lock:
            if not rows:
                return
            if self._fh is None:
                self._fh = self._create()
                self._out = csv.writer(self._fh)
                self._out.writerow(COLUMNS)
            for sid, e in rows:
                line = [module, sid, e.record_id or "", operation, e.status, e.code or "", e.message or ""]
                self._out.writerow(line)
                self._latest[(module, sid)] = line
            self._lines += len(rows)
            self.count = len(self._latest)
            self._fh.flush()

    def resolve(self, module: str, source_ids: list[str]) -> None:
        """These rows landed after all: they leave the report."""
        with self._lock:
            for sid in source_ids:
                self._latest.pop((module, sid), None)
            self.count = len(self._latest)

    def failed(self, module: str) -> int:
        """Source rows of ``module`` whose last outcome is not a success (nor a dry run's would_...)."""
        return sum(1 for (m, _), line in self._latest.items() if m == module and line[4] in RETRY)

    def tally(self, module: str) -> dict[str, int]:
        """Rows of ``module`` per last status."""
        out: dict[str, int] = {}
        for (m, _), line in self._latest.items():
            if m == module:
                out[line[4]] = out.get(line[4], 0) + 1
        return out

    def _create(self) -> Any:
        """A new file: never the report of an earlier run that started in the same second."""
        for n in range(1, 1000):
            self.path = self.folder / f"{self.stem}-{self.stamp}{'' if n == 1 else f'-{n}'}.csv"
            try:
                return open_private(self.path, "x", "per-row report", setting="--report-dir", newline="")
            except FileAccessError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        raise FileAccessError(f"cannot create a report in {self.folder}: too many reports of this second",
                              hint="give another folder with --report-dir")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            if self._lines != len(self._latest):  # rows tried more than once, or landed after all
                self._collapse()

    def _collapse(self) -> None:
        if not self._latest:
            self.path.unlink(missing_ok=True)
            return
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(COLUMNS)
        out.writerows(self._latest.values())
        write_private(self.path, buf.getvalue(), "per-row report", setting="--report-dir")
