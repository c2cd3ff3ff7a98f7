"""``GET /{module}/search`` and ``GET /{module}/actions/count`` (search-and-coql.md Part A, records.md 8).

Search reads a lagged index: ``query.base_relation(..., as_of=now - index_lag_s)``.
Records created within the lag are invisible; records updated within the lag
still match on (and show) their previous values; deleted records disappear at
once (the index drops them on delete; a documented choice, Zoho gives no
number for any of this).

Choices where the reference is silent:

* Results come in index order, which here is ``id`` ascending.
* ``word`` matches, case-insensitively, any searchable text-like field
  *containing* the word; letters, digits, spaces and ``. - _ @ ' &`` are allowed,
  anything else is ``INVALID_DATA``.
* ``email`` / ``phone`` match any email / phone field exactly (email without case).
* ``converted`` defaults to ``false`` on Leads as in the list API; ``approved=false``
  finds nothing (every emulated record is approved).
* ``actions/count`` without search parameters counts the live table (what the list
  API would page through, ``converted`` honoured); with ``criteria``/``email``/
  ``phone``/``word`` it counts what search would find (lagged, no 2,000 cap).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..app import App
from ..criteria import parse_criteria
from ..encoding import RecordReader, meta_keys, record_fields
from ..filters import Condition, Group, Node, compile_filter
from ..http import Request, Response, route
from ..query import Selection
from ..schema import ModuleDef
from ..zoho_errors import ZohoError, module_not_supported
from .common import API, MODULE, bool_param, converted_filter, get_module, int_param, scopes_for, split_fields
from .custom_views import view_filter

SEARCH_CAP = 2_000
SEARCH_PARAMS = ("criteria", "email", "phone", "word")
WORD_TYPES = frozenset({"text", "email", "phone", "website", "picklist", "autonumber"})
_WORD_EXTRA = set(" .-_@'&")


def _param(req: Request, name: str) -> str | None:
    v = req.param(name)
    return v if v is not None and v.strip() != "" else None


def search_filter(req: Request, m: ModuleDef, version: str) -> Node | None:
    """The filter of the first search input given (criteria > email > phone > word), or None."""
    criteria = _param(req, "criteria")
    if criteria is not None:
        return parse_criteria(criteria, m, version)
    email = _param(req, "email")
    if email is not None:
        return _any_field(m, ("email",), "equal", email.strip())
    phone = _param(req, "phone")
    if phone is not None:
        return _any_field(m, ("phone",), "equal", phone.strip())
    word = req.param("word")
    if word is not None:
        w = word.strip()
        if len(w) < 2 or not all(ch.isalnum() or ch in _WORD_EXTRA for ch in w):
            raise ZohoError(400, "INVALID_DATA", "the word given seems to be invalid",
                            {"param_name": "word", "reason": "at least 2 characters, no special characters"})
        return _any_field(m, tuple(WORD_TYPES), "contains", w)
    return None


def _any_field(m: ModuleDef, types: tuple[str, ...], op: str, value: str) -> Node:
    items: list[Node] = [Condition([f.api_name], op, value, case_insensitive=True)
                         for f in m.fields if f.searchable and f.value_type in types]
    return Group("or", items)  # an empty OR matches nothing


def _lag_cutoff(app: App) -> Any:
    lag = float(app.settings.index_lag_s or 0)
    if lag <= 0:
        return None
    return app.clock.now().replace(tzinfo=None) - timedelta(seconds=lag)


def _base_where(m: ModuleDef, req: Request) -> list[str]:
    where = []
    cf = converted_filter(m, bool_param(req, "converted", "false", ("true", "false", "both")))
    if cf:
        where.append(cf)
    if bool_param(req, "approved", "true", ("true", "false", "both")) == "false":
        where.append("FALSE")  # every emulated record is approved
    return where


@route("GET", API + "/" + MODULE + "/search", scopes=scopes_for("READ"))
def search_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    if not m.search:
        raise module_not_supported(m.api_name, resource_path_index=2)
    cvid = req.param("cvid")
    view_sql, view_params = view_filter(app, req, m, cvid) if cvid is not None else ("", [])
    node = search_filter(req, m, req.path_params["ver"])
    if node is None:
        raise ZohoError(400, "EXPECTED_PARAM_MISSING", "One of the expected parameter is missing",
                        {"param_names": list(SEARCH_PARAMS)})
    # v8 lists ``fields``; without it every list-able field comes back (as v7 does).
    names = split_fields(req, m, required=False)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    page = int_param(req, "page", 1, low=1)
    if page * per_page > SEARCH_CAP:
        raise ZohoError(400, "LIMIT_REACHED", "maximum response iteration limit reached", {"limit": str(SEARCH_CAP)})
    reader = RecordReader(app.store, m, app.clock, record_fields(m, names), as_of=_lag_cutoff(app))
    where = _base_where(m, req)
    sql, params = compile_filter(node, reader.page, m, app.clock)
    where.append(sql)
    if view_sql:
        where.append(view_sql)
        params += view_params
    rows = app.store.fetchall(reader.sql(" AND ".join(where), "t.id ASC", per_page + 1, (page - 1) * per_page),
                              params)
    more = len(rows) > per_page
    if not rows:
        return Response.empty(204)
    records = reader.decode(rows[:per_page])
    meta = meta_keys(m)
    for r in records:
        r.update(meta)
    req.records = len(records)
    return Response.json({"data": records,
                          "info": {"per_page": per_page, "count": len(records), "page": page, "more_records": more}})


@route("GET", API + "/" + MODULE + "/actions/count", scopes=scopes_for("READ"))
def count_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    given = [p for p in SEARCH_PARAMS if _param(req, p) is not None]
    if req.param("cvid") is not None:
        if given:
            raise ZohoError(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity while processing the request",
                            {"ambiguity_due_to": [{"api_name": "cvid", "json_path": "$.cvid"},
                                                  {"api_name": given[0], "json_path": f"$.{given[0]}"}]})
    cvid = req.param("cvid")
    view_sql, view_params = view_filter(app, req, m, cvid) if cvid is not None else ("", [])
    node = search_filter(req, m, req.path_params["ver"])
    if node is not None and not m.search:
        raise module_not_supported(m.api_name, resource_path_index=2)
    sel = Selection(m, app.clock.now_naive(), as_of=_lag_cutoff(app) if node is not None else None)
    where = _base_where(m, req)
    params: list[Any] = list(view_params)
    if view_sql:
        where.append(view_sql)
    if node is not None:
        sql, node_params = compile_filter(node, sel, m, app.clock)
        where.append(sql)
        params += node_params
    query = f"SELECT count(*) FROM {sel.from_clause()}" + (f" WHERE {' AND '.join(where)}" if where else "")
    row = app.store.fetchone(query, params)
    return Response.json({"count": int(row[0]) if row else 0})
