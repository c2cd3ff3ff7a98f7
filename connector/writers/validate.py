"""Rows -> Zoho record JSON, checked against field metadata before any call.

Input columns use the catalog's names, the same shape the readers produce:
plain fields by api_name, lookups as ``<Field>_Id`` (written as ``{"id": ...}``),
``<Field>_Name`` (ignored: Zoho writes lookups by id, names are not written)
and ``<Field>_Module`` (the target of a polymorphic lookup, sent as
``$se_module``, or the ``module`` of a multi-module lookup).

Values are checked per row the way Zoho checks them (metadata-and-types.md
section 5, records.md section 3), so a bad row is reported with Zoho's own code
(``MANDATORY_NOT_FOUND``, ``INVALID_DATA`` with ``maximum_length``,
``supported_values`` or ``expected_data_type``) without spending a call, and
never stops the other rows. Whether a lookup id *exists* only Zoho knows: that
is checked by Zoho on write, and by a read in dry runs.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from connector.errors import PlanningError
from connector.schema.types import JSON_TYPES, LOOKUP_TYPES, FieldInfo, TableSchema

log = logging.getLogger("connector.writers")

OPERATIONS = ("insert", "update", "upsert", "delete")
# Zoho's defaults when a field declares no length (metadata-and-types.md section 5).
DEFAULT_LENGTHS = {"text": 255, "phone": 30, "email": 100, "website": 255, "picklist": 255, "textarea": 32_000}
STRING_TYPES = frozenset(DEFAULT_LENGTHS) | {"autonumber", "event_reminder"}
# Not writable through the records API even when metadata does not say read_only (the photo has its own API).
# File/image uploads name files of the source org: they are uploaded again first (sync/zoho_files.py).
# Participants are written as Zoho takes them (type, participant, invited); a migration re-points
# their contacts and leads first (sync/participants.py).
NOT_SETTABLE = frozenset({"formula", "rollup_summary", "autonumber", "profileimage", "fileupload", "imageupload"})
INTEGER_MAX = 999_999_999  # "integer, max 9 digits"
BIGINT_DIGITS = 18
NUMBER_LIMIT = 10**16  # double / currency: at most 16 digits
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RE = re.compile(r"^[+-]?\d+$")
ID_RE = re.compile(r"^\d{1,19}$")
_WARNED: set[str] = set()


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be written, in Zoho's vocabulary."""

    code: str
    column: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.message}: {self.column}" + (f" ({extra})" if extra else "")


class _Bad(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _invalid(column: str, **details: Any) -> _Bad:
    return _Bad(Problem("INVALID_DATA", column, "invalid data", details))


@dataclass
class RowItem:
    """A row that passed validation: what to send, and how to report it."""

    row: int
    payload: dict[str, Any]
    key: str | None = None
    record_id: str | None = None


def _field_of(ts: TableSchema, column: str) -> tuple[FieldInfo, str] | None:
    col = ts.column(column)
    if col is None:
        # A subform is no column of its parent's table (its rows are a table of their own), but
        # its rows are written only inside the parent's record: a column named after the field
        # carries them (a JSON array of rows, as Zoho takes them).
        sub = ts.fields.get(column)
        return (sub, "value") if sub is not None and sub.data_type == "subform" else None
    if col.field == "id":
        return None
    f = ts.fields.get(col.field)
    return (f, col.part) if f is not None else None


def resolve_key(ts: TableSchema, key: str | None) -> FieldInfo | None:
    """The field a ``key`` names (``Email``, or a lookup by its field or ``_Id`` column)."""
    if key is None:
        return None
    hit = ts.fields.get(key) or next((f for n, f in ts.fields.items() if n.lower() == key.lower()), None)
    if hit is None:
        found = _field_of(ts, key)
        hit = found[0] if found else None
    if hit is None:
        raise PlanningError(f"{ts.module} has no field {key!r} to use as the key",
                            hint="give a field api_name such as Email")
    return hit


class WritePlan:
    """How the input columns map onto one module's fields for one operation (built once per write)."""

    def __init__(self, ts: TableSchema, columns: list[str], operation: str, key: str | None = None) -> None:
        if operation not in OPERATIONS:
            raise PlanningError(f"unknown write operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
        self.ts, self.operation, self.module = ts, operation, ts.module
        self.values: list[tuple[str, FieldInfo]] = []  # (input column, field) for values and lookup ids
        self.modules: dict[str, str] = {}  # lookup field -> its _Module input column
        self.ignored: list[str] = []  # _Name columns: names are not written, lookups go by id
        self.read_only: list[str] = []
        self.id_column: str | None = None
        self.tag_column: str | None = None
        unknown: list[str] = []
        for name in columns:
            col = ts.column(name)
            if col is not None and col.field == "id":
                self.id_column = name
                continue
            found = _field_of(ts, name)
            if found is None:
                unknown.append(name)
                continue
            f, part = found
            if col is not None and col.value_type == "tag":
                # Read-only in the metadata, yet a record's tags are set by sending them with it
                # (records.md section 9): ``Tag: [{"name": ...}]`` adds them (created when new).
                self.values.append((name, f))
                self.tag_column = name
            elif part == "name":
                self.ignored.append(name)
            elif not f.writable or f.data_type in NOT_SETTABLE:
                self.read_only.append(name)
            elif part == "module":
                self.modules[f.api_name] = name
            else:
                self.values.append((name, f))
        if unknown:
            names = [c.name for c in ts.columns]
            hints = [f"{u} -> {m[0]}" for u in unknown if (m := difflib.get_close_matches(u, names, n=1))]
            raise PlanningError(f"{ts.module} has no column {', '.join(map(repr, unknown))}",
                                hint=("did you mean " + "; ".join(hints)) if hints else
                                "columns are the catalog's names (lookups as <Field>_Id)")
        if operation in ("update", "delete") and self.id_column is None:
            raise PlanningError(f"{operation} on {ts.module} needs an id column",
                                hint="select the record ids, or use upsert with key=<field>")
        self.key_field = resolve_key(ts, key)
        self.key_column = self._column_for(self.key_field) if self.key_field else None
        if self.key_field is not None and self.key_column is None and operation in ("insert", "upsert"):
            raise PlanningError(f"the key {key!r} is not among the input columns of {ts.module}")
        # Per input column, once: how its values are put (the check of a row then dispatches on nothing)
        self._steps = [(column, f, self._kind(column, f), converter(f, column)) for column, f in self.values]
        self._required = [f for f in ts.fields.values() if f.mandatory and f.writable]
        self.warnings: list[str] = []
        if self.read_only and operation != "delete":
            msg = f"{ts.module}: read-only columns are not written: {', '.join(self.read_only)}"
            self.warnings.append(msg)
            if msg not in _WARNED:  # once per process: a migration writes a module in many calls
                _WARNED.add(msg)
                log.warning(msg)

    def _kind(self, column: str, f: FieldInfo) -> int:
        """0: a value (:func:`converter`), 1: a lookup, 2: the tags."""
        if column == self.tag_column:
            return 2
        return 1 if f.data_type in LOOKUP_TYPES or f.data_type == "multi_module_lookup" else 0

    def _column_for(self, f: FieldInfo) -> str | None:
        if self.id_column and f.api_name == "id":
            return self.id_column
        return next((c for c, g in self.values if g.api_name == f.api_name), None)

    @property
    def fields(self) -> list[FieldInfo]:
        return [f for _, f in self.values]

    def key_of(self, row: dict[str, Any]) -> str | None:
        if self.key_column is None:
            return None
        v = row.get(self.key_column)
        return None if v is None else str(v)

    def check(self, index: int, row: dict[str, Any]) -> RowItem | list[Problem]:
        """One input row -> the record to send, or every problem found in it."""
        key = self.key_of(row)
        record_id = None
        problems: list[Problem] = []
        if self.id_column is not None and self.operation in ("update", "delete"):
            raw = row.get(self.id_column)
            record_id = None if raw is None else str(raw).strip()
            if not record_id:
                problems.append(Problem("MANDATORY_NOT_FOUND", "id", "required field not found"))
            elif not ID_RE.match(record_id):
                problems.append(Problem("INVALID_DATA", "id", "the id given seems to be invalid", {"id": record_id}))
        if self.operation == "delete":
            return problems or RowItem(index, {}, key, record_id)
        payload: dict[str, Any] = {}
        if record_id:
            payload["id"] = record_id
        clears = self.operation != "insert"
        for column, f, kind, conv in self._steps:
            if column not in row:
                continue  # a dict row without the key leaves the field alone (an Arrow null clears it)
            raw = row[column]
            try:
                if kind == 2:
                    names = tag_names(column, raw)
                    if names:  # no tags given: none added (a write adds tags, it never removes one)
                        payload[f.api_name] = [{"name": n} for n in names]
                elif raw is None or (isinstance(raw, str) and raw == ""):
                    # Insert: nothing to send. Update/upsert: the table is the desired state, so null clears.
                    if clears and f.data_type not in ("ownerlookup", "layout"):
                        payload[f.api_name] = None
                elif kind == 1:
                    self._lookup(payload, f, column, raw, row)
                else:
                    payload[f.api_name] = conv(raw)
            except _Bad as bad:
                problems.append(bad.problem)
        problems = self._mandatory(payload) + problems
        if problems:
            return problems
        return RowItem(index, payload, key, record_id)

    def _lookup(self, payload: dict[str, Any], f: FieldInfo, column: str, raw: Any, row: dict[str, Any]) -> None:
        """A lookup's id (and the module a polymorphic or multi-module lookup points into)."""
        payload[f.api_name] = {"id": lookup_id(column, raw)}
        mod_col = self.modules.get(f.api_name)
        target = row.get(mod_col) if mod_col else None
        if f.data_type == "multi_module_lookup":
            if not target:
                raise _Bad(Problem("MANDATORY_NOT_FOUND", mod_col or f"{f.api_name}_Module",
                                   "required field not found"))
            payload[f.api_name]["module"] = {"api_name": str(target)}
        elif f.polymorphic:
            if not target:
                # Zoho needs $se_module next to a polymorphic lookup (records.md section 9).
                raise _Bad(Problem("MANDATORY_NOT_FOUND", mod_col or f"{f.api_name}_Module",
                                   "required field not found", {"api_name": "$se_module"}))
            payload["$se_module"] = str(target)

    def _mandatory(self, payload: dict[str, Any]) -> list[Problem]:
        """Insert: every mandatory field needs a value. Update/upsert: only an explicit null removes one."""
        out = []
        for f in self._required:
            v = payload.get(f.api_name)
            given = f.api_name in payload
            if (self.operation == "insert" and (v is None or v == [])) or (given and (v is None or v == [])):
                out.append(Problem("MANDATORY_NOT_FOUND", self._column_for(f) or f.api_name,
                                   "required field not found", {"api_name": f.api_name}))
        return out


# -- one value ---------------------------------------------------------------------------------

def lookup_id(column: str, raw: Any) -> str:
    if isinstance(raw, bool):
        raise _invalid(column, expected_data_type="jsonobject")
    text = str(raw).strip() if isinstance(raw, (str, int)) else ""
    if not ID_RE.match(text) or int(text) == 0:
        raise _invalid(column, expected_data_type="jsonobject", id=str(raw))
    return text


def _number(f: FieldInfo, column: str, raw: Any, expected: str) -> int | float | Decimal:
    if isinstance(raw, bool):
        raise _invalid(column, expected_data_type=expected)
    if isinstance(raw, (int, float, Decimal)):
        value: int | float | Decimal = raw
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise _invalid(column, expected_data_type=expected) from None
    else:
        raise _invalid(column, expected_data_type=expected)
    if (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, Decimal) and not value.is_finite()):
        raise _invalid(column, expected_data_type=expected)
    return value


def _as_json_number(value: int | float | Decimal) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def converter(f: FieldInfo, column: str) -> Callable[[Any], Any]:
    """:func:`to_json` for one field's non-null values, with what depends only on the field worked out once:
    text and picklists (most of a record) checked without dispatching on the type per value."""
    return _text(f, column) if f.value_type in STRING_TYPES else partial(to_json, f, column)


def _text(f: FieldInfo, column: str) -> Callable[[Any], str]:
    """The check of a text-like field's values (length, email shape, picklist), its limits looked up once."""
    limit = f.length or DEFAULT_LENGTHS.get(f.value_type, 255)
    email = f.value_type == "email"
    picks = frozenset(f.picklist) if f.value_type == "picklist" and f.picklist else None

    def text(raw: Any) -> str:
        if isinstance(raw, str):
            s = raw
        elif isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
            s = str(raw)  # zip codes and phone numbers often arrive as numbers from files
        else:
            raise _invalid(column, expected_data_type="text")
        if len(s) > limit:
            raise _invalid(column, maximum_length=limit)
        if email and not EMAIL_RE.match(s):
            raise _invalid(column, expected_data_type="email")
        if picks is not None and s not in picks:
            raise _invalid(column, supported_values=list(f.picklist))
        return s
    return text


def _datetime_text(column: str, raw: Any) -> str:
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(column, expected_data_type="datetime") from None
        if raw.tzinfo is None:  # Zoho refuses datetimes without an offset
            raise _invalid(column, expected_data_type="datetime")
    if not isinstance(raw, datetime):
        raise _invalid(column, expected_data_type="datetime")
    # Arrow's timestamp[s, UTC] reads back aware; a naive value is taken as UTC (the catalog's convention).
    aware = raw if raw.tzinfo is not None else raw.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0).isoformat()


def _date_text(column: str, raw: Any) -> str:
    if isinstance(raw, datetime):
        raise _invalid(column, expected_data_type="date")
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str) and DATE_RE.match(raw.strip()):
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            pass
    raise _invalid(column, expected_data_type="date")


def tag_names(column: str, raw: Any) -> list[str]:
    """A Tag column's value (a list of names, their JSON, or ``a;b`` text from a CSV) -> the names."""
    if raw is None:
        return []
    value = raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise _invalid(column, expected_data_type="jsonarray") from None
        else:
            value = text.split(";")
    if not isinstance(value, (list, tuple)):
        raise _invalid(column, expected_data_type="jsonarray")
    names = [str(v.get("name", "")) if isinstance(v, dict) else str(v) for v in value if v is not None]
    return [n.strip() for n in names if n.strip()]


def to_json(f: FieldInfo, column: str, raw: Any) -> Any:
    """A non-null input value -> the JSON Zoho takes for the field, or ``_Bad``."""
    vt = f.value_type
    if vt in STRING_TYPES:
        return _text(f, column)(raw)
    if vt == "multiselectpicklist":
        values = raw.split(";") if isinstance(raw, str) else raw
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise _invalid(column, expected_data_type="jsonarray")
        bad = [v for v in values if f.picklist and v not in f.picklist]
        if bad:
            raise _invalid(column, supported_values=list(f.picklist))
        return list(values)
    if vt == "integer":
        n = _number(f, column, raw, "integer")
        if n != int(n):
            raise _invalid(column, expected_data_type="integer")
        if abs(int(n)) > INTEGER_MAX:
            raise _invalid(column, maximum_length=9)
        return int(n)
    if vt == "bigint":
        # Long integers travel as digit strings: JSON numbers lose precision past 2^53.
        text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
        if not INT_RE.match(text):
            raise _invalid(column, expected_data_type="bigint")
        if len(text.lstrip("+-")) > BIGINT_DIGITS:
            raise _invalid(column, maximum_length=BIGINT_DIGITS)
        return str(int(text))
    if vt in ("double", "percent", "currency"):
        x = _number(f, column, raw, "double")
        if abs(x) >= NUMBER_LIMIT:  # type: ignore[operator]  # int, float and Decimal all compare
            raise _invalid(column, maximum_length=16)
        return _as_json_number(x)
    if vt == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise _invalid(column, expected_data_type="boolean")
    if vt == "date":
        return _date_text(column, raw)
    if vt == "datetime":
        return _datetime_text(column, raw)
    if vt == "subform":
        try:
            rows = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise _invalid(column, expected_data_type="jsonarray") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise _invalid(column, expected_data_type="jsonarray")
        return rows
    if vt in JSON_TYPES:
        # The catalog keeps JSON-shaped values as their JSON text; Zoho wants the object back.
        expected = f.json_type or "jsonobject"
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                raise _invalid(column, expected_data_type=expected) from None
        if not isinstance(value, (dict, list)):
            raise _invalid(column, expected_data_type=expected)
        return value
    # A type the catalog does not know was read as text; send it back as text.
    return raw if isinstance(raw, str) else str(raw)
