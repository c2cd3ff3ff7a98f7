"""COQL rows rendered as JSON by DuckDB itself, for a page of records.

A COQL page is up to 2,000 records of every field a client asked for; rendering them in Python
(a tuple per row from DuckDB, a converter per value, then ``json.dumps``) cost about three
quarters of the emulator's time per page. Here each output column becomes one SQL expression whose
value DuckDB's ``json_object`` renders exactly as :mod:`.handlers.coql`'s Python decoders would:
ids and bigints as strings, lookups as ``{"name", "id"}`` (with ``module`` for polymorphic ones),
datetimes in the user's fixed offset without fractions, dates as ``yyyy-MM-dd``, decimals and
currencies as numbers, multi-select picklists as arrays, JSON documents embedded.

An expression is given only where the stored type of the column is one whose rendering is certain
(:func:`column_json` answers None otherwise), and then the whole page goes the Python way: the
answer is the same either way (``tests/emulator/test_coql_json.py`` compares the two over every
field of every module). The stored types come from DuckDB (``DESCRIBE``), remembered per select list.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from . import schema
from .clock import VirtualClock

INTEGERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                      "UINTEGER", "UBIGINT"})
FLOATS = frozenset({"FLOAT", "DOUBLE"})
#: stored types DuckDB renders in JSON as Python's json.dumps renders the value DuckDB returns
AS_IS = INTEGERS | FLOATS | {"VARCHAR", "BOOLEAN"}
NUMBER_TYPES = frozenset({"double", "percent", "currency", "rollup_summary"})


def _decimal(t: str) -> bool:
    return t.startswith("DECIMAL")


def _text_list(t: str) -> bool:
    return t == "VARCHAR[]"


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def scalar_json(value_type: str, expr: str, stored: str, clock: VirtualClock) -> str | None:
    """The SQL rendering one stored scalar as :func:`.encoding.scalar_converter` does; None: not certain."""
    if value_type == "bigint":
        return f"CAST({expr} AS VARCHAR)" if stored in INTEGERS else None
    if value_type in NUMBER_TYPES:
        return f"CAST({expr} AS DOUBLE)" if stored in INTEGERS | FLOATS or _decimal(stored) else None
    if value_type == "integer":
        return expr if stored in INTEGERS else None
    if value_type == "datetime":
        return clock.render_sql(expr) if stored == "TIMESTAMP" else expr if stored == "VARCHAR" else None
    if value_type == "date":
        return f"strftime({expr}, '%Y-%m-%d')" if stored == "DATE" else expr if stored == "VARCHAR" else None
    if value_type == "multiselectpicklist":
        return expr if _text_list(stored) else None
    if value_type in schema.JSON_DOCUMENT_TYPES:
        return f"CAST({expr} AS JSON)" if stored == "VARCHAR" else None
    if _decimal(stored):
        return f"CAST({expr} AS DOUBLE)"
    return expr if stored in AS_IS or _text_list(stored) else None


def _module_id(expr: str) -> str:
    """The module id (as text) of a module's API name held in ``expr``; NULL for a name not known."""
    whens = " ".join(f"WHEN {sql_text(m.api_name)} THEN {sql_text(str(m.module_id))}" for m in schema.MODULES)
    return f"(CASE {expr} {whens} ELSE NULL END)"


def column_json(kind: str, exprs: Sequence[str], stored: Sequence[str], clock: VirtualClock) -> str | None:
    """One output column's JSON value as SQL. ``kind``: ``id``, ``text`` (a users-table column),
    ``lookup`` (id, name and, for a polymorphic lookup, the module) or the field's value type."""
    if kind == "id":
        return f"CAST({exprs[0]} AS VARCHAR)" if stored[0] in INTEGERS else exprs[0] if stored[0] == "VARCHAR" \
            else None
    if kind == "text":
        return exprs[0] if stored[0] in AS_IS else None
    if kind == "lookup":
        if stored[0] not in INTEGERS or stored[1] not in AS_IS:
            return None
        value = f"'name', {exprs[1]}, 'id', CAST({exprs[0]} AS VARCHAR)"
        if len(exprs) > 2:
            if stored[2] != "VARCHAR":
                return None
            value = f"'module', json_object('api_name', {exprs[2]}, 'id', {_module_id(exprs[2])}), {value}"
        return f"(CASE WHEN {exprs[0]} IS NULL THEN NULL ELSE json_object({value}) END)"
    return scalar_json(kind, exprs[0], stored[0], clock)


#: a timestamp literal in generated SQL (:func:`..store.formula_sql` writes "now" so)
_INSTANT = re.compile(r"TIMESTAMP '[0-9: -]+'")


class StoredTypes:
    """DuckDB's result types of select lists, remembered per store (a module's columns keep their
    types; an org reset makes a new store, and so starts afresh)."""

    def __init__(self, limit: int = 512) -> None:
        self._known: weakref.WeakKeyDictionary[object, dict[str, list[str]]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._limit = limit

    def of(self, store: object, select_sql: str, describe: Callable[[str], list[tuple[Any, ...]]]) -> list[str]:
        """Types of ``select_sql``'s columns in ``store``; ``describe(sql)`` runs DESCRIBE when not known. The
        instants written into the SQL (a formula's "now", such as Days_Open's) change no type: remembered
        without them, or every second would describe the same select list again."""
        key = _INSTANT.sub("TIMESTAMP ''", select_sql)
        with self._lock:
            known = self._known.get(store, {}).get(key)
        if known is not None:
            return known
        types = [str(r[1]) for r in describe(f"DESCRIBE {select_sql}")]
        with self._lock:
            mine = self._known.setdefault(store, {})
            if len(mine) >= self._limit:
                mine.clear()
            mine[key] = types
        return types


STORED_TYPES = StoredTypes()
