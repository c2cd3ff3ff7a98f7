"""Record JSON -> stored column values, with Zoho's per-record validation.

metadata-and-types.md section 5 (write formats) and records.md sections 3-4
(per-record errors). :func:`decode_record` never raises for bad input: every
problem becomes a record-error dict (``zoho_errors.record_error``) so the
caller can answer 207/400 with one ``data[i]`` per input record.

Read-only and system fields, unknown field names and ``$`` keys are ignored
silently (Zoho ignores them), except ``$approved``, ``$se_module`` (polymorphic
``What_Id``) and ``$append_values`` (multi-select picklists).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import schema
from .schema import FieldDef, ModuleDef
from .store import module_column, q
from .zoho_errors import record_error

if TYPE_CHECKING:
    from .app import App

MAX_ID = 2**63 - 1  # ids live in BIGINT columns
INTEGER_MAX = 999_999_999  # "integer, max 9 digits"
BIGINT_DIGITS = 18
NUMBER_LIMIT = 10**16  # double / currency: up to 16 digits
# Default maximum lengths when a field declares none (metadata-and-types.md section 5).
TEXT_LIMITS = {"text": 255, "phone": 30, "email": 100, "website": 255, "picklist": 255, "event_reminder": 255}
TEXTAREA_LIMITS = {"small": 2_000, "large": 32_000, "rich_text": 50_000}
STRING_TYPES = frozenset(TEXT_LIMITS) | {"textarea"}
# Types compared case-insensitively by unique checks and duplicate-check matching.
TEXT_LIKE = STRING_TYPES | {"autonumber"}
# Not writable through the records API: the photo has its own API (metadata-and-types.md section 5).
NOT_SETTABLE = frozenset({"profileimage", "formula", "autonumber", "rollup_summary"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# yyyy-MM-ddTHH:mm:ss±HH:mm; the offset is required (an offset-less datetime is INVALID_DATA).
# "Z" is accepted as +00:00 (unconfirmed; ISO 8601 allows it). Fractions are refused: Zoho
# documents second precision.
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
BIGINT_RE = re.compile(r"^-?\d+$")


class FieldError(Exception):
    """One invalid value; turned into the record's error entry."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(code)
        self.error = record_error(code, message, details)


def invalid(api_name: str, path: str, **extra: Any) -> FieldError:
    return FieldError("INVALID_DATA", "invalid data", {**extra, "api_name": api_name, "json_path": path})


def mandatory(api_name: str, path: str) -> FieldError:
    return FieldError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": api_name, "json_path": path})


def as_id(value: Any) -> int | None:
    """A record/user id given as a digit string or a JSON number (the SDK sends numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    if isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit() \
            and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def parent_link(child: ModuleDef, parent: ModuleDef) -> FieldDef:
    """The lookup of a subform/linking module that points at its parent record."""
    return next(f for f in child.fields if f.data_type == "lookup" and f.lookup == parent.api_name)


def connected_field(linking: ModuleDef, parent: ModuleDef) -> FieldDef:
    """The lookup of a linking module that points at the linked record (or user)."""
    link = parent_link(linking, parent)
    return next(f for f in linking.fields if f.data_type in ("lookup", "userlookup") and f is not link)


@dataclass
class RelatedRows:
    """Subform or multi-select/multi-user lookup rows, written to their module after the parent.

    Subforms replace (rows with an id updated, without added, omitted rows deleted);
    linking fields add, and ``{"id": row, "_delete": null}`` removes (records.md section 4).
    """

    field: FieldDef
    module: ModuleDef
    link: str  # column of ``module`` holding the parent id
    rows: list[tuple[int | None, dict[str, Any]]]
    deletes: list[int]
    replace: bool


@dataclass
class WriteBatch:
    """State shared by the records of one write call.

    Caches lookup targets known to exist, and remembers the unique values claimed by
    earlier valid records of the batch, so a later record repeating one gets
    DUPLICATE_DATA pointing at the earlier record (as Zoho, which writes in order).
    """

    known: set[tuple[str, int]] = field(default_factory=set)
    claims: dict[tuple[str, Any], tuple[int, int | None]] = field(default_factory=dict)
    pending: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    claimed_by: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    #: unique field -> key -> [(id, owner)] oldest first, for the values the batch carries
    unique: dict[str, dict[Any, list[tuple[int, int | None]]]] = field(default_factory=dict)

    def claim(self, key: tuple[str, Any], index: int, record_id: int | None) -> None:
        if key not in self.claims:
            self.claims[key] = (index, record_id)
            self.claimed_by.setdefault(index, []).append(key)

    def prefetch(self, app: App, module: ModuleDef, records: list[Any]) -> None:
        """Load, in one query per target module, the lookup targets the records name."""
        wanted: dict[str, set[int]] = {}
        for rec in records:
            if not isinstance(rec, dict):
                continue
            for key, raw in rec.items():
                f = module.field(key) if isinstance(key, str) else None
                if f is None or f.data_type not in ("lookup", "multi_module_lookup") or not isinstance(raw, dict):
                    continue
                rid = as_id(raw.get("id"))
                targets = f.targets or ((f.lookup,) if f.lookup else ())
                for t in targets:
                    if rid is not None:
                        wanted.setdefault(t, set()).add(rid)
        for target, ids in wanted.items():
            for rid in app.store.exists(schema.MODULES_BY_NAME[target], ids):
                self.known.add((target, rid))
        for f in module.fields:
            if f.unique and f.data_type in TEXT_LIKE:
                # ASCII only: there DuckDB's lower() and Python's agree; other keys are looked up one by one.
                keys = {rec[f.api_name].lower() for rec in records
                        if isinstance(rec, dict) and isinstance(rec.get(f.api_name), str)
                        and rec[f.api_name].isprintable() and rec[f.api_name].isascii()}
                hits: dict[Any, list[tuple[int, int | None]]] = {k: [] for k in keys}
                for key, rid, owner in app.store.fetchall(
                        _duplicate_sql(module, f, "IN (SELECT unnest(?))"), [sorted(keys)]):
                    hits.setdefault(key, []).append((rid, owner))
                self.unique[f.api_name] = hits

    def exists(self, app: App, target: str, rid: int) -> bool:
        if (target, rid) in self.known:
            return True
        if app.store.exists(schema.MODULES_BY_NAME[target], [rid]):
            self.known.add((target, rid))
            return True
        return False

    def resolve(self, index: int, record_id: int, owner_id: int | None) -> None:
        """Tell the batch the id record ``index`` was written with (fills duplicate_record references)."""
        for key in self.claimed_by.pop(index, []):
            self.claims[key] = (index, record_id)
        for ref in self.pending.pop(index, []):
            ref["id"] = str(record_id)
            if owner_id is not None:
                ref["Owner"] = user_ref(owner_id, zuid=True)


def user_ref(user_id: int, *, zuid: bool = False) -> dict[str, Any]:
    u = schema.USERS_BY_ID.get(user_id)
    out: dict[str, Any] = {"name": u.full_name if u else None, "id": str(user_id)}
    if zuid:
        out["zuid"] = str(u.zuid) if u else None
    return out


@dataclass
class _Ctx:
    app: App
    module: ModuleDef
    record: dict[str, Any]
    op: str
    record_id: int | None
    batch: WriteBatch


def decode_record(app: App, module: ModuleDef, record: dict[str, Any], *, op: str, index: int,
                  batch: WriteBatch | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One record of ``data`` -> ({column: db value}, record errors).

    ``op`` is ``"insert"`` or ``"update"`` (an update's record carries its ``id``, used to
    exclude the record itself from unique checks). Subform and linking fields come back
    as :class:`RelatedRows` values under the field's api name; the writer stores them.
    """
    path = f"$.data[{index}]"
    if not isinstance(record, dict):
        return {}, [record_error("INVALID_DATA", "invalid data",
                                 {"expected_data_type": "jsonobject", "json_path": path})]
    ctx = _Ctx(app, module, record, op, as_id(record.get("id")) if op == "update" else None,
               batch if batch is not None else WriteBatch())
    values, errors, given = _decode_fields(ctx, module, record, path)
    if "$approved" in record and not isinstance(record["$approved"], bool):
        errors.append(invalid("$approved", f"{path}.$approved", expected_data_type="boolean").error)
    missing = _missing_mandatory(module, values, given, path, op == "insert")
    errors = missing + errors
    if not errors:
        errors = _unique_errors(ctx, values, index, path)
    if not errors:
        for f in module.fields:
            if f.unique and values.get(f.api_name) is not None:
                key = (f.api_name, unique_key(f, values[f.api_name]))
                ctx.batch.claim(key, index, ctx.record_id)
    return values, errors


def _decode_fields(ctx: _Ctx, module: ModuleDef, record: dict[str, Any], path: str
                   ) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    given: set[str] = set()
    for key, raw in record.items():
        if not isinstance(key, str) or key.startswith("$") or key == "id":
            continue
        f = module.field(key)
        if f is None or f.read_only or f.data_type in NOT_SETTABLE:
            continue  # Zoho ignores unknown and read-only fields
        given.add(f.api_name)
        try:
            decode_value(ctx, f, raw, f"{path}.{f.api_name}", values)
        except FieldError as e:
            errors.append(e.error)
    return values, errors, given


def _missing_mandatory(module: ModuleDef, values: dict[str, Any], given: set[str], path: str,
                       inserting: bool, skip: str = "") -> list[dict[str, Any]]:
    """Insert: every mandatory field needs a value. Update: only an explicit null/"" removes one."""
    out = []
    for f in module.fields:
        if not f.mandatory or f.read_only or f.api_name == skip:
            continue
        v = values.get(f.api_name)
        cleared = f.api_name in values and (v is None or v == [])
        if cleared or (inserting and f.api_name not in given):
            out.append(mandatory(f.api_name, f"{path}.{f.api_name}").error)
    return out


def unique_key(f: FieldDef, value: Any) -> Any:
    # Zoho's unique check is case-insensitive for text (metadata: unique.casesensitive false).
    return value.lower() if f.data_type in TEXT_LIKE and isinstance(value, str) else value


def _unique_errors(ctx: _Ctx, values: dict[str, Any], index: int, path: str) -> list[dict[str, Any]]:
    m = ctx.module
    for f in m.fields:
        v = values.get(f.api_name)
        if not f.unique or v is None:
            continue
        key = unique_key(f, v)
        ref: dict[str, Any] = {"id": None, "module": {"api_name": m.api_name, "id": str(m.module_id)},
                               "Owner": None}
        claim = ctx.batch.claims.get((f.api_name, key))
        if claim is not None and (claim[1] is None or claim[1] != ctx.record_id):
            if claim[1] is None:  # an insert earlier in this batch: its id is known after the write
                ctx.batch.pending.setdefault(claim[0], []).append(ref)
            else:
                ref["id"], ref["Owner"] = str(claim[1]), _owner(ctx, claim[1])
        else:
            hit = _find_duplicate(ctx, f, key)
            if hit is None:
                continue
            ref["id"], ref["Owner"] = str(hit[0]), user_ref(hit[1], zuid=True) if hit[1] else None
        return [FieldError("DUPLICATE_DATA", "duplicate data", {
            "api_name": f.api_name, "json_path": f"{path}.{f.api_name}", "duplicate_record": ref}).error]
    return []


def _owner(ctx: _Ctx, record_id: int) -> dict[str, Any] | None:
    if not ctx.module.field("Owner"):
        return None
    row = ctx.app.store.fetchone(f"SELECT Owner FROM {q(ctx.module.api_name)} WHERE id = ?", [record_id])
    return user_ref(row[0], zuid=True) if row and row[0] else None


def _duplicate_sql(m: ModuleDef, f: FieldDef, condition: str) -> str:
    col = f"lower(t.{q(f.api_name)})" if f.data_type in TEXT_LIKE else f"t.{q(f.api_name)}"
    owner = "t.Owner" if m.field("Owner") else "NULL"
    order = "t.Created_Time NULLS LAST, t.id" if m.field("Created_Time") else "t.id"
    return f"SELECT {col}, t.id, {owner} FROM {q(m.api_name)} t WHERE {col} {condition} ORDER BY {order}"


def _find_duplicate(ctx: _Ctx, f: FieldDef, key: Any) -> tuple[int, int | None] | None:
    """The oldest other record holding ``key`` in a unique field."""
    known = ctx.batch.unique.get(f.api_name, {})
    if key in known:  # prefetched (keys the batch did not announce are looked up one by one)
        return next((hit for hit in known[key] if hit[0] != ctx.record_id), None)
    for _, rid, owner in ctx.app.store.fetchall(_duplicate_sql(ctx.module, f, "= ?"), [key]):
        if rid != ctx.record_id:
            return int(rid), owner
    return None


# -- one value ---------------------------------------------------------------------------

def _text(f: FieldDef, raw: Any, path: str, expected: str = "text") -> str:
    if not isinstance(raw, str):
        raise invalid(f.api_name, path, expected_data_type=expected)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800 escapes cannot be stored
        raise invalid(f.api_name, path, expected_data_type=expected) from None
    return raw


def _max_length(f: FieldDef) -> int:
    if f.length:
        return f.length
    if f.data_type == "textarea":
        return TEXTAREA_LIMITS.get(f.textarea_type or "small", 2_000)
    return TEXT_LIMITS.get(f.data_type, 255)


def _number(f: FieldDef, raw: Any, path: str, expected: str) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (
            isinstance(raw, float) and not math.isfinite(raw)):
        raise invalid(f.api_name, path, expected_data_type=expected)
    return raw


def _datetime(f: FieldDef, raw: Any, path: str) -> datetime:
    s = _text(f, raw, path, "datetime")
    if not DATETIME_RE.match(s):
        raise invalid(f.api_name, path, expected_data_type="datetime")
    try:
        value = datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise invalid(f.api_name, path, expected_data_type="datetime") from None
    if not 1000 <= value.year <= 9998:  # keeps rendering in any user offset in range (Zoho's range unconfirmed)
        raise invalid(f.api_name, path, expected_data_type="datetime")
    return value


def _date(f: FieldDef, raw: Any, path: str) -> date:
    s = _text(f, raw, path, "date")
    try:
        if DATE_RE.match(s):
            return date.fromisoformat(s)
    except ValueError:
        pass
    raise invalid(f.api_name, path, expected_data_type="date")


def _scalar(f: FieldDef, raw: Any, path: str) -> Any:
    dt = f.data_type
    if dt in STRING_TYPES:
        s = _text(f, raw, path)
        limit = _max_length(f)
        if len(s) > limit:
            raise invalid(f.api_name, path, maximum_length=limit)
        if dt == "email" and s and not EMAIL_RE.match(s):
            raise invalid(f.api_name, path)
        if dt == "picklist" and s and s not in f.picklist:
            # Every emulated picklist is restricted (unrestricted picklists unconfirmed).
            raise invalid(f.api_name, path, supported_values=list(f.picklist))
        return s if s != "" else None  # "" clears a field, as null does
    if dt == "integer":
        n = _number(f, raw, path, "integer")
        if isinstance(n, float) and not n.is_integer():
            raise invalid(f.api_name, path, expected_data_type="integer")
        if abs(int(n)) > INTEGER_MAX:
            raise invalid(f.api_name, path, maximum_length=9)
        return int(n)
    if dt == "bigint":
        # Long integers travel as strings (JSON numbers lose precision past 2^53); both accepted.
        if isinstance(raw, str) and BIGINT_RE.match(raw) and raw.isascii():
            if len(raw.lstrip("-")) > BIGINT_DIGITS:
                raise invalid(f.api_name, path, maximum_length=BIGINT_DIGITS)
            v = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            v = raw
        else:
            raise invalid(f.api_name, path, expected_data_type="bigint")
        if abs(v) >= 10**BIGINT_DIGITS:
            raise invalid(f.api_name, path, maximum_length=BIGINT_DIGITS)
        return v
    if dt in ("double", "percent"):
        x = float(_number(f, raw, path, "double"))
        if abs(x) >= NUMBER_LIMIT:
            raise invalid(f.api_name, path, maximum_length=16)
        return round(x, f.decimal_place) if f.decimal_place is not None else x
    if dt == "currency":
        x = _number(f, raw, path, "double")
        if abs(x) >= NUMBER_LIMIT:
            raise invalid(f.api_name, path, maximum_length=16)
        # currency.rounding_option "normal" with precision 2: half up to cents.
        cents = Decimal(repr(x) if isinstance(x, float) else x).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if abs(cents) >= NUMBER_LIMIT:  # 9999999999999999.995 rounds up past 16 digits
            raise invalid(f.api_name, path, maximum_length=16)
        return cents
    if dt == "boolean":
        if not isinstance(raw, bool):
            raise invalid(f.api_name, path, expected_data_type="boolean")
        return raw
    if dt == "date":
        return _date(f, raw, path)
    if dt == "datetime":
        return _datetime(f, raw, path)
    if dt in schema.JSON_DOCUMENT_TYPES or dt in ("fileupload", "imageupload"):
        expected = f.json_type
        if not isinstance(raw, dict if expected == "jsonobject" else list):
            raise invalid(f.api_name, path, expected_data_type=expected)
        try:  # NaN is not JSON, and lone surrogates cannot be stored
            text = json.dumps(raw, ensure_ascii=False, allow_nan=False)
            text.encode("utf-8")
        except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            raise invalid(f.api_name, path, expected_data_type=expected) from None
        return text  # JSON documents are kept as Zoho sent them
    raise invalid(f.api_name, path)


def decode_value(ctx: _Ctx, f: FieldDef, raw: Any, path: str, out: dict[str, Any]) -> None:
    """Decode one field's JSON value into ``out`` (one or two columns, or RelatedRows)."""
    dt = f.data_type
    if dt in ("subform", "multiselectlookup", "multiuserlookup"):
        out[f.api_name] = _related_rows(ctx, f, [] if raw is None else raw, path)
        return
    if raw is None:
        if dt in ("ownerlookup", "layout"):
            return  # keep the default / current value: a record always has an owner and a layout
        out[f.api_name] = None
        if f.targets:
            out[module_column(f) or ""] = None
        return
    if dt in ("lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"):
        _lookup(ctx, f, raw, path, out)
    elif dt == "multiselectpicklist":
        out[f.api_name] = _multiselect(ctx, f, raw, path)
    else:
        out[f.api_name] = _scalar(f, raw, path)


def _multiselect(ctx: _Ctx, f: FieldDef, raw: Any, path: str) -> list[str] | None:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    picked: list[str] = []
    for v in raw:
        s = _text(f, v, path, "jsonarray")
        if s not in f.picklist:
            raise invalid(f.api_name, path, supported_values=list(f.picklist))
        if s not in picked:
            picked.append(s)
    append = ctx.record.get("$append_values")
    if ctx.op == "update" and isinstance(append, dict) and append.get(f.api_name) is True and ctx.record_id:
        row = ctx.app.store.fetchone(f"SELECT {q(f.api_name)} FROM {q(ctx.module.api_name)} WHERE id = ?",
                                     [ctx.record_id])
        current = list(row[0] or []) if row else []
        picked = current + [v for v in picked if v not in current]
    return picked or None


def _lookup(ctx: _Ctx, f: FieldDef, raw: Any, path: str, out: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        raise invalid(f.api_name, path, expected_data_type="jsonobject")
    rid = as_id(raw.get("id"))
    if rid is None:
        raise invalid(f.api_name, path, expected_data_type="jsonobject")
    dt = f.data_type
    if dt in ("ownerlookup", "userlookup"):
        u = schema.USERS_BY_ID.get(rid)
        if u is None or u.status != "active":
            raise invalid(f.api_name, path, id=str(rid))
        out[f.api_name] = rid
        return
    if dt == "layout":
        if rid not in schema.LAYOUTS:
            raise invalid(f.api_name, path, id=str(rid))
        out[f.api_name] = rid
        return
    if dt == "multi_module_lookup":
        mod = raw.get("module")
        target = mod.get("api_name") if isinstance(mod, dict) else None
        if target not in f.targets:
            raise invalid(f.api_name, f"{path}.module", supported_values=list(f.targets))
    elif f.targets:
        # Polymorphic What_Id names its module in the record's $se_module (records.md section 9).
        # Sending What_Id without it is refused (unconfirmed; Zoho's samples always send both).
        target = ctx.record.get("$se_module")
        spath = path.rsplit(".", 1)[0] + ".$se_module"
        if target is None:
            raise mandatory("$se_module", spath)
        if target not in f.targets:
            raise invalid("$se_module", spath, supported_values=list(f.targets))
    else:
        target = f.lookup
    assert isinstance(target, str)
    if not ctx.batch.exists(ctx.app, target, rid):
        raise invalid(f.api_name, path, id=str(rid))
    out[f.api_name] = rid
    if f.targets:
        out[module_column(f) or ""] = target


# -- subform and linking rows --------------------------------------------------------------

def _related_rows(ctx: _Ctx, f: FieldDef, raw: Any, path: str) -> RelatedRows:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    assert f.related_module is not None
    rm = schema.MODULES_BY_NAME[f.related_module]
    link = parent_link(rm, ctx.module).api_name
    subform = f.data_type == "subform"
    other = None if subform else connected_field(rm, ctx.module)
    rows: list[tuple[int | None, dict[str, Any]]] = []
    deletes: list[int] = []
    sub = _Ctx(ctx.app, rm, {}, ctx.op, None, ctx.batch)
    for j, row in enumerate(raw):
        rpath = f"{path}[{j}]"
        if not isinstance(row, dict):
            raise invalid(f.api_name, rpath, expected_data_type="jsonobject")
        row_id = None
        if "id" in row:
            row_id = as_id(row["id"])
            if row_id is None or not _row_of_parent(ctx, rm, link, row_id):
                raise invalid("id", f"{rpath}.id", id=str(row["id"]))
            if not subform:
                if "_delete" in row:
                    deletes.append(row_id)
                continue  # a linking row is either kept as is or removed
        elif not subform and "_delete" in row:
            raise mandatory("id", f"{rpath}.id")
        sub.record = row
        values: dict[str, Any] = {}
        for key, value in row.items():
            sf = rm.field(key) if isinstance(key, str) else None
            if sf is None or sf.read_only or sf.api_name == link or (other is not None and sf is not other):
                continue
            decode_value(sub, sf, value, f"{rpath}.{sf.api_name}", values)
        missing = _missing_mandatory(rm, values, set(values), rpath, row_id is None, skip=link)
        if missing:
            raise FieldError(missing[0]["code"], missing[0]["message"], missing[0]["details"])
        rows.append((row_id, values))
    return RelatedRows(f, rm, link, rows, deletes, replace=subform)


def _row_of_parent(ctx: _Ctx, rm: ModuleDef, link: str, row_id: int) -> bool:
    if ctx.record_id is None:
        return False  # a new record has no rows yet
    row = ctx.app.store.fetchone(f"SELECT 1 FROM {q(rm.api_name)} WHERE id = ? AND {q(link)} = ?",
                                 [row_id, ctx.record_id])
    return row is not None
