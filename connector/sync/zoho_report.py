"""The migration's report of rows a Zoho target did not take: one CSV line per row, by source id.

The writers' own reports number rows within one write batch; a migration's
user thinks in source records, so this file says ``module, source_id,
target_id, operation, status, code, message``. It is created on the first
failure only, in ``<state>.reports/`` beside the sync state unless ``report_dir``
says otherwise, private (``0600`` in a ``0700`` folder: it quotes record values),
and flushed after every batch so a killed run still leaves it readable.
"""

from __future__ import annotations

import csv
import errno
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.errors import FileAccessError
from connector.localfs import open_private
from connector.writers.report import Entry

COLUMNS = ("module", "source_id", "target_id", "operation", "status", "code", "message")


class FailureLog:
    def __init__(self, folder: Path, stem: str) -> None:
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.folder, self.stem = Path(folder), stem
        self.path = self.folder / f"{stem}-{self.stamp}.csv"
        self.count = 0
        self._fh: Any = None
        self._out: Any = None

    def add(self, module: str, operation: str, rows: list[tuple[str, Entry]]) -> None:
        if not rows:
            return
        if self._fh is None:
            self._fh = self._create()
            self._out = csv.writer(self._fh)
            self._out.writerow(COLUMNS)
        for sid, e in rows:
            self._out.writerow([module, sid, e.record_id or "", operation, e.status, e.code or "", e.message or ""])
        self.count += len(rows)
        self._fh.flush()

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
