"""The emulator's virtual clock.

Everything time-dependent in the emulator (token expiry, index lag, page-token
expiry, bulk job progress, Modified_Time of writes, the rolling credit window)
reads this clock, so tests can move time forward with ``POST /__emulator/clock``
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone


class VirtualClock:
    def __init__(self, offset_s: float = 0.0, utc_offset_minutes: int = 330) -> None:
        self._offset = offset_s
        self._lock = threading.Lock()
        #: the org user's time zone, as a fixed offset (Zoho renders datetimes in it)
        self.tz = timezone(timedelta(minutes=utc_offset_minutes))
        self.utc_offset_minutes = utc_offset_minutes

    def time(self) -> float:
        """Seconds since the epoch, virtual."""
        return time.time() + self._offset

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
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.tz).replace(microsecond=0).isoformat()

    @property
    def offset_text(self) -> str:
        sign = "+" if self.utc_offset_minutes >= 0 else "-"
        m = abs(self.utc_offset_minutes)
        return f"{sign}{m // 60:02d}:{m % 60:02d}"
