"""The facts of Zoho's v8 OpenAPI specs for the metadata answers, as our own table (issue 17).

Written from the specs of the public repository zoho/crm-oas (folder v8.0: ``fields.json``, ``modules.json``,
``layouts.json``, ``users.json``, ``org.json``, ``bulk_read.json``) and Zoho's sample answers next to them:
key names, JSON types, enums and which keys every answer carries. The spec text itself is not copied.

Notation: a key maps to its JSON types, ``|``-separated (``str int num bool obj arr null any``); a leading
``~`` marks a key an answer may leave out. :class:`K` adds an enum or the table of a nested object (for an
``arr``, the table of each item). "sample over spec" comments mark where we follow Zoho's documented sample
answers rather than the spec (keys the spec calls required objects that the samples answer ``null``, enums
that are one sample value, keys the samples add).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class K:
    types: str
    sub: dict[str, Any] | None = None
    enum: tuple[Any, ...] | None = None


Table = dict[str, "str | K"]

REF: Table = {"name": "str|null", "id": "str|null"}  # a user, profile or layout named by name and id
MODULE_REF: Table = {"api_name": "str|null", "id": "str|null", "~module_name": "str"}

# -- fields (GET /settings/fields, /settings/fields/{id}, inside /settings/modules/{api_name}) -------------
FIELD_PROFILE: Table = {"name": "str|null", "id": "str|null",
                        "permission_type": K("str|null", enum=("read_write", "read_only", "hidden"))}
PICK_LIST_VALUE: Table = {"display_value": "str", "actual_value": "str", "~reference_value": "str", "id": "str",
                          "sequence_number": "int", "colour_code": "str|null",
                          "type": K("str", enum=("used", "unused"))}
FIELD: Table = {
    "id": "str", "api_name": "str", "field_label": "str", "display_label": "str", "data_type": "str",
    "json_type": K("str", enum=("string", "integer", "double", "boolean", "jsonobject", "jsonarray")),
    "column_name": "str", "length": "int", "decimal_place": "int|null", "system_mandatory": "bool",
    "custom_field": "bool", "read_only": "bool", "field_read_only": "bool", "visible": "bool",
    "type": K("str", enum=("used", "unused")), "created_source": "str",
    "created_time": "str|null", "modified_time": "str|null",
    "display_type": "int", "ui_type": "int", "show_type": "int", "category": "int",
    "webhook": "bool", "blueprint_supported": "bool", "virtual_field": "bool",
    "customizable_properties": "arr", "businesscard_supported": "bool", "searchable": "bool", "sortable": "bool",
    "filterable": "bool", "available_in_user_layout": "bool", "display_field": "bool",
    "pick_list_values_sorted_lexically": "bool", "separator": "bool", "number_separator": "bool",
    "enable_colour_code": "bool", "colour_code_enabled_by_system": "bool|null", "mass_update": "bool",
    "static_field": "bool", "_update_existing_records": "bool", "hipaa_compliance_enabled": "bool|null",
    # sample over spec: only the quick-create form's fields carry it (Company and First_Name, not Owner)
    "~quick_sequence_number": "str",
    "view_type": K("obj", {"view": "bool|null", "edit": "bool|null", "quick_create": "bool|null",
                           "create": "bool|null"}),
    "operation_type": K("obj", {"web_update": "bool", "api_create": "bool", "web_create": "bool",
                                "api_update": "bool"}),
    "email_parser": K("obj", {"fields_update_supported": "bool|null", "record_operations_supported": "bool|null"}),
    "profiles": K("arr", FIELD_PROFILE),
    "layout_associations": K("arr", {"api_name": "str", "name": "str", "id": "str"}),
    "convert_mapping": K("obj", {"~Contacts": "str|null", "~Deals": "str|null", "~Accounts": "str|null"}),
    "pick_list_values": K("arr", PICK_LIST_VALUE),
    "file_upolad_optionlist": K("arr", {"actual_value": "str|null", "display_value": "str|null"}),  # Zoho's spelling
    "allowed_modules": K("arr", MODULE_REF),
    # sample over spec: the spec types these as required objects; the sample answers null where unused
    "tooltip": K("obj|null", {"name": K("str", enum=("Info Icon", "Static Text")), "value": "str"}),
    "history_tracking": K("obj|null", {"module": "obj", "duration_configured_field": "any"}),
    "crypt": "obj|null", "external": K("obj|null", {"show": "bool|null", "type": "str|null"}),
    "~private": "obj|null", "hipaa_compliance": "obj|null", "association_details": "obj|null",
    "associated_module": "obj|null", "sub_module": "obj|null", "sharing_properties": "obj|null",
    "refer_from_field": "obj|null", "textarea": "obj|null", "common.picklist": "obj|null",
    "autonumber": K("obj|null", {"starting_number_length": "int", "prefix": "str|null", "suffix": "str|null",
                                 "start_number": "int|null"}),
    "additional_column": "str|null",
    # {} when unused, as the sample answers
    "lookup": "obj|null", "unique": "obj|null", "currency": "obj|null", "formula": "obj|null",
    "auto_number": "obj|null", "rollup_summary": "obj|null", "multiselectlookup": "obj|null",
    "multiuserlookup": "obj|null", "multi_module_lookup": "obj|null", "subform": "obj|null",
    # sample over spec: keys the sample answer adds
    "history_tracking_enabled": "bool", "parent_field": "obj|null", "child_fields": "arr|null", "range": "obj|null",
    "public": "bool", "address": "obj|null", "global_picklist": "obj|null", "display_format": "str|null",
    "display_format_properties": "obj|null",
    # optional in the spec
    "~sequence_number": "int", "~default_value": "str",
}

# -- modules (GET /settings/modules, /settings/modules/{api_name}) -------------------------------------------
MODULE: Table = {
    "id": "str", "api_name": "str|null", "module_name": "str", "singular_label": "str|null",
    "plural_label": "str|null", "description": "str|null",
    # sample over spec: the spec's enum lists default, web, linking, custom; Zoho's subform guide (Kaizen #31)
    # finds a subform by "subform", and the v8 sample list answers static_subform, field_tracker, webtab_link
    "generated_type": K("str", enum=("default", "web", "linking", "custom", "subform", "static_subform",
                                     "field_tracker", "webtab_link")),
    "api_supported": "bool", "creatable": "bool", "editable": "bool", "deletable": "bool", "viewable": "bool",
    "convertable": "bool", "quick_create": "bool", "show_as_tab": "bool", "visible": "bool", "visibility": "int",
    "sequence_number": "int", "recycle_bin_on_delete": "bool", "common.search_supported": "bool",
    "inventory_template_supported": "bool", "presence_sub_menu": "bool", "triggers_supported": "bool",
    "chart_view": "bool", "isBlueprintSupported": "bool", "emailTemplate_support": "bool",
    "email_parser_supported": "bool", "filter_supported": "bool", "web_link": "str|null", "feeds_required": "bool",
    "scoring_supported": "bool", "webform_supported": "bool", "chart_view_supported": "bool",
    "profile_count": "int", "business_card_field_limit": "int", "track_current_data": "bool",
    "arguments": K("arr", {"name": "str", "value": "str"}),
    # sample over spec: Home and the modules no API serves have modified_by null in the sample list
    "modified_by": K("obj|null", REF), "modified_time": "str|null",
    "profiles": K("arr", REF), "parent_module": "obj|null",
    "activity_badge": K("str|null", enum=("Enabled", "Disabled")),
    "$field_states": "arr", "business_card_fields": "arr", "per_page": "int|null", "$properties": "arr",
    "$on_demand_properties": "arr", "search_layout_fields": "arr", "kanban_view_supported": "bool|null",
    "kanban_view": "bool|null", "filter_status": "bool|null", "display_field": "obj|null",
    "lookup_field_properties": K("obj", {"fields": K("arr", {"sequence_number": "int|null", "api_name": "str|null",
                                                             "id": "str|null"})}),
    "related_list_properties": K("obj", {"sort_by": "any", "fields": "arr", "sort_order": "str|null"}),
    "~has_more_profiles": "bool", "~sub_menu_available": "bool", "~status": "str", "~territory": "obj",
    "~static_subform_properties": "obj",
    # sample over spec: keys the sample list adds to every module
    "access_type": "str", "private_profile": "obj|null", "global_search_supported": "bool",
    "actual_singular_label": "str", "actual_plural_label": "str", "lookupable": "bool",
    "public_fields_configured": "bool",
}
#: what GET /settings/modules/{api_name} adds (sample over spec: the list carries none of these, though the
#: spec shares one schema between the list and one module)
ONE_MODULE: Table = {
    **MODULE,
    "fields": K("arr", FIELD), "layouts": K("arr", {"id": "str", "name": "str"}), "related_lists": "arr",
    "custom_view": "obj|null", "zia_view": "bool|null", "default_mapping_fields": "arr",
    "layout_associations": "arr",
}

# -- layouts (GET /settings/layouts, /settings/layouts/{id}) ---------------------------------------------------
SECTION_FIELD: Table = {**{k: v for k, v in FIELD.items() if k not in ("~sequence_number", "~default_value")},
                        "required": "bool|null", "validation_rule": "obj|null", "default_value": "any",
                        "sequence_number": "int|null", "section_id": "int|null", "static_values": "arr",
                        "_delete": "obj|null"}
SECTION: Table = {
    "id": "str|null", "name": "str|null", "display_label": "str|null", "api_name": "str|null",
    "sequence_number": "int|null", "column_count": "int|null", "isSubformSection": "bool|null",
    "tab_traversal": "str|null", "generated_type": "str|null", "type": "str|null",
    "fields": K("arr", SECTION_FIELD),
    # a section without a tooltip answers it null (no layouts sample; as the field samples answer)
    "properties": K("obj", {"reorder_rows": "bool|null", "maximum_rows": "int|null",
                            "tooltip": K("obj|null", {"name": K("str", enum=("Info Icon",)), "value": "str"})}),
    "_delete": "obj|null",  # a key of the update request: null in an answer
}
LAYOUT: Table = {
    "id": "str|null", "name": "str|null", "display_label": "str|null", "~api_name": "str", "~display_type": "int",
    "status": "str|null", "visible": "bool|null", "source": "str|null", "mode": "str|null",
    "generated_type": "str|null", "show_business_card": "bool|null", "has_more_profiles": "bool|null",
    "created_time": "str|null", "modified_time": "str|null",
    "created_by": K("obj", REF), "modified_by": K("obj", REF),
    "created_for": "obj|null",  # no sample answer; null when the layout is for no one in particular
    "subform_properties": K("obj", {"pinned_column": "bool|null"}),
    "convert_mapping": K("obj", {"Contacts": "obj|null", "Deals": "obj|null", "Accounts": "obj|null",
                                 "Invoices": "obj|null", "SalesOrders": "obj|null"}),
    "profiles": K("arr", {"default": "bool|null", "name": "str|null", "id": "str|null",
                          "_default_view": K("obj", {"name": "str|null", "id": "str|null", "type": "str|null"})}),
    "actions_allowed": K("obj", {"edit": "bool|null", "rename": "bool|null", "clone": "bool|null",
                                 "downgrade": "bool|null", "delete": "bool|null", "deactivate": "bool|null",
                                 "set_layout_permissions": "bool|null"}),
    "sections": K("arr", SECTION),
}

# -- users (GET /users, /users/{id}) ---------------------------------------------------------------------------
# The spec marks no user key required; the keys of Zoho's two sample answers are required here.
USER: Table = {
    "id": "str|null", "zuid": "str|null", "first_name": "str", "last_name": "str|null", "full_name": "str",
    "alias": "str|null", "email": "str", "status": "str", "status_reason__s": "str|null", "confirm": "bool",
    "type__s": "str", "role": K("obj", {"name": "str", "id": "str"}), "profile": K("obj", {"name": "str", "id": "str"}),
    "Reporting_To": K("obj|null", {"name": "str", "id": "str|null", "~email": "str"}),
    "locale": "str|null", "date_format": "str|null",  # sample over spec: the spec's one-value enum is a sample
    "decimal_separator": K("str|null", enum=("Comma", "Period")), "phone": "str|null", "microsoft": "bool",
    "sandboxDeveloper": "bool", "personal_account": "bool",
    "$current_shift": "obj|null", "$next_shift": "obj|null", "$shift_effective_from": "obj|null",
    "customize_info": K("obj", {"notes_desc": "any", "show_right_panel": "any", "bc_view": "any",
                                "unpin_recent_item": "any", "show_home": "bool|null",
                                "show_detail_view": "bool|null", "~show_left_panel": "bool|null"}),
    "theme": K("obj", {"normal_tab": K("obj", {"font_color": "str|null", "background": "str|null"}),
                       "selected_tab": K("obj", {"font_color": "str|null", "background": "str|null"}),
                       "new_background": "str|null", "background": "str|null", "screen": "str|null", "type": "str"}),
    "created_by": K("obj", {"name": "str", "id": "str|null", "~email": "str"}), "created_time": "str",
    # the spec's shape (the samples show name and id only)
    "Modified_By": K("obj", {"name": "str|null", "id": "str|null", "first_name": "str|null",
                             "last_name": "str|null"}),
    "Modified_Time": "str",
    # in the spec, not in the samples
    "~country": "str|null", "~language": "str", "~state": "str|null", "~fax": "str|null", "~country_locale": "str",
    "~zip": "str|null", "~time_format": K("str|null", enum=("HH:mm", "hh:mm a")), "~offset": "int",
    "~dob": "str|null", "~city": "str|null", "~signature": "str|null", "~sort_order_preference__s": "str",
    "~category": "str", "~number_separator": "str|null",  # the spec's one-value enum is a sample value
    # sample over spec: the zone's name (metadata-and-types.md section 4); the spec types it an object
    "~time_zone": "str|null",
    "~mobile": "str|null", "~Currency": "str|null", "~website": "str|null", "~street": "str|null",
    "~Isonline": "bool", "~name_format__s": K("str|null", enum=(
        "Salutation,First Name,Last Name", "Saluation,Last Name,First Name", "First Name,Last Name,Saluation")),
    "~default_tab_group": "str", "~sort_order_preference": "str",
}
USERS_INFO: Table = {"per_page": "int|null", "count": "int|null", "page": "int|null", "more_records": "bool|null"}

# -- org (GET /org) --------------------------------------------------------------------------------------------
ORG: Table = {
    "id": "str", "company_name": "str", "alias": "str|null", "primary_email": "str", "primary_zuid": "str",
    "zgid": "str", "ezgid": "str", "zia_zgid": "int", "zia_portal_id": "str|null", "domain_name": "str",
    "time_zone": "str", "currency": "str", "currency_symbol": "str", "iso_code": "str", "currency_locale": "str",
    "country_code": "str", "country": "str", "state": "str|null", "city": "str|null", "street": "str|null",
    "zip": "str|null", "phone": "str", "mobile": "str|null", "fax": "str|null", "~website": "str",
    "~employee_count": "str", "description": "str|null", "photo_id": "str|null", "call_icon": "str",
    "mc_status": "bool", "gapps_enabled": "bool", "translation_enabled": "bool", "hipaa_compliance_enabled": "bool",
    "lite_users_enabled": "bool", "privacy_settings": "bool", "deletable_org_account": "bool",
    "oauth_presence": "bool", "max_per_page": "int", "~created_time": "str",
    # sample over spec: Zoho's docs answer production/sandbox/developer; the spec's enum capitalises them
    "~type": K("str", enum=("production", "sandbox", "developer", "bigin")),
    "license_details": K("obj", {"paid_expiry": "str", "users_license_purchased": "int", "trial_type": "str|null",
                                 "trial_expiry": "str|null", "paid": "bool", "paid_type": "str",
                                 "trial_action": "str"}),
    "hierarchy_preferences": K("obj", {"type": K("str", enum=("Role_Hierarchy", "Reporting_To_Hierarchy")),
                                       "strictly_reporting": "bool"}),
    "checkin_preferences": K("obj", {"restricted_event_types": "str|null"}),
}

# -- bulk read job status (GET /crm/bulk/v8/read/{job_id}) ------------------------------------------------------
BULK_RESULT: Table = {
    "page": "int", "count": "int", "download_url": "str", "per_page": "int", "more_records": "bool",
    # sample over spec: Zoho's v8 sample of a completed last page has no next_page_token; a page with more
    # records after it carries the token (v7 sample)
    "~next_page_token": "str",
}
BULK_JOB: Table = {
    "id": "str", "operation": "str", "state": K("str", enum=("ADDED", "IN PROGRESS", "COMPLETED", "FAILURE")),
    # sample over spec: the samples' query carries module and page; cvid, fields and criteria only when asked
    "query": K("obj", {"module": K("obj", MODULE_REF), "page": "int|null", "~cvid": "str|null", "~fields": "arr",
                       "~criteria": "obj", "~file_type": K("str", enum=("ics",)), "~page_token": "str"}),
    "created_by": K("obj", REF), "created_time": "str",
    "file_type": K("str", enum=("csv", "ics")),  # the spec's enum leaves out ics (Events' calendar export)
    "~result": "obj", "~callback": "obj",  # result: see BULK_RESULT (COMPLETED) and the FAILURE shape
}
