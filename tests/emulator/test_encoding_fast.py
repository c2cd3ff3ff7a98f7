"""The emulator's per-column value converters and its datetime rendering say exactly what the general ones say.

COQL pages of 2,000 records convert every value through a converter chosen once per column
(:func:`scalar_converter`) and render datetimes by shifting to the org's fixed offset; both must
answer as :func:`scalar_to_json` and the zone-aware rendering do, for every data type and value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import schema
from connector.emulator.clock import VirtualClock
from connector.emulator.encoding import scalar_converter, scalar_to_json

VALUE_TYPES = ["bigint", "double", "percent", "currency", "rollup_summary", "integer", "datetime", "date",
               "multiselectpicklist", "text", "picklist", "boolean", "email", *sorted(schema.JSON_DOCUMENT_TYPES)]

VALUES: list[Any] = [None, "", "text", "2025-01-01T10:00:00+05:30", '{"a": 1}', "[1, 2]", 0, 7, -3, 2**40, 1.5,
                     Decimal("12.50"), Decimal("-0.01"), True, False, date(2024, 2, 29), ["a", "b"], ("x",),
                     datetime(2025, 6, 30, 0, 0, 1), datetime(2025, 6, 30, 23, 59, 59, 999999),
                     datetime(2025, 1, 1, 12, 0, tzinfo=UTC)]


def _same(value_type: str, v: Any, clock: VirtualClock) -> tuple[Any, Any]:
    def outcome(f: Any) -> Any:
        try:
            return ("value", f())
        except (TypeError, ValueError) as exc:
            return ("error", type(exc))

    return (outcome(lambda: scalar_converter(value_type, clock)(v)),
            outcome(lambda: scalar_to_json(value_type, v, clock)))


@pytest.mark.parametrize("value_type", VALUE_TYPES)
def test_a_columns_converter_answers_as_the_general_one_for_every_value(value_type: str) -> None:
    clock = VirtualClock(utc_offset_minutes=330)
    for v in VALUES:
        fast, general = _same(value_type, v, clock)
        assert fast == general, (value_type, v)


def _zone_aware(value: datetime, minutes: int) -> str:
    """The rendering by time zone arithmetic (what Zoho's text is defined as)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(timezone(timedelta(minutes=minutes))).replace(microsecond=0).isoformat()


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),
       st.integers(min_value=-12 * 60, max_value=14 * 60), st.booleans())
def test_a_rendered_datetime_is_the_instant_in_the_orgs_offset(value: datetime, minutes: int, aware: bool) -> None:
    clock = VirtualClock(utc_offset_minutes=minutes)
    if aware:
        value = value.replace(tzinfo=timezone(timedelta(minutes=(minutes * 7) % 600 - 300)))
    assert clock.render(value) == _zone_aware(value, minutes)
