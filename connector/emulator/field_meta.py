"""One field's metadata the way ``GET /settings/fields`` answers it (v8 ``fields.json``; issue 17).

Every key Zoho's v8 spec gives a field is present, with values derived from the
:class:`~.org.types.FieldDef` alone, so the answer is the same at every start.
Where the spec and Zoho's documented sample answer disagree we follow the sample
(``shared/zoho-api`` style, "sample over spec"):

- ``tooltip``, ``history_tracking``, ``crypt``, ``external``, ``private``,
  ``hipaa_compliance``, ``association_details`` and ``associated_module`` are
  ``null`` when the field has none (the spec marks them required objects; the
  sample ``getFields`` answer sends ``null``);
- ``lookup``, ``currency``, ``formula``, ``auto_number``, ``multiselectlookup``,
  ``multi_module_lookup``, ``rollup_summary`` and ``unique`` are ``{}`` when unused;
- ``quick_sequence_number`` is sent only on the fields of the quick-create form
  (the sample has it on ``Company`` and ``First_Name``, not on ``Owner``);
- the sample's extra keys (``history_tracking_enabled``, ``parent_field``,
  ``child_fields``, ``range``, ``public``, ``address``, ``global_picklist``,
  ``display_format``, ``display_format_properties``) are sent too.
``file_upolad_optionlist`` keeps the spelling of Zoho's spec.
"""

from __future__ import annotations

from typing import Any

from . import schema
from .schema import FieldDef, ModuleDef
from .value_types import STRING_TYPES, max_length

MODIFIED = "2024-03-01T09:00:00+05:30"
#: when the org's custom fields were added (the sample gives default fields ``created_time: null``)
CUSTOM_CREATED = "2023-02-14T11:20:00+05:30"

# Zoho's column lengths per data type where the field definition gives none (the sample: an owner
# lookup 120, a coordinate double 50); a field's own ``length`` wins.
LENGTHS: dict[str, int] = {
    "text": 255, "textarea": 2000, "email": 100, "phone": 30, "website": 255, "picklist": 120,
    "multiselectpicklist": 2000, "integer": 9, "bigint": 18, "double": 16, "currency": 16, "percent": 5,
    "boolean": 5, "date": 20, "datetime": 120, "lookup": 120, "ownerlookup": 120, "userlookup": 120,
    "multiuserlookup": 120, "multiselectlookup": 120, "multi_module_lookup": 120, "autonumber": 50,
    "formula": 16, "rollup_summary": 16, "fileupload": 255, "imageupload": 255, "profileimage": 255,
    "subform": 120, "layout": 120, "territories": 120, "event_reminder": 50, "ALARM": 255, "RRULE": 255,
    "multireminder": 255, "consent_lookup": 120, "linetax": 255, "module": 120, "time_range": 255,
    "address": 255, "participants": 255, "pricing_details": 255,
}
# The UI widget per data type (``ui_type``; the sample: text 1, first name 27, owner 8, coordinates 38).
UI_TYPES: dict[str, int] = {
    "text": 1, "textarea": 3, "email": 25, "phone": 33, "website": 21, "picklist": 2, "multiselectpicklist": 100,
    "integer": 32, "bigint": 515, "double": 38, "currency": 36, "percent": 39, "boolean": 301, "date": 24,
    "datetime": 333, "lookup": 133, "ownerlookup": 8, "userlookup": 209, "multiuserlookup": 765,
    "multiselectlookup": 766, "multi_module_lookup": 767, "autonumber": 111, "formula": 109, "rollup_summary": 120,
    "fileupload": 212, "imageupload": 211, "profileimage": 20, "subform": 500, "layout": 201, "territories": 777,
    "event_reminder": 219, "ALARM": 220, "RRULE": 221, "multireminder": 222, "consent_lookup": 784,
    "linetax": 532, "module": 213, "time_range": 778, "address": 776, "participants": 305, "pricing_details": 610,
}
#: types a user can change for many records at once (Mass Update)
MASS_UPDATE = frozenset({"picklist", "multiselectpicklist", "boolean", "date", "datetime", "ownerlookup", "lookup",
                         "currency", "integer", "text", "phone", "website"})
#: types the email parser can fill
PARSABLE = frozenset({"text", "textarea", "email", "phone", "website", "picklist", "integer", "currency", "double"})
NUMERIC = frozenset({"integer", "bigint", "double", "currency", "percent", "rollup_summary"})
#: Leads' fields carried over on conversion: lead field -> (Contacts, Deals, Accounts) targets
CONVERSION = {"First_Name": ("First_Name", None, None), "Last_Name": ("Last_Name", None, None),
              "Email": ("Email", None, None), "Phone": ("Phone", None, "Phone"),
              "Company": (None, None, "Account_Name"), "Lead_Source": ("Lead_Source", "Lead_Source", None),
              "Salutation": ("Salutation", None, None), "Mobile": ("Mobile", None, None),
              "Website": (None, None, "Website"), "Industry": (None, None, "Industry")}


def field_id(m: ModuleDef, i: int) -> str:
    """A field's id: unique in the org (its module's id slot and its place), stable across restarts."""
    return str(schema.ORG_PREFIX * 10**12 + 50 * 10**10 + m.id_slot * 10**5 + i)


def layout_ref(lid: int) -> dict[str, str]:
    name = schema.LAYOUTS[lid]
    return {"api_name": name.replace(" ", "_") + "__s", "name": name, "id": str(lid)}


def in_layout(m: ModuleDef, f: FieldDef, lid: int) -> bool:
    """Whether layout ``lid`` shows the field: the default layout shows all, the second (a partner intake form)
    leaves out the custom fields a partner does not fill."""
    return lid == schema.DEFAULT_LAYOUT_ID or not f.custom or f.mandatory


def length(f: FieldDef, dtype: str) -> int:
    """The field's own length, else the limit the emulator's writes enforce for text (so metadata and
    validation agree), else Zoho's column length for the type."""
    if f.length:
        return f.length
    if f.data_type in STRING_TYPES:
        return max_length(f)
    return LENGTHS.get(dtype, 255)


def column_name(m: ModuleDef, f: FieldDef, i: int) -> str:
    """The database column (sample: ``COMPANY``, ``FIRSTNAME``, ``SMOWNERID``, custom ``LEADCF69``)."""
    if f.api_name == "Owner":
        return "SMOWNERID"
    if f.custom:
        prefix = "".join(ch for ch in m.singular_label.upper() if ch.isalnum())[:12]
        return f"{prefix}CF{sum(1 for x in m.fields[:i + 1] if x.custom)}"
    return f.api_name.upper().replace("_", "")


def quick_create(m: ModuleDef, f: FieldDef) -> bool:
    return f.writable and (f.mandatory or f.api_name in ("First_Name", "Email", "Phone", m.display_field))


def name_part(m: ModuleDef, f: FieldDef) -> bool:
    """A part of a computed full name: shown in the record's ``Full_Name``, not on its own (sample: First_Name)."""
    return "Full_Name" in m.by_name and f.api_name in ("First_Name", "Last_Name", "Salutation")


def permission(m: ModuleDef, f: FieldDef, profile: str) -> str:
    """A profile's access: read-only fields are read-only for all; a sales rep (Standard) cannot change the
    credit terms of an account (custom currency fields)."""
    if not f.writable or f.data_type == "autonumber":
        return "read_only"
    if profile != "Administrator" and f.custom and f.data_type == "currency":
        return "read_only"
    return "read_write"


def tooltip(m: ModuleDef, f: FieldDef) -> dict[str, str] | None:
    """Custom fields carry the help text the admin wrote for them; default fields have none (sample)."""
    if not f.custom:
        return None
    return {"name": "Info Icon", "value": f"{f.field_label}: filled in by the {m.plural_label} team"[:255]}


def history(m: ModuleDef, f: FieldDef) -> dict[str, Any] | None:
    """Deals' Stage is tracked in the Stage History module (its history module and duration field)."""
    if m.api_name != "Deals" or f.api_name != "Stage":
        return None
    sh = schema.MODULES_BY_NAME["Stage_History"]
    return {"module": {"api_name": sh.api_name, "id": str(sh.module_id), "module_name": "DealHistory",
                       "display_label": sh.plural_label,
                       "layout": {"name": "Standard", "id": str(schema.DEFAULT_LAYOUT_ID)}},
            "duration_configured_field": {"api_name": "Stage_Duration", "id": field_id(
                sh, next(k for k, x in enumerate(sh.fields) if x.api_name == "Stage_Duration"))}}


def customizable(f: FieldDef) -> list[str]:
    if f.custom:
        return ["mandatory", "unique", "removal", "private_field", "tooltip", "hipaa_field", "add_to_other_layouts"]
    if f.data_type in ("ownerlookup", "userlookup"):
        return ["field_of_lookup"]
    if not f.writable:
        return []
    return ["mandatory", "removal", "add_to_other_layouts"]


def module_ref(api: str) -> dict[str, str]:
    return {"api_name": api, "id": str(schema.MODULES_BY_NAME[api].module_id)}


def field_json(m: ModuleDef, f: FieldDef, i: int) -> dict[str, Any]:
    dtype = f.meta_type or f.data_type
    fid = field_id(m, i)
    writable = f.writable
    view_only = not writable
    out: dict[str, Any] = {
        "id": fid,
        "api_name": f.api_name,
        "field_label": f.field_label,
        "display_label": f.field_label,
        "data_type": dtype,
        "json_type": f.json_type,
        "column_name": column_name(m, f, i),
        "length": length(f, dtype),
        "decimal_place": f.decimal_place,
        "system_mandatory": f.mandatory,
        "custom_field": f.custom,
        "read_only": f.read_only,
        "field_read_only": view_only,
        "visible": True,
        "type": "used",
        "created_source": "custom" if f.custom else "default",
        "created_time": CUSTOM_CREATED if f.custom else None,
        "modified_time": MODIFIED if f.custom else None,
        "display_type": -1,  # every field in Zoho's sample answer has -1
        "ui_type": UI_TYPES.get(dtype, 1),
        "show_type": 1,
        "category": 2 if f.custom else 0,
        "webhook": writable or f.api_name == "Owner",
        "blueprint_supported": writable and dtype in ("picklist", "text", "textarea", "date", "datetime",
                                                      "currency", "integer", "boolean", "lookup"),
        "virtual_field": f.data_type in ("formula", "rollup_summary") and not f.meta_type,
        "customizable_properties": customizable(f),
        "businesscard_supported": f.api_name in (m.display_field, "Owner", "Email", "Phone"),
        "searchable": f.searchable,
        "sortable": f.data_type not in schema.SINGLE_RECORD_ONLY_TYPES,
        "filterable": f.searchable,
        "available_in_user_layout": False,
        "display_field": f.api_name == m.display_field,
        "pick_list_values_sorted_lexically": False,
        "separator": False,
        "number_separator": dtype in NUMERIC,
        "enable_colour_code": False,
        "colour_code_enabled_by_system": False,
        "mass_update": writable and not f.unique and dtype in MASS_UPDATE and not name_part(m, f),
        "static_field": False,
        "_update_existing_records": False,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": None,
        "history_tracking_enabled": False,
        "history_tracking": None,
        "tooltip": tooltip(m, f),
        "view_type": {"view": not name_part(m, f), "edit": writable, "create": writable,
                      "quick_create": quick_create(m, f)},
        "operation_type": {"web_update": writable, "api_create": writable, "web_create": writable,
                           "api_update": writable},
        "email_parser": {"fields_update_supported": writable and dtype in PARSABLE and not f.unique,
                         "record_operations_supported": writable and dtype in PARSABLE},
        "profiles": [{"permission_type": permission(m, f, p), "name": p, "id": str(pid)}
                     for p, pid in schema.PROFILES.items()],
        "layout_associations": [layout_ref(lid) for lid in schema.LAYOUTS if in_layout(m, f, lid)],
        "refer_from_field": None,
        "convert_mapping": {"Contacts": None, "Deals": None, "Accounts": None},
        "unique": {"casesensitive": False} if f.unique else {},
        "crypt": None,
        "external": {"type": f.external, "show": True} if f.external else None,
        "private": None,
        "association_details": None,
        "associated_module": None,
        "sub_module": None,
        "sharing_properties": None,
        "allowed_modules": [],
        "additional_column": None,
        "common.picklist": None,
        "global_picklist": None,
        "lookup": {},
        "pick_list_values": [],
        "formula": {},
        "auto_number": {},
        "autonumber": None,
        "rollup_summary": {},
        "multiselectlookup": {},
        "multiuserlookup": {},
        "multi_module_lookup": {},
        "subform": None,
        "file_upolad_optionlist": [],
        "textarea": {"type": f.textarea_type} if f.textarea_type else None,
        "currency": {"rounding_option": "normal", "precision": f.decimal_place or 2} if dtype == "currency" else {},
        "parent_field": None,
        "child_fields": None,
        "range": None,
        "public": False,
        "address": None,
        "display_format": None,
        "display_format_properties": None,
    }
    if quick_create(m, f):
        qc = [x for x in m.fields if quick_create(m, x)]
        out["quick_sequence_number"] = str(qc.index(f) + 1)
    if m.api_name == "Leads" and f.api_name in CONVERSION:
        out["convert_mapping"] = dict(zip(("Contacts", "Deals", "Accounts"), CONVERSION[f.api_name], strict=True))
    tracked = history(m, f)
    if tracked is not None:
        out["history_tracking"] = tracked
        out["history_tracking_enabled"] = True
    _type_details(m, f, i, out)
    return out


def _type_details(m: ModuleDef, f: FieldDef, i: int, out: dict[str, Any]) -> None:
    """The keys that describe a field of one type: lookups, picklists, formulas, numbering, subforms."""
    if f.data_type in ("lookup", "multi_module_lookup") and (f.lookup or f.targets):
        target = schema.MODULES_BY_NAME.get(f.lookup or f.targets[0])
        if target:
            out["lookup"] = {"module": {"api_name": target.api_name, "id": str(target.module_id)},
                             "display_label": f.field_label, "api_name": f.api_name, "id": out["id"],
                             "query_details": {}, "revalidate_filter_during_edit": False}
            out["sharing_properties"] = {"share_preference_enabled": False, "share_permission": "read_only",
                                         "share_type": "none"}
        if f.targets:
            out["lookup"]["modules"] = [module_ref(t) for t in f.targets]
            out["allowed_modules"] = [module_ref(t) for t in f.targets]
        if f.data_type == "multi_module_lookup":
            out["multi_module_lookup"] = {"modules": [module_ref(t) for t in f.targets]} if f.targets else {}
    if f.picklist:
        out["pick_list_values"] = [
            {"display_value": v, "actual_value": v, "reference_value": v, "sequence_number": k + 1,
             "colour_code": None, "id": str(m.module_id + 50_000 + i * 100 + k), "type": "used"}
            for k, v in enumerate(f.picklist)]
    if f.formula and not f.meta_type:
        out["formula"] = {"return_type": f.formula[0], "expression": f.formula[1].replace("{now}", "Now()")}
    if f.auto_number:
        prefix, start, pad = f.auto_number
        out["auto_number"] = {"prefix": prefix, "suffix": "", "start_number": start}
        out["autonumber"] = {"prefix": prefix, "suffix": "", "start_number": start, "starting_number_length": pad}
    if f.rollup:
        out["rollup_summary"] = {"return_type": "currency", "based_on_module": {"api_name": f.rollup[0]},
                                 "related_list": {"api_name": f.rollup[0]},
                                 "rollup_based_on": {"api_name": f.rollup[2]}, "expression": {"function": "SUM"}}
    if f.data_type in ("fileupload", "imageupload"):
        out["file_upolad_optionlist"] = [{"actual_value": "desktop", "display_value": "Desktop"},
                                         {"actual_value": "zoho_workdrive", "display_value": "Zoho WorkDrive"}]
    if f.data_type == "address":
        out["address"] = {"type": "address"}
    if f.related_module:
        rm = schema.MODULES_BY_NAME[f.related_module]
        ref = {"api_name": rm.api_name, "id": str(rm.module_id)}
        if f.data_type == "subform":
            out["subform"] = {"module": ref}
            out["associated_module"] = ref
        else:
            key = "multiselectlookup" if f.data_type == "multiselectlookup" else "multiuserlookup"
            connected = next(x for x in rm.fields if x.data_type in ("lookup", "userlookup")
                             and x.lookup != m.api_name)
            out[key] = {"linking_module": ref, "linking_details": {"module": ref},
                        "connected_module": {"api_name": connected.lookup or "Users"},
                        "lookup_apiname": next(x.api_name for x in rm.fields if x.lookup == m.api_name),
                        "connectedlookup_apiname": connected.api_name, "api_name": f.api_name,
                        "display_label": f.field_label, "id": out["id"], "record_access": False,
                        "connectedfield_apiname": connected.api_name}
