"""One table from every Zoho ``data_type`` to Arrow (metadata-and-types.md section 5).

Decisions (documented in ARCHITECTURE.md):
* ids and lookup ids are exact strings (18-19 digits; never floats);
* ``bigint`` and ``integer`` are int64; ``double``/``percent`` float64;
  ``currency`` decimal128(18, the field's decimal places, default 2);
* ``datetime`` is ``timestamp[s, UTC]`` (Zoho sends the user's offset; we
  normalise), ``date`` is date32, multi-select picklists are list<string>;
* lookups flatten to ``<Field>_Id`` and ``<Field>_Name`` (plus
  ``<Field>_Module`` for polymorphic and multi-module lookups);
* JSON-shaped values (addresses, reminders, taxes, territories...) are kept as
  their JSON text, which DuckDB's json functions can open;
* subforms and multi-select (user) lookups are not columns of their parent:
  Zoho's list, COQL and bulk APIs do not return them, so they are read as
  tables of their own (the subform or linking module), like Zoho exports them;
* file and image upload fields are JSON text: the list of the files' metadata as
  the records API returns it (``File_Id__s``, ``File_Name__s``, ``Size__s``, the
  entry's ``id``); the bytes are the Files API's business;
* ``Tag`` (a ``text`` field whose ``json_type`` is ``jsonarray``) is the list of
  the record's tag names;
* file/image uploads, ``Tag`` and Events' ``Participants`` come from the records
  API only (COQL and Bulk Read refuse them): :attr:`FieldInfo.records_only`.
A ``data_type`` the table does not know never breaks discovery: it becomes a
text column and is reported once as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pyarrow as pa

from .access import ALL_APIS, read_apis

log = logging.getLogger("connector.schema")

TEXT_TYPES = {"text", "textarea", "email", "phone", "website", "picklist", "autonumber", "profileimage",
              "event_reminder"}
JSON_TYPES = {"ALARM", "RRULE", "multireminder", "consent_lookup", "linetax", "module", "time_range", "address",
              "territories", "participants", "pricing_details", "fileupload", "imageupload"}
LOOKUP_TYPES = {"lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"}
EXCLUDED_TYPES = {"subform", "multiselectlookup", "multiuserlookup"}
#: value types only the records API (list, get, search) returns: COQL and Bulk Read refuse them
RECORDS_ONLY_TYPES = {"fileupload", "imageupload", "participants"}
TIMESTAMP = pa.timestamp("s", tz="UTC")

_warned: set[str] = set()


def scalar_arrow_type(data_type: str, decimal_place: int | None = None) -> pa.DataType | None:
    """Arrow type of a non-lookup value type; None when the type is unknown."""
    if data_type in TEXT_TYPES or data_type in JSON_TYPES:
        return pa.string()
    return {
        "multiselectpicklist": pa.list_(pa.string()),
        "integer": pa.int64(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "percent": pa.float64(),
        "currency": pa.decimal128(18, decimal_place if decimal_place is not None else 2),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": TIMESTAMP,
    }.get(data_type)


@dataclass(frozen=True)
class Column:
    name: str  # Arrow/SQL column name
    field: str  # Zoho api_name it comes from
    part: str  # "value", "id", "name" or "module"
    value_type: str  # Zoho type the value behaves as ("datetime", "lookup", "json" ...)
    arrow: pa.DataType


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    data_type: str
    value_type: str  # data_type, or the formula/rollup return type
    json_type: str
    lookup_module: str | None = None
    polymorphic: bool = False
    decimal_place: int | None = None
    read_only: bool = False
    mandatory: bool = False
    unique: bool = False
    length: int | None = None
    picklist: tuple[str, ...] = ()
    searchable: bool = True
    label: str = ""
    custom: bool = False
    #: the help text Zoho shows next to the field (``tooltip.value``), and whether its changes are kept
    #: in a history module (Deals' Stage): facts DESCRIBE shows
    tooltip: str = ""
    history_tracked: bool = False

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> FieldInfo:
        dt = str(meta.get("data_type") or "text")
        value_type = dt
        if dt == "formula":
            value_type = str((meta.get("formula") or {}).get("return_type") or "text")
        elif dt == "rollup_summary":
            value_type = str((meta.get("rollup_summary") or {}).get("return_type") or "double")
        lookup = meta.get("lookup") or {}
        target = (lookup.get("module") or {}).get("api_name") if isinstance(lookup, dict) else None
        if dt in ("ownerlookup", "userlookup"):
            target = "Users"
        poly = bool(isinstance(lookup, dict) and lookup.get("modules")) or meta.get("api_name") in ("What_Id",)
        picks = tuple(str(p.get("actual_value")) for p in meta.get("pick_list_values") or []
                      if isinstance(p, dict) and p.get("type", "used") != "unused")
        return cls(
            api_name=str(meta["api_name"]), data_type=dt, value_type=value_type,
            json_type=str(meta.get("json_type") or ""), lookup_module=target, polymorphic=poly,
            decimal_place=meta.get("decimal_place") if isinstance(meta.get("decimal_place"), int) else None,
            read_only=bool(meta.get("read_only") or meta.get("field_read_only")),
            mandatory=bool(meta.get("system_mandatory")), unique=bool(meta.get("unique")),
            length=meta.get("length") if isinstance(meta.get("length"), int) else None, picklist=picks,
            searchable=bool(meta.get("searchable", True)), label=str(meta.get("field_label") or ""),
            custom=bool(meta.get("custom_field")), tooltip=_tooltip(meta.get("tooltip")),
            history_tracked=bool(meta.get("history_tracking_enabled") or meta.get("history_tracking")))

    @property
    def is_tag(self) -> bool:
        """Zoho's ``Tag`` field: text in the metadata, a list of ``{name, id, color_code}`` in records."""
        return self.api_name == "Tag" and self.json_type == "jsonarray"

    @property
    def records_only(self) -> bool:
        """Only the records API returns this field (COQL: "data type not supported"; Bulk Read refuses it)."""
        return self.data_type in RECORDS_ONLY_TYPES or self.is_tag

    @property
    def is_lookup(self) -> bool:
        return self.data_type in LOOKUP_TYPES

    @property
    def writable(self) -> bool:
        return not self.read_only and self.data_type not in ("formula", "rollup_summary", "autonumber")


def _tooltip(raw: Any) -> str:
    """``tooltip.value`` when the field has one (Zoho answers ``null`` or ``{"name", "value"}``)."""
    return str(raw.get("value") or "") if isinstance(raw, dict) else ""


def columns_for(f: FieldInfo, module: str) -> list[Column]:
    if f.data_type in EXCLUDED_TYPES:
        return []
    if f.is_lookup:
        cols = [Column(f"{f.api_name}_Id", f.api_name, "id", "lookup", pa.string()),
                Column(f"{f.api_name}_Name", f.api_name, "name", "lookup", pa.string())]
        if f.polymorphic or f.data_type == "multi_module_lookup":
            cols.append(Column(f"{f.api_name}_Module", f.api_name, "module", "lookup", pa.string()))
        return cols
    if f.is_tag:
        return [Column(f.api_name, f.api_name, "value", "tag", pa.list_(pa.string()))]
    vt = f.value_type
    t = scalar_arrow_type(vt, f.decimal_place)
    if t is None:
        key = f"{module}.{f.api_name}:{f.data_type}"
        if key not in _warned:
            _warned.add(key)
            msg = (f"field {module}.{f.api_name} has data_type {f.data_type!r} which the connector does not "
                   f"know; it is read as text")
            log.warning(msg)
        t = pa.string()
        vt = "text"
    kind = "json" if vt in JSON_TYPES else vt
    return [Column(f.api_name, f.api_name, "value", kind, t)]


@dataclass
class TableSchema:
    module: str
    fields: dict[str, FieldInfo]
    columns: list[Column]
    display_field: str | None = None
    generated_type: str = "default"
    excluded: list[str] = field(default_factory=list)
    #: the read APIs that serve this module (connector.schema.access)
    read_apis: frozenset[str] = ALL_APIS

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column | None:
        hit = self.by_name.get(name)
        if hit is None:
            low = name.lower()
            hit = next((c for c in self.columns if c.name.lower() == low), None)
        return hit

    def fields_for(self, column_names: list[str] | None) -> list[str]:
        """Zoho api_names needed to produce these columns (all when None), ``id`` excluded."""
        cols = self.columns if column_names is None else [self.by_name[c] for c in column_names]
        out: list[str] = []
        for c in cols:
            if c.field != "id" and c.field not in out:
                out.append(c.field)
        return out

    @cached_property
    def se_module_field(self) -> str | None:
        """The polymorphic lookup whose target module a record names in ``$se_module`` (``What_Id`` of Tasks,
        Calls and Events): the module's one lookup with several target modules; None with none or several."""
        found = [f.api_name for f in self.fields.values() if f.polymorphic and f.data_type == "lookup"]
        return found[0] if len(found) == 1 else None

    @cached_property
    def records_only_columns(self) -> frozenset[str]:
        """Columns only the records API returns (see :attr:`FieldInfo.records_only`)."""
        return frozenset(c.name for c in self.columns if c.field in self.fields and self.fields[c.field].records_only)

    def select(self, column_names: list[str] | None) -> pa.Schema:
        if column_names is None:
            return self.arrow_schema
        return pa.schema([pa.field(n, self.by_name[n].arrow) for n in column_names])


def build_table_schema(module: str, fields_meta: list[dict[str, Any]], *, display_field: str | None = None,
                       generated_type: str = "default") -> TableSchema:
    infos = [FieldInfo.from_meta(m) for m in fields_meta if m.get("api_name")]
    cols = [Column("id", "id", "value", "id", pa.string())]
    excluded = []
    for f in infos:
        if f.api_name == "id":
            continue
        got = columns_for(f, module)
        if not got:
            excluded.append(f.api_name)
        cols += got
    return TableSchema(module, {f.api_name: f for f in infos}, cols, display_field, generated_type, excluded,
                       read_apis(module, generated_type))
