"""Custom views: ``GET /settings/custom_views?module=X[/{id}]`` and the ``cvid`` of list, search and count.

Every module has Zoho's system views: "All", "My" (owned by the caller), "Recently Created" and
"Recently Modified" (the last 7 days of the virtual clock); Leads add "Converted Leads". A
view's criteria filter the records (``GET /{module}?cvid=``, ``/search?cvid=``,
``/actions/count?cvid=``); an unknown ``cvid`` is ``INVALID_DATA``. Views cannot be created
or edited here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .. import schema
from ..app import App
from ..field_meta import field_id
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..zoho_errors import ZohoError
from .common import API, MODIFIED, SETTINGS_READ, fixed_scopes, int_param

SCOPES = fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.custom_views.READ", "ZohoCRM.settings.custom_views.ALL")
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class View:
    id: int
    name: str
    system_name: str
    #: "owner", "created", "modified", "converted" or "" (every record)
    rule: str
    default: bool = False


def views(m: ModuleDef) -> list[View]:
    label = m.plural_label
    found = [View(m.module_id + 30_000, f"All {label}", "ALLVIEWS", "", default=True)]
    if m.field("Owner"):
        found.append(View(m.module_id + 30_002, f"My {label}", "MYVIEWS", "owner"))
    if m.field("Created_Time"):
        found.append(View(m.module_id + 30_004, f"Recently Created {label}", "RECENTLYCREATED", "created"))
    if m.field("Modified_Time"):
        found.append(View(m.module_id + 30_006, f"Recently Modified {label}", "RECENTLYMODIFIED", "modified"))
    if m.field("Converted__s"):
        found.append(View(m.module_id + 30_008, "Converted Leads", "CONVERTEDLEADS", "converted"))
    return found


def _criteria(v: View, app: App) -> dict[str, Any] | None:
    field = {"owner": "Owner", "created": "Created_Time", "modified": "Modified_Time",
             "converted": "Converted__s"}.get(v.rule)
    if field is None:
        return None
    comparator, value = {"owner": ("equal", "${CURRENTUSER}"), "created": ("between", "${LAST_7_DAYS}"),
                         "modified": ("between", "${LAST_7_DAYS}"), "converted": ("equal", True)}[v.rule]
    return {"field": {"api_name": field, "id": None}, "comparator": comparator, "value": value}


def view_filter(app: App, req: Request, m: ModuleDef, cvid: str) -> tuple[str, list[Any]]:
    """SQL (alias ``t``) and parameters of the view ``cvid`` of ``m``; INVALID_DATA when it is none of them."""
    v = next((x for x in views(m) if str(x.id) == cvid.strip()), None)
    if v is None:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "cvid"})
    since = app.clock.now_naive() - RECENT
    if v.rule == "owner":
        assert req.token is not None
        return "t.Owner = ?", [req.token.user_id]
    if v.rule == "created":
        return "t.Created_Time >= ?", [since]
    if v.rule == "modified":
        return "t.Modified_Time >= ?", [since]
    if v.rule == "converted":
        return "coalesce(t.Converted__s, false)", []
    return "", []


def view_json(m: ModuleDef, v: View, app: App) -> dict[str, Any]:
    admin = {"name": schema.ADMIN_USER.full_name, "id": str(schema.ADMIN_USER.id)}
    shown = [f for f in m.fields if f.data_type not in schema.SINGLE_RECORD_ONLY_TYPES][:8]
    return {"id": str(v.id), "name": v.name, "display_value": v.name, "system_name": v.system_name,
            "category": "public_views", "default": v.default, "system_defined": True, "locked": False,
            "favorite": None, "offline": False, "access_type": "public", "sort_by": None, "sort_order": None,
            "created_by": admin, "modified_by": admin, "created_time": MODIFIED, "modified_time": MODIFIED,
            "last_accessed_time": None, "module": {"api_name": m.api_name, "id": str(m.module_id)},
            "criteria": _criteria(v, app),
            "fields": [{"api_name": f.api_name, "id": field_id(m, m.fields.index(f))} for f in shown]}


def _module(app: App, req: Request) -> ModuleDef:
    name = req.param("module")
    if not name:
        raise ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        {"param_name": "module"})
    m = app.org.module(name)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
    return m


@route("GET", API + r"/settings/custom_views", scopes=SCOPES)
def list_views(app: App, req: Request) -> Response:
    m = _module(app, req)
    page = int_param(req, "page", 1, low=1)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    everything = views(m)
    chunk = everything[(page - 1) * per_page: page * per_page]
    if not chunk:
        return Response.empty(204)
    default = next(v for v in everything if v.default)
    return Response.json({"custom_views": [view_json(m, v, app) for v in chunk],
                          "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                   "more_records": page * per_page < len(everything), "default": str(default.id),
                                   "translation": {"public_views": "Public Views", "other_users_views":
                                                   "Other Users' Views", "shared_with_me": "Shared With Me",
                                                   "created_by_me": "Created By Me"}}})


@route("GET", API + r"/settings/custom_views/(?P<cvid>[0-9]+)", scopes=SCOPES)
def get_view(app: App, req: Request) -> Response:
    m = _module(app, req)
    v = next((x for x in views(m) if str(x.id) == req.path_params["cvid"]), None)
    if v is None:
        return Response.empty(204)
    return Response.json({"custom_views": [view_json(m, v, app)],
                          "info": {"per_page": 1, "count": 1, "page": 1, "more_records": False,
                                   "default": str(views(m)[0].id), "translation": None}})

