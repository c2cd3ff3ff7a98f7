"""``GET /settings/related_lists?module=X`` and ``/settings/related_lists/{id}`` (v8 ``related_lists.json``)."""

from __future__ import annotations

from typing import Any

from .. import schema
from ..app import App
from ..http import Request, Response, route
from ..org.related import RelatedList, related_lists
from ..schema import ModuleDef
from ..zoho_errors import ZohoError, required_param
from .common import API, SETTINGS_READ, fixed_scopes

SCOPES = fixed_scopes(*SETTINGS_READ, "ZohoCRM.settings.related_lists.READ", "ZohoCRM.settings.related_lists.ALL")


def related_list_json(parent: ModuleDef, rl: RelatedList) -> dict[str, Any]:
    shown = schema.MODULES_BY_NAME[rl.module]
    linking = schema.MODULES_BY_NAME[rl.linking] if rl.linking else None
    return {
        "id": str(rl.id), "sequence_number": str(rl.sequence_number), "display_label": rl.display_label,
        "api_name": rl.api_name, "module": {"api_name": shown.api_name, "id": str(shown.module_id)},
        "name": rl.api_name, "action": None, "href": f"{parent.api_name}/{{ENTITYID}}/{rl.api_name}",
        "type": "multiselectlookup" if rl.kind == "linking" else "default",
        "connectedmodule": rl.module if linking else None,
        "linkingmodule": linking.api_name if linking else None,
        "customize_sort": False, "customize_fields": False, "customize_display_label": False,
        "sort_by": None, "sort_order": None, "fields": None, "status": "visible",
    }


def _module(app: App, req: Request) -> ModuleDef:
    name = req.param("module")
    if not name:
        raise required_param("module")
    m = app.org.module(name)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
    return m


@route("GET", API + r"/settings/related_lists", scopes=SCOPES)
def list_related_lists(app: App, req: Request) -> Response:
    m = _module(app, req)
    lists = related_lists(app.org, m.api_name)
    if not lists:
        return Response.empty(204)
    return Response.json({"related_lists": [related_list_json(m, rl) for rl in lists]})


@route("GET", API + r"/settings/related_lists/(?P<rl_id>[0-9]+)", scopes=SCOPES)
def get_related_list(app: App, req: Request) -> Response:
    m = _module(app, req)
    rl = next((r for r in related_lists(app.org, m.api_name) if str(r.id) == req.path_params["rl_id"]), None)
    if rl is None:
        return Response.empty(204)
    return Response.json({"related_lists": [related_list_json(m, rl)]})
