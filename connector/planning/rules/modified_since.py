"""The list API's one filter: lower bounds on ``Modified_Time`` become ``If-Modified-Since``.

``GET /{module}`` filters by nothing else (records.md section 1). ``>=`` is
pushed exactly; ``>`` too (whole seconds: ``> t`` is ``>= t+1s``); an ``=`` or
a ``BETWEEN`` gives a lower bound that only narrows (DuckDB keeps the rest).
Several bounds keep the latest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.planning.predicates import Node, Pred


@dataclass(frozen=True)
class ModifiedSince:
    since: datetime | None
    exact_units: tuple[bool, ...]  # per conjunct: did the header say exactly what it says
    exact: bool  # every conjunct was


def push_modified_since(units: Sequence[Node]) -> ModifiedSince:
    since: datetime | None = None
    exact_units = []
    for n in units:
        bound, ok = None, False
        if isinstance(n, Pred) and n.column.field == "Modified_Time" and n.column.value_type == "datetime":
            if n.op == "ge":
                bound, ok = n.value, True
            elif n.op == "gt":
                bound, ok = n.value + timedelta(seconds=1), True
            elif n.op in ("eq", "between"):
                bound = n.value if n.op == "eq" else n.value[0]
        if bound is not None:
            since = bound if since is None else max(since, bound)
        exact_units.append(ok)
    return ModifiedSince(since, tuple(exact_units), bool(units) and all(exact_units))
