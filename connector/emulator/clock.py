"""The emulator's virtual clock.

Everything time-dependent in the emulator (token expiry, index lag, page-token
expiry, bulk job progress, Modified_Time of writes, the rolling credit window)
reads this clock, so tests can move time forward with ``POST /__emulator/clock``
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone


class VirtualClock:
    def __init__(self, offset_s: float = 0.0, utc_offset_minutes: int = 330) -> None:
        self._offset = offset_s
        #: wall-clock instant virtual time stopped at (see :meth:`frozen`); None while it runs
        self._frozen_at: float | None = None
        self._lock = threading.Lock()
        #: the org user's time zone, as a fixed offset (Zoho renders datetimes in it)
        self.tz = timezone(timedelta(minutes=utc_offset_minutes))
        self.utc_offset_minutes = utc_offset_minutes
        self._shift = timedelta(minutes=utc_offset_minutes)
        self._suffix = self.offset_text

    def time(self) -> float:
        """Seconds since the epoch, virtual."""
        frozen = self._frozen_at
        return (time.time() if frozen is None else frozen) + self._offset

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop virtual time from following the wall clock while the block runs.

        :meth:`advance` still moves it. For tests that compare two reads at one virtual
        instant (formulas such as ``Days_Open`` move with the clock). Afterwards the clock
        follows the wall clock again, so it jumps forward by the time spent frozen: virtual
        time never goes back.
        """
        with self._lock:
            self._frozen_at = time.time()
        try:
            yield
        finally:
            with self._lock:
                self._frozen_at = None

    def now(self) -> datetime:
        """Aware UTC datetime, virtual, truncated to microseconds."""
        return datetime.fromtimestamp(self.time(), UTC)

    def now_naive(self) -> datetime:
        """Naive UTC datetime (the store keeps naive UTC timestamps), second precision.

        Zoho's datetimes carry seconds only, so records written in the same
        second tie on Modified_Time, exactly as they do in a real org.
        """
        return self.now().replace(tzinfo=None, microsecond=0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset

    def render(self, value: datetime | None) -> str | None:
        """Naive-UTC or aware datetime -> Zoho's ``yyyy-MM-ddTHH:mm:ss+05:30``."""
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        # The zone is a fixed offset: shift and append it (a page renders thousands of these).
        return (value + self._shift).replace(microsecond=0).isoformat() + self._suffix

    def render_sql(self, expr: str) -> str:
        """:meth:`render` as DuckDB SQL over a naive-UTC TIMESTAMP expression (NULL stays NULL)."""
        return (f"(strftime({expr} + INTERVAL ({self.utc_offset_minutes}) MINUTE, '%Y-%m-%dT%H:%M:%S') "
                f"|| '{self._suffix}')")

    @property
    def offset_text(self) -> str:
        sign = "+" if self.utc_offset_minutes >= 0 else "-"
        m = abs(self.utc_offset_minutes)
        return f"{sign}{m // 60:02d}:{m % 60:02d}"
