"""The migration's report of rows a Zoho target did not take: one CSV line per row, by source id.

The writers' own reports number rows within one write batch; a migration's
user thinks in source records, so this file says ``module, source_id,
target_id, operation, status, code, message``. It is created on the first
failure only, next to the sync state unless ``report_dir`` says otherwise, and
flushed after every batch so a killed run still leaves it readable.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.writers.report import Entry

COLUMNS = ("module", "source_id", "target_id", "operation", "status", "code", "message")


class FailureLog:
    def __init__(self, folder: Path, stem: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = Path(folder) / f"{stem}.report-{stamp}.csv"
        self.count = 0
        self._fh: Any = None
        self._out: Any = None

    def add(self, module: str, operation: str, rows: list[tuple[str, Entry]]) -> None:
        if not rows:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            self._out = csv.writer(self._fh)
            self._out.writerow(COLUMNS)
        for sid, e in rows:
            self._out.writerow([module, sid, e.record_id or "", operation, e.status, e.code or "", e.message or ""])
        self.count += len(rows)
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
