"""The org's settings the SDK and connectors read: users count, one field or layout by id, roles,
profiles, territories and currencies (v8 ``users.json``, ``fields.json``, ``layouts.json``,
``roles.json``, ``profiles.json``, ``territories.json``, ``currencies.json``).

All are read-only here (the write operations of these families are not emulated). A field,
layout, role, profile, territory or currency id that does not exist answers 204, as the
specs list for their ``GET .../{id}``.
"""

from __future__ import annotations

from typing import Any

from .. import schema
from ..app import App
from ..http import Request, Response, route
from ..zoho_errors import ZohoError, required_param
from .common import API, MODIFIED, SETTINGS_READ, fixed_scopes, get_module, int_param
from .metadata import USER_TYPES, field_id, field_json, layout_json

CREATED = "2023-01-01T10:00:00+05:30"
USERS_READ = fixed_scopes("ZohoCRM.users.ALL", "ZohoCRM.users.READ")
ROLE_PARENT = {"CEO": None, "Manager": "CEO", "Sales Rep": "Manager"}
#: the territories records name in their Territories field (gen_fields "territories")
TERRITORIES = ((5843104000000501001, "EMEA", None), (5843104000000501003, "APAC", None),
               (5843104000000501005, "North America", None))
CURRENCIES = ((5843104000000502001, "USD", "US Dollar - USD", "$", "1.000000000", True),
              (5843104000000502003, "EUR", "Euro - EUR", "\u20ac", "0.920000000", False),
              (5843104000000502005, "INR", "Indian Rupee - INR", "\u20b9", "83.100000000", False))


def _admin() -> dict[str, str]:
    u = schema.ADMIN_USER
    return {"name": u.full_name, "id": str(u.id)}


def _stamps() -> dict[str, Any]:
    return {"created_by": _admin(), "created_time": CREATED, "modified_by": _admin(), "modified_time": MODIFIED}


@route("GET", API + r"/users/actions/count", scopes=USERS_READ)
def users_count(app: App, req: Request) -> Response:
    kind = req.param("type") or "AllUsers"
    if kind == "CurrentUser":
        return Response.json({"count": 1})
    if kind not in USER_TYPES:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": "type", "supported_values": sorted(USER_TYPES) + ["CurrentUser"]})
    return Response.json({"count": sum(1 for u in schema.USERS if USER_TYPES[kind](u))})


@route("GET", API + r"/settings/fields/(?P<field_id>[0-9]+)",
       scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.fields.READ", "ZohoCRM.settings.fields.ALL"))
def get_field(app: App, req: Request) -> Response:
    name = req.param("module")
    if not name:
        raise required_param("module")
    m = app.org.module(name)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {})  # fields.json
    for i, f in enumerate(m.fields):
        if field_id(m, i) == req.path_params["field_id"]:
            return Response.json({"fields": [field_json(m, f, i)]})
    return Response.empty(204)


@route("GET", API + r"/settings/layouts/(?P<layout_id>[0-9]+)",
       scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.layouts.READ"))
def get_layout(app: App, req: Request) -> Response:
    if not req.param("module"):
        raise required_param("module")
    m = get_module(app.org, req.param("module"))
    name = schema.LAYOUTS.get(int(req.path_params["layout_id"]))
    if name is None:
        return Response.empty(204)
    return Response.json({"layouts": [layout_json(m, int(req.path_params["layout_id"]), name)]})


def role_json(name: str) -> dict[str, Any]:
    parent = ROLE_PARENT[name]
    return {"display_label": name, "forecast_manager": None, "share_with_peers": name != "Sales Rep",
            "description": f"{name} of Acme", "id": str(schema.ROLES[name]), "name": name,
            "reporting_to": {"name": parent, "id": str(schema.ROLES[parent])} if parent else None,
            "admin_user": name == "CEO", "created_by__s": _admin(), "modified_by__s": _admin(),
            "created_time__s": CREATED, "modified_time__s": MODIFIED}


SETTINGS_SCOPES = fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.roles.READ", "ZohoCRM.settings.roles.ALL",
                               "ZohoCRM.settings.profiles.READ", "ZohoCRM.settings.profiles.ALL",
                               "ZohoCRM.settings.territories.READ", "ZohoCRM.settings.territories.ALL")


@route("GET", API + r"/settings/roles", scopes=SETTINGS_SCOPES)
def list_roles(app: App, req: Request) -> Response:
    return Response.json({"roles": [role_json(n) for n in schema.ROLES]})


@route("GET", API + r"/settings/roles/(?P<role_id>[0-9]+)", scopes=SETTINGS_SCOPES)
def get_role(app: App, req: Request) -> Response:
    name = next((n for n, rid in schema.ROLES.items() if str(rid) == req.path_params["role_id"]), None)
    return Response.json({"roles": [role_json(name)]}) if name else Response.empty(204)


def profile_json(name: str, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name, "display_label": name, "id": str(schema.PROFILES[name]), "default": name == "Standard",
        "custom": False, "type": "normal_profile", "permission_type": "crm", "category": False, "_delete": None,
        "description": "This profile has all the permissions." if name == "Administrator" else
        "This profile has all the permissions except administrative privileges.",
        "_default_view": {"type": "module", "name": "Home", "id": "5843104000000002171"}, **_stamps()}
    if detail:
        modules = [m for m in schema.ALL_MODULES if m.listed and m.generated_type in ("default", "custom")]
        out["permissions_details"] = [
            {"display_label": op.title(), "module": m.api_name, "name": f"Crm_Implied_{op.title()}_{m.api_name}",
             "id": str(m.module_id + 40_000 + k), "enabled": name == "Administrator" or op != "delete"}
            for m in modules for k, op in enumerate(("view", "create", "edit", "delete"))]
        out["sections"] = [{"name": "module_level_permission", "categories": [
            {"display_label": m.plural_label, "name": m.api_name, "module": m.api_name,
             "permissions_details": [str(m.module_id + 40_000 + k) for k in range(4)]} for m in modules]}]
    return out


@route("GET", API + r"/settings/profiles", scopes=SETTINGS_SCOPES)
def list_profiles(app: App, req: Request) -> Response:
    return Response.json({"profiles": [profile_json(n, False) for n in schema.PROFILES],
                          "info": {"license_limit": schema.ORG.users_licensed}})


@route("GET", API + r"/settings/profiles/(?P<profile_id>[0-9]+)", scopes=SETTINGS_SCOPES)
def get_profile(app: App, req: Request) -> Response:
    name = next((n for n, pid in schema.PROFILES.items() if str(pid) == req.path_params["profile_id"]), None)
    if name is None:
        return Response.empty(204)
    return Response.json({"profiles": [profile_json(name, True)], "info": {"license_limit": schema.ORG.users_licensed}})


def territory_json(tid: int, name: str, parent: int | None) -> dict[str, Any]:
    return {"id": str(tid), "name": name, "description": f"Sales territory {name}",
            "parent_id": str(parent) if parent else None, "reporting_to": None, "permission_type": "read_write_delete",
            "manager": _admin(), "account_rule_criteria": None, "deal_rule_criteria": None, **_stamps()}


@route("GET", API + r"/settings/territories", scopes=SETTINGS_SCOPES)
def list_territories(app: App, req: Request) -> Response:
    page = int_param(req, "page", 1, low=1)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    rows = [territory_json(*t) for t in TERRITORIES][(page - 1) * per_page: page * per_page]
    if not rows:
        return Response.empty(204)
    return Response.json({"territories": rows, "info": {"per_page": per_page, "count": len(rows), "page": page,
                                                        "more_records": page * per_page < len(TERRITORIES)}})


@route("GET", API + r"/settings/territories/(?P<territory_id>[0-9]+)", scopes=SETTINGS_SCOPES)
def get_territory(app: App, req: Request) -> Response:
    hit = next((t for t in TERRITORIES if str(t[0]) == req.path_params["territory_id"]), None)
    if hit is None:
        return Response.empty(204)
    return Response.json({"territories": [territory_json(*hit)],
                          "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}})


def currency_json(cid: int, iso: str, name: str, symbol: str, rate: str, base: bool) -> dict[str, Any]:
    return {"id": str(cid), "iso_code": iso, "name": name, "symbol": symbol, "exchange_rate": rate,
            "is_active": True, "is_base": base, "prefix_symbol": True,
            "format": {"decimal_separator": "Period", "thousand_separator": "Comma", "decimal_places": "2"},
            **_stamps()}


@route("GET", API + r"/org/currencies", scopes=fixed_scopes("ZohoCRM.settings.currencies.READ",
                                                            "ZohoCRM.settings.currencies.ALL", *SETTINGS_READ))
def list_currencies(app: App, req: Request) -> Response:
    return Response.json({"currencies": [currency_json(*c) for c in CURRENCIES]})


@route("GET", API + r"/org/currencies/(?P<currency_id>[0-9]+)",
       scopes=fixed_scopes("ZohoCRM.settings.currencies.READ", "ZohoCRM.settings.currencies.ALL", *SETTINGS_READ))
def get_currency(app: App, req: Request) -> Response:
    hit = next((c for c in CURRENCIES if str(c[0]) == req.path_params["currency_id"]), None)
    return Response.json({"currencies": [currency_json(*hit)]}) if hit else Response.empty(204)
