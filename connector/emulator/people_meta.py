"""The org and its users the way ``GET /org`` and ``GET /users`` answer them (v8 ``org.json``, ``users.json``;
issue 17).

Every key of the v8 spec, plus the keys Zoho's sample answers add (``type__s``, ``customize_info``'s
``show_left_panel``). Sample over spec, where they disagree:

- ``org.type`` is ``production``/``sandbox``/``developer`` as Zoho's docs show it (metadata-and-types.md
  section 3); the spec's enum spells them capitalised.
- a user's ``time_zone`` is the zone's name (``Asia/Kolkata``), as Zoho answers; the spec types it an object.
- the spec's one-value enums that are sample values, not closed sets (a user's ``date_format``
  ``MMM d, yyyy``, ``number_separator`` ``Space``) are not followed: the samples answer ``MM/dd/yyyy``.
- ``Modified_By`` carries ``first_name`` and ``last_name`` as well as ``name`` and ``id`` (the spec's shape;
  the samples show the two keys only) and ``GET /users/{id}`` carries ``info`` (the spec's; not in the
  sample): both are supersets of the samples, which a client reading the samples' keys still reads.
"""

from __future__ import annotations

from typing import Any

from . import schema
from .org.people import UserDef

CREATED = "2023-01-01T10:00:00+05:30"
MODIFIED = "2024-03-01T09:00:00+05:30"
#: a user's manager: the sales reps report to the first manager, the managers to the CEO
MANAGER_ROLE = {"Manager": "CEO", "Sales Rep": "Manager"}
IST_OFFSET_MS = 19_800_000  # Asia/Kolkata, the org's zone: +05:30


def user_ref(u: UserDef) -> dict[str, str]:
    return {"name": u.full_name, "id": str(u.id)}


def manager(u: UserDef) -> UserDef | None:
    role = MANAGER_ROLE.get(u.role)
    return next((x for x in schema.USERS if x.role == role and x.status == "active"), None) if role else None


def user_json(u: UserDef) -> dict[str, Any]:
    admin = schema.ADMIN_USER
    boss = manager(u)
    return {
        "id": str(u.id), "zuid": str(u.zuid), "first_name": u.first_name, "last_name": u.last_name,
        "full_name": u.full_name, "alias": None, "email": u.email, "status": u.status,
        "status_reason__s": "Left the company" if u.status == "disabled" else None, "confirm": True,
        "category": "regular_user", "type__s": "Regular User",
        "role": {"name": u.role, "id": str(schema.ROLES[u.role])},
        "profile": {"name": u.profile, "id": str(schema.PROFILES[u.profile])},
        "Reporting_To": {"name": boss.full_name, "id": str(boss.id)} if boss else None,
        "time_zone": schema.ORG.time_zone, "offset": IST_OFFSET_MS, "locale": "en_US", "language": "en_US",
        "country_locale": "en_US", "date_format": "MM/dd/yyyy", "time_format": "hh:mm a",
        "decimal_separator": "Period", "number_separator": "Comma", "Currency": schema.ORG.iso_code,
        "name_format__s": "Salutation,First Name,Last Name", "sort_order_preference__s": "First Name,Last Name",
        "sort_order_preference": "First Name,Last Name", "default_tab_group": "0",
        "phone": None, "mobile": None, "fax": None, "website": None, "dob": None, "signature": None,
        "street": None, "city": None, "state": None, "zip": None, "country": None,
        "microsoft": False, "sandboxDeveloper": False, "personal_account": False, "Isonline": False,
        "$current_shift": None, "$next_shift": None, "$shift_effective_from": None,
        "customize_info": {"notes_desc": None, "show_right_panel": None, "bc_view": None, "unpin_recent_item": None,
                           "show_home": False, "show_detail_view": True, "show_left_panel": True},
        "theme": {"normal_tab": {"font_color": "#FFFFFF", "background": "#222222"},
                  "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"},
                  "new_background": None, "background": "#F3F0EB", "screen": "fixed", "type": "default"},
        "created_by": user_ref(admin), "created_time": CREATED,
        "Modified_By": {**user_ref(admin), "first_name": admin.first_name, "last_name": admin.last_name},
        "Modified_Time": MODIFIED,
    }


def org_json(environment: str) -> dict[str, Any]:
    o = schema.ORG
    return {
        "id": str(o.id), "company_name": o.company_name, "alias": None, "primary_email": o.primary_email,
        "primary_zuid": str(schema.ADMIN_USER.zuid), "zgid": str(o.zgid), "ezgid": f"ez{o.zgid}",
        "zia_zgid": o.zgid, "zia_portal_id": None, "domain_name": o.domain_name, "time_zone": o.time_zone,
        "currency": "US Dollar - USD", "currency_symbol": "$", "iso_code": o.iso_code, "currency_locale": "en_US",
        "country_code": "US", "country": "United States", "state": "Massachusetts", "city": "Boston",
        "street": "1 Main St, Suite 5", "zip": "02134", "phone": "+1 617 555 0100", "mobile": None, "fax": None,
        "website": "https://acme.example", "employee_count": "120", "description": None, "photo_id": None,
        "call_icon": "", "mc_status": False, "gapps_enabled": False, "translation_enabled": True,
        "hipaa_compliance_enabled": False, "lite_users_enabled": False, "privacy_settings": False,
        "deletable_org_account": False, "oauth_presence": True,
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "checkin_preferences": {"restricted_event_types": None},
        "type": environment, "created_time": CREATED, "max_per_page": 200,
        "license_details": {"paid": True, "paid_type": o.edition, "paid_expiry": "2027-01-01T00:00:00+05:30",
                            "trial_type": None, "trial_expiry": None, "trial_action": "",
                            "users_license_purchased": o.users_licensed},
    }
