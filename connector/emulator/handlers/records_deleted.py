"""``GET /{module}/deleted``: records deleted recently (records.md section 7).

Deleted records sit in the recycle bin for 60 days (``type`` ``recycle``); their
ids stay listed as ``permanent`` for 120 days more (v7 docs). Costs 2 credits.
Nothing deleted after ``If-Modified-Since`` -> 304, as for the list call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..app import App
from ..http import Request, Response, route
from ..write_batch import user_ref
from ..zoho_errors import ZohoError
from .common import API, MODULE, get_module, int_param, scopes_for
from .write_common import header_time

RECYCLE_BIN_DAYS = 60  # records.md section 7: recycle bin keeps records 60 days...
PERMANENT_LIST_DAYS = 120  # ...and permanently deleted ids stay listed 120 more (v7 docs)


@route("GET", API + "/" + MODULE + "/deleted", scopes=scopes_for("READ"))
def deleted_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    kind = req.param("type") or "all"
    if kind not in ("all", "recycle", "permanent"):
        raise ZohoError(400, "PATTERN_NOT_MATCHED", "Please check whether the input values are correct",
                        {"param_name": "type"})
    page = int_param(req, "page", 1, low=1)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    since = header_time(req, "If-Modified-Since")
    req.credits = 2  # limits-and-errors.md section 2
    now = app.clock.now_naive()
    recycle_from = now - timedelta(days=RECYCLE_BIN_DAYS)
    kind_sql = "CASE WHEN deleted_time >= ? THEN 'recycle' ELSE 'permanent' END"
    where = ["module = ?", "deleted_time >= ?"]
    params: list[Any] = [recycle_from, m.api_name, recycle_from - timedelta(days=PERMANENT_LIST_DAYS)]
    if kind != "all":
        where.append(f"{kind_sql} = ?")
        params += [recycle_from, kind]
    if since is not None:
        where.append("deleted_time > ?")
        params.append(since)
    rows = app.store.fetchall(
        f"SELECT id, display_name, {kind_sql}, deleted_by, created_by, deleted_time FROM deleted_records "
        f"WHERE {' AND '.join(where)} ORDER BY deleted_time DESC, id DESC LIMIT ? OFFSET ?",
        [*params, per_page + 1, (page - 1) * per_page])
    if not rows:
        # Nothing deleted after If-Modified-Since -> 304, as for the list call (README fact 8).
        return Response.empty(304 if since is not None and page == 1 else 204)
    more = len(rows) > per_page
    data = [{"deleted_by": user_ref(r[3]) if r[3] else None, "id": str(r[0]), "display_name": r[1],
             "type": r[2], "created_by": user_ref(r[4]) if r[4] else None,
             "deleted_time": app.clock.render(r[5])} for r in rows[:per_page]]
    req.records = len(data)
    return Response.json({"data": data, "info": {"per_page": per_page, "count": len(data), "page": page,
                                                 "more_records": more}})
