"""Field and module definitions: the vocabulary every module family is written in.

``FieldDef`` and ``ModuleDef`` describe a Zoho field and module the way
``/settings/fields`` and ``/settings/modules`` do, plus what the emulator needs
to store, generate and serve them (generator hints, id slots, capabilities).
Every ``data_type`` listed in ``shared/zoho-api/metadata-and-types.md`` section
5 appears on at least one field (``ALL_DATA_TYPES`` lists them and a test checks
the claim).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

ORG_PREFIX = 5843104  # the leading digits of every id in the org (Zoho ids are 18-19 digits)

# json_type per data_type (metadata-and-types.md section 5).
JSON_TYPES: dict[str, str] = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "multiselectpicklist": "jsonarray",
    "integer": "integer", "bigint": "string", "double": "double", "currency": "double",
    "percent": "double", "boolean": "boolean", "date": "string", "datetime": "string",
    "lookup": "jsonobject", "ownerlookup": "jsonobject", "userlookup": "jsonobject",
    "multiuserlookup": "jsonarray", "multiselectlookup": "jsonarray",
    "multi_module_lookup": "jsonobject", "autonumber": "string", "formula": "string",
    "rollup_summary": "double", "fileupload": "jsonarray", "imageupload": "jsonarray",
    "profileimage": "string", "subform": "jsonarray", "layout": "jsonobject",
    "territories": "jsonarray", "event_reminder": "string", "ALARM": "jsonobject",
    "RRULE": "jsonobject", "multireminder": "jsonarray", "consent_lookup": "jsonobject",
    "linetax": "jsonarray", "module": "jsonobject", "time_range": "jsonarray",
    "address": "jsonobject",
    # issue 13: Events' participants and price books' pricing tiers (data type names unconfirmed:
    # the SDK recognises these two fields by api name, not by type)
    "participants": "jsonarray", "pricing_details": "jsonarray",
}
ALL_DATA_TYPES = frozenset(JSON_TYPES)

# Types whose value is kept as a JSON document in the store (shape as Zoho sends it).
JSON_DOCUMENT_TYPES = frozenset({
    "fileupload", "imageupload", "territories", "ALARM", "RRULE", "multireminder",
    "consent_lookup", "linetax", "module", "time_range", "address", "participants", "pricing_details",
})
# Types never returned by the list APIs, only by GET /{module}/{id} (records.md section 1).
SINGLE_RECORD_ONLY_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup"})
# Types Bulk Read does not export (bulk-read.md section 4: subforms and multi-select lookups are
# exported through their own modules; file and image uploads are not exported). The reference
# leaves the JSON-shaped types unconfirmed; the emulator exports them as their JSON text.
NOT_EXPORTED_TYPES = frozenset({
    "subform", "multiselectlookup", "multiuserlookup", "fileupload", "imageupload",
    "participants",  # Events' participants: not in COQL (search-and-coql.md B.4), nor bulk (unconfirmed)
})
USER_LOOKUP_TYPES = frozenset({"ownerlookup", "userlookup"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup", "layout"})


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    data_type: str
    label: str = ""
    length: int | None = None
    mandatory: bool = False
    custom: bool = False
    read_only: bool = False
    unique: bool = False
    #: target module api_name of a lookup; "Users" for owner/user lookups
    lookup: str | None = None
    #: allowed values of a picklist / multiselectpicklist
    picklist: tuple[str, ...] = ()
    decimal_place: int | None = None
    #: formula: (return_type, DuckDB SQL expression over the module's columns; ``{now}`` is the clock)
    formula: tuple[str, str] | None = None
    #: rollup_summary: (child module, child lookup field, child value field) summed per parent
    rollup: tuple[str, str, str] | None = None
    #: autonumber: (prefix, first number, zero padding)
    auto_number: tuple[str, int, int] | None = None
    #: subform: the subform storage module; multiselectlookup/multiuserlookup: the linking module
    related_module: str | None = None
    textarea_type: str | None = None
    searchable: bool = True
    #: hint for the generator ("first_name", "company", "zip", ...)
    gen: str = ""
    #: fraction of records left empty by the generator
    null_rate: float = 0.0
    #: polymorphic lookup targets (What_Id on Tasks)
    targets: tuple[str, ...] = ()
    #: external-ID field: "org" or "user" (metadata ``external.type``); ``X-EXTERNAL`` names it
    external: str | None = None
    #: a polymorphic lookup read as ``{"module": {...}, "name", "id"}`` (Notes' and Attachments'
    #: ``Parent_Id``) rather than ``{"name", "id"}`` plus the record's ``$se_module``
    module_in_value: bool = False
    #: the lookup names the record that owns this one: deleting the target deletes this record
    #: too (notes and attachments of a deleted record go with it) instead of clearing the lookup
    cascade: bool = False
    #: a value Zoho computes that the emulator computes with a formula: the data type metadata reports
    #: (an inventory record's ``Sub_Total`` is a read-only ``currency``)
    meta_type: str | None = None
    #: columns of the looked-up record added to the lookup's value (a line item's ``Product_Name``
    #: carries the product's ``Product_Code``)
    lookup_extra: tuple[str, ...] = ()
    #: set when the record is created, ignored on update (a note stays on its parent: "you can update
    #: only two fields of a note: Note_Title and Note_Content")
    create_only: bool = False
    #: a value kept outside the module's table and computed when read ("tags": the record's tags)
    virtual: str | None = None

    @property
    def json_type(self) -> str:
        if self.virtual == "tags":
            return "jsonarray"
        if self.meta_type:
            return JSON_TYPES[self.meta_type]
        if self.data_type == "formula" and self.formula:
            return JSON_TYPES.get(self.formula[0], "string")
        return JSON_TYPES[self.data_type]

    @property
    def field_label(self) -> str:
        return self.label or self.api_name.replace("_", " ")

    @property
    def is_user_lookup(self) -> bool:
        return self.data_type in USER_LOOKUP_TYPES

    @property
    def writable(self) -> bool:
        return not self.read_only and self.data_type not in {
            "formula", "autonumber", "rollup_summary"}

    @property
    def value_type(self) -> str:
        """The data type values behave as (a formula behaves as its return type)."""
        if self.data_type == "formula" and self.formula:
            return self.formula[0]
        if self.data_type == "rollup_summary":
            return "currency"
        return self.data_type


@dataclass(frozen=True)
class ModuleDef:
    api_name: str
    module_id: int
    singular_label: str
    plural_label: str
    display_field: str
    fields: tuple[FieldDef, ...]
    generated_type: str = "default"
    #: share of ``--records`` this module gets
    share: float = 0.0
    #: two-digit slot inside generated ids, keeps ids unique across modules
    id_slot: int = 0
    duplicate_check_fields: tuple[str, ...] = ()
    api_supported: bool = True
    #: for subform / linking modules: the owning module
    parent_module: str | None = None
    creatable: bool = True
    #: expression for a computed display name (Full_Name)
    module_name: str = ""
    #: which APIs serve the module besides the records API (bulk-read.md section 4,
    #: bulk-write.md section 5, search-and-coql.md): Notes, for one, are neither bulk nor COQL
    bulk_read: bool = True
    bulk_write: bool = True
    coql: bool = True
    search: bool = True
    #: listed in /settings/modules and reachable by name; False for the tables behind relations that
    #: are no module in Zoho (campaign members)
    listed: bool = True
    #: served only as the related list of that module (Deals' Stage_History), rows written by Zoho
    related_list_of: str | None = None
    #: extra stored columns that are no field (``$file_id`` of an attachment ...): (name, DuckDB type)
    extra_columns: tuple[tuple[str, str], ...] = ()

    @cached_property
    def by_name(self) -> dict[str, FieldDef]:
        return {f.api_name: f for f in self.fields}

    @cached_property
    def unique_fields(self) -> tuple[FieldDef, ...]:
        """The fields whose values must be unique, in field order (checked for every record written)."""
        return tuple(f for f in self.fields if f.unique)

    @cached_property
    def required_fields(self) -> tuple[FieldDef, ...]:
        """The mandatory fields a client writes (not read-only), in field order."""
        return tuple(f for f in self.fields if f.mandatory and not f.read_only)

    @cached_property
    def _by_lower_name(self) -> dict[str, FieldDef]:
        out: dict[str, FieldDef] = {}
        for f in self.fields:
            out.setdefault(f.api_name.lower(), f)  # the first in field order, as a scan would find
        return out

    def field(self, api_name: str) -> FieldDef | None:
        hit = self.by_name.get(api_name)
        if hit is None:
            # Zoho treats field api names case-insensitively in most places.
            return self._by_lower_name.get(api_name.lower())
        return hit

    @property
    def mandatory_fields(self) -> list[str]:
        return [f.api_name for f in self.fields if f.mandatory]
