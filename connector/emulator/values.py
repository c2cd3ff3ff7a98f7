"""Record JSON -> stored column values, with Zoho's per-record validation.

metadata-and-types.md section 5 (write formats) and records.md sections 3-4
(per-record errors). :func:`decode_record` never raises for bad input: every
problem becomes a record-error dict (``zoho_errors.record_error``) so the
caller can answer 207/400 with one ``data[i]`` per input record.

This module holds the record-level rules: mandatory fields, unique values
(through :class:`.write_batch.WriteBatch`), lookups, multi-select picklists,
subform and linking rows. One scalar value is converted by :mod:`.value_types`.

Read-only and system fields, unknown field names and ``$`` keys are ignored
silently (Zoho ignores them), except ``$approved``, ``$se_module`` (polymorphic
``What_Id``) and ``$append_values`` (multi-select picklists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import schema
from .file_fields import file_entries
from .inventory_rules import is_line_items, prepare_line
from .schema import FieldDef, ModuleDef
from .store import module_column, q
from .structured_values import participants, pricing_details
from .tags import MAX_NAME, MAX_TAGS_PER_RECORD, TagRequest
from .value_types import NOT_SETTABLE, FieldError, as_id, invalid, mandatory, scalar_value, text_value
from .write_batch import WriteBatch, unique_key, user_ref
from .zoho_errors import record_error

if TYPE_CHECKING:
    from .app import App


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
    linking fields add; in both ``{"id": row, "_delete": null}`` removes (records.md section 4).
    """

    field: FieldDef
    module: ModuleDef
    link: str  # column of ``module`` holding the parent id
    rows: list[tuple[int | None, dict[str, Any]]]
    deletes: list[int]
    replace: bool


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
        for f in module.unique_fields:
            if values.get(f.api_name) is not None:
                key = (f.api_name, unique_key(f, values[f.api_name]))
                ctx.batch.claim(key, index, ctx.record_id)
    return values, errors


def _decode_fields(ctx: _Ctx, module: ModuleDef, record: dict[str, Any], path: str
                   ) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    given: set[str] = set()
    exact = module.by_name
    for key, raw in record.items():
        if not isinstance(key, str) or key.startswith("$") or key == "id":
            continue
        f = exact.get(key)
        if f is None:
            f = module.field(key)  # api names are case-insensitive
        if f is not None and f.virtual == "tags":  # read-only in the metadata, yet tags can be sent (records.md 9)
            given.add(f.api_name)
            try:
                values[f.api_name] = _tag_request(f, raw, f"{path}.{f.api_name}")
            except FieldError as e:
                errors.append(e.error)
            continue
        if f is None or f.read_only or f.data_type in NOT_SETTABLE or (f.create_only and ctx.op == "update"):
            continue  # Zoho ignores unknown and read-only fields
        given.add(f.api_name)
        try:
            decode_value(ctx, f, raw, f"{path}.{f.api_name}", values)
        except FieldError as e:
            errors.append(e.error)
    return values, errors, given


def _tag_request(f: FieldDef, raw: Any, path: str) -> TagRequest:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    names: list[str] = []
    for j, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise mandatory("name", f"{path}[{j}].name")
        if len(name) > MAX_NAME:
            raise invalid("name", f"{path}[{j}].name", maximum_length=MAX_NAME)
        names.append(name.strip())
    if len(set(n.lower() for n in names)) > MAX_TAGS_PER_RECORD:
        raise FieldError("LIMIT_EXCEEDED", "limit exceeded", {"api_name": f.api_name, "json_path": path,
                                                            "limit": MAX_TAGS_PER_RECORD})
    return TagRequest(tuple(names))


def _missing_mandatory(module: ModuleDef, values: dict[str, Any], given: set[str], path: str,
                       inserting: bool, skip: str = "") -> list[dict[str, Any]]:
    """Insert: every mandatory field needs a value. Update: only an explicit null/"" removes one."""
    out = []
    for f in module.required_fields:
        if f.api_name == skip:
            continue
        v = values.get(f.api_name)
        # a subform sent empty (an order's line items) removes every row: as good as missing
        cleared = f.api_name in values and (v is None or v == [] or (isinstance(v, RelatedRows) and v.replace
                                                                      and not v.rows))
        if cleared or (inserting and f.api_name not in given):
            out.append(mandatory(f.api_name, f"{path}.{f.api_name}").error)
    return out


def _unique_errors(ctx: _Ctx, values: dict[str, Any], index: int, path: str) -> list[dict[str, Any]]:
    m = ctx.module
    for f in m.unique_fields:
        v = values.get(f.api_name)
        if v is None:
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
            hit = ctx.batch.holder(ctx.app, m, f, key, ctx.record_id)
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
    elif dt in ("fileupload", "imageupload"):
        out[f.api_name] = file_entries(ctx.app, ctx.module.api_name, f, raw, path, ctx.record_id)
    elif dt == "participants":
        out[f.api_name] = participants(ctx.app, f, raw, path)
    elif dt == "pricing_details":
        out[f.api_name] = pricing_details(ctx.app, f, raw, path)
    elif dt == "multiselectpicklist":
        out[f.api_name] = _multiselect(ctx, f, raw, path)
    else:
        out[f.api_name] = scalar_value(f, raw, path)


def _multiselect(ctx: _Ctx, f: FieldDef, raw: Any, path: str) -> list[str] | None:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    picked: list[str] = []
    for v in raw:
        s = text_value(f, v, path, "jsonarray")
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
    if f.module_in_value and as_id(raw) is not None:
        raw = {"id": raw}  # a note's Parent_Id as the bare id of the older versions, with se_module
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
    elif f.targets and f.module_in_value and isinstance(raw.get("module"), dict):
        # v8 notes: "Parent_Id": {"module": {"api_name": "Leads"}, "id": "..."}
        target = raw["module"].get("api_name")
        if target not in f.targets:
            raise invalid(f.api_name, f"{path}.module", supported_values=list(f.targets))
    elif f.targets:
        # Polymorphic What_Id names its module in the record's $se_module (records.md section 9);
        # notes of the older versions say se_module. Sending What_Id without it is refused
        # (unconfirmed; Zoho's samples always send both).
        target = ctx.record.get("$se_module", ctx.record.get("se_module") if f.module_in_value else None)
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
            if "_delete" in row:  # {"id": row, "_delete": null} removes a subform or linking row
                deletes.append(row_id)
                continue
            if not subform:
                continue  # a linking row is either kept as is or removed
        elif not subform and "_delete" in row:
            raise mandatory("id", f"{rpath}.id")
        if is_line_items(rm.api_name):
            row = prepare_line(ctx.app, row, j, row_id is None)
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
