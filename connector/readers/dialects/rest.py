"""The list API's only filters: a record id list, ``If-Modified-Since`` and the sort (records.md section 1).

``GET /{module}`` cannot filter by value. It takes ``ids`` (at most 100), sorts
by ``id``/``Created_Time``/``Modified_Time`` and honours ``If-Modified-Since``,
which means *strictly after* the given time; watermarks and SQL lower bounds
are inclusive, so the header is sent one second earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from .base import zoho_datetime

MAX_IDS = 100
SORT = ("id", "asc")


def if_modified_since(at: datetime) -> str:
    """The header value that returns records modified at or after ``at``."""
    return zoho_datetime(at - timedelta(seconds=1))


def ids_param(ids: Sequence[str]) -> str:
    if len(ids) > MAX_IDS:
        raise ValueError(f"the list API takes at most {MAX_IDS} ids per call, not {len(ids)}")
    return ",".join(ids)
