"""One module's metadata the way ``GET /settings/modules`` answers it (v8 ``modules.json``; issue 17).

Every key the v8 spec gives a module is present on every module, the four modules the API cannot use
(``api_supported: false``) included, plus the keys Zoho's sample answers add (``access_type``,
``global_search_supported``, ``lookupable``, ``actual_singular_label``...). Sample over spec:

- ``generated_type`` of a subform's storage module is ``"subform"``. The spec's enum lists only
  ``default, web, linking, custom``, but Zoho's own guide to the subform API (Kaizen #31, "look for the
  value of the key generated_type as subform" in Get Modules) says a subform module is found by that value,
  and the v8 sample list itself carries values outside the enum (``static_subform``, ``field_tracker``,
  ``webtab_link``). Like the sample's subform module, ours has ``visibility: 2`` and is no tab.
- the list carries no ``fields``, ``layouts`` nor ``related_lists`` (the sample list has none; the spec
  shares one schema between list and one module); ``GET /settings/modules/{api_name}`` adds them.
- ``display_field`` stays ``{"api_name": ...}`` as the spec types it (the one-module sample shows a bare
  name; the connector's catalog reads the object).
"""

from __future__ import annotations

from typing import Any

from . import schema
from .field_meta import field_id
from .schema import ModuleDef

MODIFIED = "2024-03-01T09:00:00+05:30"
RECORD_MODULE_TYPES = ("default", "custom")
INVENTORY = frozenset({"Quotes", "Sales_Orders", "Purchase_Orders", "Invoices"})
SCORED = frozenset({"Leads", "Contacts", "Accounts", "Deals"})
WEBFORMS = frozenset({"Leads", "Contacts", "Cases", "Projects"})
#: the record properties ($-keys) a record of a module with the API may carry
PROPERTIES = ("$approval_state", "$currency_symbol", "$review", "$review_process", "$approval", "$in_merge",
              "$process_flow", "$orchestration", "$stop_processing", "$layout_id", "$editable", "$field_states",
              "$locked_for_me", "$sharing_permission")
#: fields shown first wherever a record is summed up (lookup pop-up, search results, business card)
SUMMARY = ("Email", "Phone", "Account_Name", "Company", "Stage", "Amount", "Lead_Source", "Status", "Owner")


def _admin() -> dict[str, str]:
    u = schema.ADMIN_USER
    return {"name": u.full_name, "id": str(u.id)}


def base_module(api: str, mid: int, singular: str, plural: str, seq: int) -> dict[str, Any]:
    """A module no API serves (Home, Reports...): every key, every capability off (the sample's Home)."""
    return {
        "id": str(mid), "api_name": api, "module_name": api, "singular_label": singular, "plural_label": plural,
        "actual_singular_label": singular, "actual_plural_label": plural, "description": None,
        "generated_type": "default", "api_supported": False, "status": "visible", "visible": True, "visibility": 1,
        "sequence_number": seq, "show_as_tab": True, "viewable": True, "creatable": False, "editable": False,
        "deletable": False, "convertable": False, "quick_create": False, "recycle_bin_on_delete": False,
        "lookupable": False, "global_search_supported": False, "common.search_supported": False,
        "presence_sub_menu": False, "sub_menu_available": False, "has_more_profiles": False,
        "inventory_template_supported": False, "triggers_supported": False, "isBlueprintSupported": False,
        "emailTemplate_support": False, "email_parser_supported": False, "filter_supported": False,
        "filter_status": False, "feeds_required": False, "scoring_supported": False, "webform_supported": False,
        "chart_view": False, "chart_view_supported": False, "kanban_view": False, "kanban_view_supported": False,
        "track_current_data": False, "public_fields_configured": False, "access_type": "org_based",
        "private_profile": None, "activity_badge": None, "web_link": None, "arguments": [],
        "business_card_field_limit": 5, "business_card_fields": [], "search_layout_fields": [],
        "$field_states": [], "$properties": [], "$on_demand_properties": [],
        "lookup_field_properties": {"fields": []},
        "related_list_properties": {"sort_by": None, "fields": [], "sort_order": None},
        "modified_time": None, "modified_by": None, "parent_module": {}, "display_field": None,
        "per_page": None,
        "profiles": [{"name": "Administrator", "id": str(schema.PROFILES["Administrator"])}], "profile_count": 1,
    }


def summary_fields(m: ModuleDef) -> list[tuple[int, str]]:
    """(index, api name) of the display field and up to five summary fields, in that order."""
    names = [m.display_field] + [n for n in SUMMARY if n != m.display_field]
    return [(i, f.api_name) for n in names for i, f in enumerate(m.fields) if f.api_name == n][:6]


def module_json(m: ModuleDef, seq: int) -> dict[str, Any]:
    out = base_module(m.api_name, m.module_id, m.singular_label, m.plural_label, seq)
    record = m.generated_type in RECORD_MODULE_TYPES
    subform = m.generated_type == "subform"
    summary = summary_fields(m)
    has_email = any(f.data_type == "email" for f in m.fields)
    profiles = [{"name": p, "id": str(pid)} for p, pid in schema.PROFILES.items()]
    out.update({
        "generated_type": m.generated_type, "api_supported": m.api_supported, "creatable": m.creatable,
        "editable": True, "deletable": True, "convertable": m.api_name == "Leads", "quick_create": record,
        "show_as_tab": record, "visibility": 2 if subform else 1, "recycle_bin_on_delete": True,
        "lookupable": record, "global_search_supported": record, "common.search_supported": record,
        "presence_sub_menu": record, "sub_menu_available": record,
        "inventory_template_supported": m.api_name in INVENTORY, "triggers_supported": record,
        "isBlueprintSupported": record, "emailTemplate_support": record and has_email,
        "email_parser_supported": m.api_name in ("Leads", "Contacts", "Cases"), "filter_supported": record,
        "filter_status": record, "scoring_supported": m.api_name in SCORED, "webform_supported": m.api_name in WEBFORMS,
        "chart_view_supported": record, "kanban_view_supported": record,
        "public_fields_configured": m.api_name in ("Leads", "Contacts"),
        "activity_badge": ("Enabled" if m.api_name in SCORED else "Disabled") if record else None,
        "business_card_fields": [n for _, n in summary[1:]] if record else [],
        "search_layout_fields": [n for _, n in summary],
        "$properties": list(PROPERTIES) + (["$converted_detail"] if m.api_name == "Leads" else []),
        "$on_demand_properties": ["$blocked_reason"] if record else [],
        "$field_states": ["convert_scheduler"] if m.api_name == "Leads" else [],
        "lookup_field_properties": {"fields": [{"sequence_number": k + 1, "api_name": n, "id": field_id(m, i)}
                                               for k, (i, n) in enumerate(summary)]},
        "related_list_properties": {"sort_by": None, "fields": [n for _, n in summary], "sort_order": None},
        "modified_time": MODIFIED, "modified_by": _admin(), "display_field": {"api_name": m.display_field},
        "per_page": 50,  # the list view's page size in the UI (sample), not the API's 200
        "profiles": profiles, "profile_count": len(profiles),
        "parent_module": {"api_name": m.parent_module, "id": str(schema.MODULES_BY_NAME[m.parent_module].module_id)}
        if m.parent_module else {},
    })
    return out
