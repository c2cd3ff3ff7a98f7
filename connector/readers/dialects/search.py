"""Search API criteria: ``(Field:operator:value)`` joined by ``and``/``or`` in parentheses.

search-and-coql.md A.2-A.3: at most 15 conditions (v8), 100 values per ``in``;
``(``, ``)``, ``,`` and the backslash inside a value are backslash-escaped;
lookups compare by id; no null test, no ``not_in``; text goes through the
search index, which ignores case (never exact, but an ILIKE prefix is safe).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .base import Dialect, Target

_ALL_CMP = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between", "in"})
_SPECIAL = re.compile(r"([\\(),])")


class SearchCriteria(Dialect):
    target = Target.SEARCH
    max_conditions = 15
    capabilities = {
        "text": frozenset({"eq", "in", "starts_with"}),
        "picklist": frozenset({"eq", "in"}),
        "lookup_id": frozenset({"eq", "ne", "in"}),
        "number": _ALL_CMP, "date": _ALL_CMP, "datetime": _ALL_CMP,
        "boolean": frozenset({"eq"}),
    }
    prefix_ignores_case = True
    operators = {"eq": "equals", "ne": "not_equal", "lt": "less_than", "le": "less_equal", "gt": "greater_than",
                 "ge": "greater_equal", "between": "between", "in": "in", "starts_with": "starts_with"}

    def text_literal(self, v: str) -> Any:
        return _SPECIAL.sub(r"\\\1", v)

    def compare(self, name: str, op: str, values: Sequence[Any], many: bool) -> Any:
        return f"({name}:{self.operators[op]}:{','.join(str(v) for v in values)})"

    def null_check(self, name: str, op: str) -> Any:
        raise ValueError("the Search API has no null test")  # never listed in capabilities

    def group(self, op: str, values: Sequence[Any]) -> Any:
        acc = str(values[0])
        for v in values[1:]:
            acc = f"({acc}{op}{v})"
        return acc
