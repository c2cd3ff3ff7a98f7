"""What Zoho's three filter languages share, and the one place Zoho's datetime literal is written.

A dialect is a generator in the sqlglot sense: the pushdown rules
(:mod:`connector.planning.rules`) decide *which* condition a predicate becomes
(pure functions over the predicate tree); a dialect decides *how* that
condition is spelled — Search criteria ``(Field:equals:v)``, a COQL WHERE
``Field = 'v'``, a Bulk Read criteria object — and declares what it can spell
at all (``capabilities``, per column kind) and within which limits.

Each dialect also says whether a rendering is *exact* (Zoho's answer equals
SQL's) or only a superset; the engine re-applies the whole WHERE either way.
The default answer, shared by all three (search-and-coql.md A.3/B.3,
bulk-read.md section 1): numbers, dates, datetimes and ids compare exactly;
text never (Zoho may compare it case-insensitively); a negation never (Zoho
may answer it with empty values included); ``= false`` never (empty flags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar


class Target(StrEnum):
    """The three filter languages (the APIType that speaks each)."""

    SEARCH = "Search"
    COQL = "COQL"
    BULK = "Bulk"


def zoho_datetime(dt: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss+00:00``: the datetime literal every Zoho API takes (search-and-coql.md A.2, B.3).

    Whole seconds, always in UTC with an explicit offset (COQL requires one), four-digit years
    (``strftime("%Y")`` writes year 999 as ``999``). A naive datetime is UTC, as everywhere in the
    connector (the engine runs DuckDB with TimeZone=UTC).
    """
    u = (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}+00:00"


#: column kinds whose values Zoho compares as text (case-insensitively, empty meaning null)
TEXT_KINDS = frozenset({"text", "picklist", "lookup_name"})
#: values in one ``in`` (Search, COQL from v7 on); Bulk's limit is unconfirmed, so the same
MAX_IN_VALUES = 100
_NEGATIONS = frozenset({"ne", "not_in", "not_between"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Pushed:
    """One rendered filter: Search/COQL text or a Bulk criteria dict."""

    target: Target
    value: Any
    conditions: int
    exact: bool
    joins: frozenset[str] = frozenset()


class Dialect:
    """One filter language: what it can express, how it writes values, conditions and groups."""

    target: ClassVar[Target]
    #: conditions per request (Search 15 in v8, COQL WHERE 25, Bulk criteria 25)
    max_conditions: ClassVar[int]
    max_in_values: ClassVar[int] = MAX_IN_VALUES
    #: distinct lookups one filter may follow by dot notation (COQL only)
    max_joins: ClassVar[int] = 0
    #: column kind -> the operators this language can filter it with
    capabilities: ClassVar[Mapping[str, frozenset[str]]]
    #: formula and rollup fields can be filtered (COQL reads the database; Search and Bulk refuse them)
    filters_computed: ClassVar[bool] = False
    #: ``starts_with`` is documented to ignore case, so an ILIKE prefix is a safe superset (Search's index)
    prefix_ignores_case: ClassVar[bool] = False
    #: operator -> this language's word for it
    operators: ClassVar[Mapping[str, str]]

    def can(self, kind: str, op: str) -> bool:
        return op in self.capabilities.get(kind, ())

    def exact(self, kind: str, op: str, value: Any = None) -> bool:
        """Does Zoho's answer to this condition equal SQL's (not just contain it)?"""
        if kind in TEXT_KINDS:
            return False  # Zoho compares text case-insensitively: a superset of SQL's rows
        if kind == "boolean":
            return value is True  # Zoho may answer `= false` with empty (null) flags too
        if kind == "id":
            return True  # ids are never null and compare exactly
        return op not in _NEGATIONS  # Zoho may include empty values in negations

    # ---- values ------------------------------------------------------------------------------

    def literal(self, kind: str, v: Any) -> Any:
        """The value as this language writes it; None when it cannot be written safely."""
        if kind in ("id", "lookup_id"):
            # Digits only (the predicate builder saw to it); never quoted user input.
            return self.id_literal(v) if isinstance(v, str) and v.isdigit() else None
        if kind in TEXT_KINDS:
            return self.text_literal(v) if isinstance(v, str) and self.text_ok(v) else None
        if kind == "number":
            return self.number_literal(v)
        if kind == "boolean":
            return self.bool_literal(bool(v))
        if isinstance(v, datetime):
            return self.temporal_literal(zoho_datetime(v))
        if isinstance(v, date):
            return self.temporal_literal(v.isoformat())
        return None

    def text_ok(self, v: str) -> bool:
        # Empty means null to Zoho; padding may be trimmed; control characters break the criteria grammar.
        return bool(v) and v == v.strip() and not _CONTROL.search(v)

    def id_literal(self, v: str) -> Any:
        return v

    def text_literal(self, v: str) -> Any:
        return v

    def number_literal(self, v: Any) -> Any:
        return format(v, "f") if isinstance(v, Decimal) else str(v)

    def bool_literal(self, v: bool) -> Any:
        return "true" if v else "false"

    def temporal_literal(self, text: str) -> Any:
        return text

    # ---- conditions and groups ---------------------------------------------------------------

    def compare(self, name: str, op: str, values: Sequence[Any], many: bool) -> Any:
        """``name <op> value(s)``; ``values`` are literals already, ``many`` for in/between lists."""
        raise NotImplementedError

    def null_check(self, name: str, op: str) -> Any:
        """``is_null`` / ``not_null`` on ``name``."""
        raise NotImplementedError

    def starts_with(self, name: str, literal: Any) -> Any:
        """A prefix match; ``literal`` is the prefix as :meth:`literal` wrote it."""
        return self.compare(name, "starts_with", [literal], False)

    def safe_prefix(self, prefix: str) -> str:
        """The longest part of a LIKE prefix this language matches literally (a shorter prefix widens)."""
        return prefix

    def combine(self, op: str, parts: Sequence[Pushed]) -> Pushed:
        """AND/OR several rendered filters."""
        if len(parts) == 1:
            return parts[0]
        exact = all(p.exact for p in parts)
        conditions = sum(p.conditions for p in parts)
        joins = frozenset().union(*(p.joins for p in parts))
        return Pushed(self.target, self.group(op, [p.value for p in parts]), conditions, exact, joins)

    def group(self, op: str, values: Sequence[Any]) -> Any:
        raise NotImplementedError

    def pushed(self, value: Any, exact: bool, joins: frozenset[str] = frozenset()) -> Pushed:
        return Pushed(self.target, value, 1, exact, joins)
