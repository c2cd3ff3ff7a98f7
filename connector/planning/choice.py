"""Which API reads a module: the one policy the planner and the sync source both ask.

The caller describes the read (:class:`ReadRequest`: sizes, which APIs can
take how much of the filter, what SQL asks on top); the policy prices the
candidates through the read strategies (:mod:`connector.readers.strategies`)
and returns the API and the reason EXPLAIN shows. In order:

1. a LIMIT of at most 2,000 rows an API can honour exactly: REST (no filter, no
   ORDER BY) or COQL (an exact filter and/or an ORDER BY it can sort by);
2. ``UseCOQL=true`` and a filter COQL can take: COQL;
3. no filter Zoho can apply: whichever of the list API and a Bulk Read job
   costs fewer credits for the module's rows and fields (unknown size: Bulk);
4. a selective equals/starts_with/IN that Search takes in full, estimated at
   most 2,000 rows and no dearer than COQL: Search;
5. estimated at most ``SELECTIVE`` rows: COQL;
6. otherwise Bulk (with its criteria), including when the size is unknown.

Two facts about the module and the columns narrow this (:mod:`connector.schema.access`):
an API that does not serve the module is never chosen (Notes: the records API
only), and a projection with columns only the records API returns (``Tag``, file
uploads, ``Participants``) scans through list pages — COQL and Bulk would need a
list call per 100 rows to fill them in.

A forced APIType is the caller's business (the planner notes what it loses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.readers.strategies import BULK, COQL, REST, SEARCH
from connector.schema.access import ALL_APIS, fallback_api, refusal_note

#: estimated result rows up to which a filtered read goes to COQL rather than a Bulk job
SELECTIVE = 5_000


@dataclass(frozen=True)
class ReadRequest:
    """One module read as the choice sees it."""

    module: str
    #: Zoho fields the read needs (the list API prices them in groups of 50)
    fields: int
    #: the module's record count; None when unknown (assumed large)
    total_rows: int | None
    #: a WHERE applies to this table
    filtered: bool = False
    #: estimated result rows for each API ("Search", "COQL", "Bulk") that can take part of the WHERE
    estimates: Mapping[str, int | None] = field(default_factory=dict)
    #: COQL takes the whole WHERE exactly (true without a WHERE)
    coql_exact: bool = True
    #: what Search takes holds an equality, IN or prefix: an index lookup
    search_selective: bool = False
    #: COQL takes conjuncts Search cannot, so it returns fewer rows
    search_takes_less: bool = False
    #: LIMIT (+ OFFSET) when this is the statement's only source; None otherwise
    limit: int | None = None
    #: the statement has no ORDER BY
    unordered: bool = True
    #: the ORDER BY keys are ones COQL sorts exactly like DuckDB
    coql_sorts: bool = False
    #: the APIs that serve the module (connector.schema.access)
    apis: frozenset[str] = ALL_APIS
    #: the read needs columns only the records API returns (COQL and Bulk fill them in by id)
    records_only: bool = False


def choose_api(req: ReadRequest, *, use_coql: bool = False) -> tuple[str, str]:
    """(API, why) for an Auto read."""
    api, why = _choose(req, use_coql=use_coql)
    if api not in req.apis:
        return fallback_api(req.apis, api), refusal_note(req.module, req.apis, api)
    return api, why


def _choose(req: ReadRequest, *, use_coql: bool = False) -> tuple[str, str]:
    limit = req.limit
    if limit is not None and limit <= COQL.limits.rows_per_call:
        if not req.unordered and req.coql_sorts and req.coql_exact:
            return "COQL", f"ORDER BY ... LIMIT {limit}: one sorted COQL call"
        if req.unordered and not req.filtered:
            return "REST", f"LIMIT {limit}: the first page(s) of the list API"
        if req.unordered and req.coql_exact:
            return "COQL", f"LIMIT {limit} with an exact COQL filter"
    pushable = set(req.estimates)
    if use_coql and "COQL" in pushable:
        return "COQL", "UseCOQL=true and the filter can be pushed to COQL"
    n = req.total_rows
    size = f"{n:,} rows" if n is not None else "unknown size"
    if not pushable:
        return _scan(req, size)
    est = req.estimates
    search_rows = est.get("Search")
    if "Search" in pushable and _search_fits(req, search_rows, est.get("COQL")):
        return "Search", (f"selective equals/starts_with/IN (~{search_rows:,} of {size}, "
                          f"<= {SEARCH.limits.reachable_rows:,})")
    coql_rows = est.get("COQL")
    if coql_rows is not None and coql_rows <= SELECTIVE:
        cap = SEARCH.limits.reachable_rows or 0
        why = "; cheaper than Search's 200-row pages" if "Search" in pushable and (search_rows or cap + 1) <= cap \
            else ""
        return "COQL", f"selective filter (~{coql_rows:,} of {size}){why}"
    bulk_rows = est.get("Bulk")
    shown = f"~{bulk_rows:,} of {size}" if bulk_rows is not None else size
    return "Bulk", f"large scan ({shown}); Bulk Read is the cheapest per row"


def _scan(req: ReadRequest, size: str) -> tuple[str, str]:
    """Every row: the list API's pages or a Bulk Read job, whichever costs fewer credits."""
    n = req.total_rows
    if req.records_only:
        return "REST", (f"every row ({size}) with columns only the records API returns (Tag, file uploads, "
                        "Participants): list pages, not Bulk plus a list call per 100 rows")
    rest, bulk = REST.cost(n, req.fields), BULK.cost(n, req.fields)
    if rest.credits is not None and bulk.credits is not None and rest.credits <= bulk.credits:
        return "REST", (f"small module ({size}) and no filter Zoho can apply: ~{rest.credits:,} credits of list "
                        f"pages vs {bulk.credits:,} for a Bulk Read job")
    kind = "large module" if n is not None else "module of unknown size"
    return "Bulk", f"{kind} ({size}) and no filter Zoho can apply"


def _search_fits(req: ReadRequest, rows: int | None, coql_rows: int | None) -> bool:
    if rows is None or rows > (SEARCH.limits.reachable_rows or 0):
        return False
    if req.search_takes_less:
        return False  # COQL can take more of the WHERE: it returns fewer rows
    search_credits = SEARCH.cost(rows, req.fields).credits or 0
    coql_credits = COQL.cost(coql_rows if coql_rows is not None else rows, req.fields).credits or 0
    # Ties go to Search (an index lookup); a big result is cheaper through COQL's 2,000-row pages.
    return req.search_selective and search_credits <= coql_credits + 1
