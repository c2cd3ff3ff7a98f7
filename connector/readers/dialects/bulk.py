"""Bulk Read criteria: ``{"field": {"api_name"}, "comparator", "value"}`` and ``{"group_operator", "group"}``.

bulk-read.md section 1: at most 25 conditions; ``in``/``not_in`` and
``between``/``not_between`` take JSON arrays; ``${EMPTY}`` with ``equal`` /
``not_equal`` tests for empty values; numbers and booleans are JSON values,
dates and datetimes ISO text. Numbers have no ``between`` (two bounds are sent
instead); lookups compare ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .base import Dialect, Target, zoho_datetime

_RANGE = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "not_null"})
EMPTY = "${EMPTY}"  # Bulk Read's value for empty/non-empty checks

Criteria = dict[str, Any]


class BulkCriteria(Dialect):
    target = Target.BULK
    max_conditions = 25
    capabilities = {
        "text": frozenset({"eq", "in", "starts_with", "is_null"}),
        "picklist": frozenset({"eq", "in", "starts_with", "is_null"}),
        "lookup_id": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
        "number": _RANGE, "date": _RANGE | {"between", "not_between"},
        "datetime": _RANGE | {"between", "not_between"},
        "boolean": frozenset({"eq"}),
    }
    operators = {"eq": "equal", "ne": "not_equal", "lt": "less_than", "le": "less_equal", "gt": "greater_than",
                 "ge": "greater_equal", "in": "in", "not_in": "not_in", "between": "between",
                 "not_between": "not_between", "starts_with": "starts_with", "is_null": "equal",
                 "not_null": "not_equal"}

    def number_literal(self, v: Any) -> Any:
        return int(v) if v == int(v) else float(v)

    def bool_literal(self, v: bool) -> Any:
        return v

    def compare(self, name: str, op: str, values: Sequence[Any], many: bool) -> Any:
        return condition(name, self.operators[op], list(values) if many else values[0])

    def null_check(self, name: str, op: str) -> Any:
        return condition(name, self.operators[op], EMPTY)

    def group(self, op: str, values: Sequence[Any]) -> Any:
        flat: list[Any] = []
        for v in values:
            same = isinstance(v, dict) and v.get("group_operator") == op
            flat.extend(v["group"] if same else [v])
        return {"group_operator": op, "group": flat}

    def conjoin(self, parts: Sequence[Criteria | None]) -> Criteria | None:
        """AND of the given criteria (None ones left out); None when there are none."""
        given = [p for p in parts if p]
        if not given:
            return None
        return given[0] if len(given) == 1 else self.group("and", given)

    def conditions(self, criteria: Criteria | None) -> int:
        """Conditions a criteria object holds (Zoho counts them against its 25)."""
        if not criteria:
            return 0
        if "group" in criteria:
            return sum(self.conditions(c) for c in criteria["group"])
        return 1

    def since(self, field: str, at: datetime) -> Criteria:
        """``field >= at`` (a watermark or a partition's lower bound; closed)."""
        return condition(field, "greater_equal", zoho_datetime(at))

    def before(self, field: str, at: datetime) -> Criteria:
        """``field < at`` (a partition's upper bound; open)."""
        return condition(field, "less_than", zoho_datetime(at))


def condition(name: str, comparator: str, value: Any) -> Criteria:
    return {"field": {"api_name": name}, "comparator": comparator, "value": value}
