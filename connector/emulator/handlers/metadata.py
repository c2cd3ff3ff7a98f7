"""Metadata APIs: /org, /users, /settings/modules, /settings/fields, /settings/layouts.

A field's shape lives in :mod:`..field_meta` (``field_json`` and ``field_id`` are re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable

from .. import schema
from ..app import App
from ..field_meta import field_id, field_json, layout_ref
from ..http import Request, Response, route
from ..layout_meta import layout_json
from ..module_meta import base_module, module_json
from ..org.related import related_lists
from ..people_meta import org_json, user_json
from ..zoho_errors import ZohoError
from .common import API, SETTINGS_READ, fixed_scopes, get_module, int_param

__all__ = ["field_id", "field_json", "layout_json", "user_json"]



@route("GET", API + r"/settings/modules", scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.modules.READ",
                                                              "ZohoCRM.settings.modules.ALL"))
def list_modules(app: App, req: Request) -> Response:
    if req.headers.get("if-modified-since"):
        return Response.empty(304)  # metadata never changes in the emulator
    mods = [module_json(m, i + 1) for i, m in enumerate(app.org.listed)]
    mods += [base_module(api, mid, sing, plural, 100 + i)
             for i, (api, mid, sing, plural) in enumerate(schema.UNSUPPORTED_MODULES)]
    return Response.json({"modules": mods})


@route("GET", API + r"/settings/modules/(?P<module>[A-Za-z0-9_]+)",
       scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.modules.READ", "ZohoCRM.settings.modules.ALL"))
def get_module_meta(app: App, req: Request) -> Response:
    name = req.path_params["module"]
    m = next((x for x in app.org.listed if x.api_name == name or str(x.module_id) == name), None)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 4})
    body = module_json(m, app.org.listed.index(m) + 1)
    body["fields"] = [field_json(m, f, i) for i, f in enumerate(m.fields)]
    body["layouts"] = [{"id": str(lid), "name": n, "api_name": layout_ref(lid)["api_name"], "status": "active",
                        "visible": True} for lid, n in schema.LAYOUTS.items()]
    # both import this module: imported when called
    from .custom_views import view_json, views
    from .related_lists import related_list_json

    body["related_lists"] = [related_list_json(m, rl) for rl in related_lists(app.org, m.api_name)]
    shown = views(m)
    body["custom_view"] = view_json(m, shown[0], app) if shown else None  # the module's default view
    body["layout_associations"] = [layout_ref(lid) for lid in schema.LAYOUTS]
    body["zia_view"] = False
    body["default_mapping_fields"] = []
    return Response.json({"modules": [body]})


@route("GET", API + r"/settings/fields", scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.fields.READ",
                                                             "ZohoCRM.settings.fields.ALL"))
def list_fields(app: App, req: Request) -> Response:
    name = req.param("module")
    if not name:
        raise ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        {"param_name": "module", "param": "module"})
    m = app.org.module(name)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {})  # fields.json
    return Response.json({"fields": [field_json(m, f, i) for i, f in enumerate(m.fields)]})


@route("GET", API + r"/settings/layouts", scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.layouts.READ"))
def list_layouts(app: App, req: Request) -> Response:
    m = get_module(app.org, req.param("module"))
    return Response.json({"layouts": [layout_json(m, lid, name) for lid, name in schema.LAYOUTS.items()]})


@route("GET", API + r"/org", scopes=fixed_scopes("ZohoCRM.org.ALL", "ZohoCRM.org.READ"))
def org(app: App, req: Request) -> Response:
    return Response.json({"org": [org_json(app.settings.environment)]})


USER_TYPES: dict[str, Callable[[schema.UserDef], bool]] = {
    "AllUsers": lambda u: True, "ActiveUsers": lambda u: u.status == "active",
    "DeactiveUsers": lambda u: u.status == "disabled", "ConfirmedUsers": lambda u: True,
    "NotConfirmedUsers": lambda u: False, "DeletedUsers": lambda u: u.status == "deleted",
    "ActiveConfirmedUsers": lambda u: u.status == "active",
    "AdminUsers": lambda u: u.profile == "Administrator",
    "ActiveConfirmedAdmins": lambda u: u.profile == "Administrator" and u.status == "active",
}


@route("GET", API + r"/users", scopes=fixed_scopes("ZohoCRM.users.ALL", "ZohoCRM.users.READ"))
def users(app: App, req: Request) -> Response:
    kind = req.param("type", "AllUsers") or "AllUsers"
    if kind == "CurrentUser":
        assert req.token is not None
        selected = [schema.USERS_BY_ID[req.token.user_id]]
    elif kind in USER_TYPES:
        selected = [u for u in schema.USERS if USER_TYPES[kind](u)]
    else:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": "type", "supported_values": sorted(USER_TYPES) + ["CurrentUser"]})
    page = int_param(req, "page", 1, low=1)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    chunk = selected[(page - 1) * per_page: page * per_page]
    if not chunk:
        return Response.empty(204)
    return Response.json({"users": [user_json(u) for u in chunk],
                          "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                   "more_records": page * per_page < len(selected)}})


@route("GET", API + r"/users/(?P<uid>[0-9]+)", scopes=fixed_scopes("ZohoCRM.users.ALL", "ZohoCRM.users.READ"))
def user(app: App, req: Request) -> Response:
    u = schema.USERS_BY_ID.get(int(req.path_params["uid"]))
    if u is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": req.path_params["uid"]})
    # the spec's answer for one user carries ``info`` as the list's does (the sample leaves it out)
    return Response.json({"users": [user_json(u)],
                          "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}})
