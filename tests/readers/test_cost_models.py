"""Each read strategy's cost model against what its reader really spends on the emulator.

For every API over a few sizes (0 rows, a short page, the exact page edges
where the COQL reader makes one more call, several pages, a wide module whose
field groups the list API joins by ``?ids=``, an exact LIMIT, Search past its
2,000 cap), the model's calls and credits for the rows the read returned must
equal the emulator's meter (``/__emulator/stats``). Bulk Read status polls
depend on timing; they are counted apart and the rest must match exactly.
Polymorphic look-ups (which ids sit in which target module) are estimated:
within a quarter of the measured calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.config.config import ConnectionConfig
from connector.emulator import Emulator
from connector.model import Pushdown
from connector.planning.extras import extras_for
from connector.readers import BulkReader, reader_for
from connector.readers.base import Reader, ReaderContext
from connector.readers.strategies import Cost, strategy_for
from connector.readers.strategies.bulk import POLLS_PER_JOB
from connector.session import ZohoSession

from ..conftest import ZohoClient, org_fixture

org = org_fixture("An org sized for page edges: 7,000 Leads (two field groups), 2,300 Deals, 900 Tasks.",
                  records=3_000, seed=5, sizes={"Leads": 7_000, "Deals": 2_300, "Tasks": 900},
                  downloads_per_minute=100_000)


@pytest.fixture(scope="module")
def session(org: Emulator) -> Iterator[ZohoSession]:
    with ZohoSession(org.connection_string, backoff_base=0.02, backoff_cap=0.2) as s:
        for module in ("Leads", "Deals", "Tasks"):
            s.catalog.table(module)  # metadata read before anything is measured
        yield s


@pytest.fixture(scope="module")
def ids(org: Emulator) -> dict[str, list[str]]:
    client = ZohoClient(org)
    return {m: sorted((str(r["id"]) for r in client.export(m)), key=int) for m in ("Leads", "Deals")}


def reader(api: str, ctx: ReaderContext) -> Reader:
    return BulkReader(ctx, poll_initial=0.5) if api == "Bulk" else reader_for(api, ctx)


def measure(org: Emulator, session: ZohoSession, api: str, module: str, columns: list[str] | None,
            pd: Pushdown) -> tuple[int, dict[str, int], int]:
    """(rows returned, calls per emulator route, credits) of one read."""
    before = org.stats()
    ctx = session.reader_context()
    rows = sum(b.num_rows for b in reader(api, ctx).batches(module, columns, pd))
    after = org.stats()
    calls = {k: after["calls"].get(k, 0) - before["calls"].get(k, 0) for k in after["calls"]}
    return rows, {k: v for k, v in calls.items() if v}, after["credits_used"] - before["credits_used"]


def model(session: ZohoSession, api: str, module: str, columns: list[str] | None, rows: int,
          limit: int | None = None, **kw: Any) -> Cost:
    ts = session.catalog.table(module)
    cols = [c.name for c in ts.columns] if columns is None else columns
    extras = extras_for(ts, cols, session.config)
    if "coql_rows" in kw:
        from dataclasses import replace
        extras = replace(extras, coql_rows=kw.pop("coql_rows"))
    fields = len(ts.fields_for(cols))
    return strategy_for(api).cost(rows, fields, limit, extras, **kw)


def upto(ids: dict[str, list[str]], module: str, n: int) -> str:
    """A COQL condition selecting exactly the ``n`` lowest ids."""
    return f"id <= {ids[module][n - 1]}" if n else f"id < {ids[module][0]}"


@pytest.mark.parametrize(("module", "columns", "limit"), [
    ("Leads", None, None),  # 7,000 rows x 2 field groups: 35 pages + 70 ?ids= calls
    ("Deals", None, None),  # one field group
    ("Leads", None, 250),  # an exact LIMIT: 2 pages, and the field group of the 250 kept rows
    ("Deals", ["id", "Amount"], 130),
])
def test_list_api(org: Emulator, session: ZohoSession, module: str, columns: list[str] | None,
                  limit: int | None) -> None:
    rows, calls, credits = measure(org, session, "REST", module, columns, Pushdown(limit=limit, exact=True))
    assert model(session, "REST", module, columns, rows, limit) == Cost(sum(calls.values()), credits), calls


def test_list_api_with_a_smaller_page_size(org: Emulator) -> None:
    with ZohoSession(org.connection_string + ";PageSize=30", backoff_base=0.02, backoff_cap=0.2) as small:
        small.catalog.table("Leads")
        rows, calls, credits = measure(org, small, "REST", "Leads", None, Pushdown(limit=250, exact=True))
        assert model(small, "REST", "Leads", None, rows, 250) == Cost(sum(calls.values()), credits) == Cost(18, 18)


@pytest.mark.parametrize(("module", "n", "limit"), [
    ("Deals", 0, None), ("Deals", 150, None),
    ("Deals", 200, None),  # a full first page: one more call finds nothing (3 credits)
    ("Deals", 2_200, None), ("Deals", 1_999, None), ("Leads", 3_000, None), ("Leads", 7_000, None),
    ("Leads", 3_000, 900), ("Leads", 7_000, 4_500),
])
def test_coql_keyset(org: Emulator, session: ZohoSession, ids: dict[str, list[str]], module: str, n: int,
                     limit: int | None) -> None:
    where = upto(ids, module, n) if n < len(ids[module]) else None
    pd = Pushdown(coql_where=where, limit=limit, exact=True)
    rows, calls, credits = measure(org, session, "COQL", module, None, pd)
    assert rows == (n if limit is None else min(n, limit))
    assert model(session, "COQL", module, None, n, limit) == Cost(sum(calls.values()), credits), calls


def test_coql_sorted_limit_is_one_call(org: Emulator, session: ZohoSession) -> None:
    pd = Pushdown(limit=40, order_by=(("Created_Time", False),), exact=True)
    rows, calls, credits = measure(org, session, "COQL", "Deals", None, pd)
    assert model(session, "COQL", "Deals", None, rows, 40, sorted_limit=True) == Cost(sum(calls.values()), credits)


@pytest.mark.parametrize(("module", "columns", "criteria"), [
    ("Leads", None, "(Lead_Source:equals:Web)"),  # two field groups joined by ?ids=
    ("Deals", None, "(Stage:equals:Qualification)"),
    ("Deals", ["id", "Deal_Name"], "(Amount:greater_than:100000000)"),  # nothing found
    ("Leads", ["id", "Email"], "(Lead_Score:greater_than:0)"),  # past the 2,000 cap: COQL answers instead
])
def test_search(org: Emulator, session: ZohoSession, module: str, columns: list[str] | None, criteria: str) -> None:
    coql = criteria.strip("()").split(":")
    where = {"equals": f"{coql[0]} = '{coql[2]}'", "greater_than": f"{coql[0]} > {coql[2]}"}[coql[1]]
    rows, calls, credits = measure(org, session, "Search", module, columns, Pushdown(criteria=criteria,
                                                                                     coql_where=where))
    got = model(session, "Search", module, columns, rows, coql_rows=rows)
    assert got == Cost(sum(calls.values()), credits), calls
    if rows > 2_000:
        assert calls["search_records"] == 10 and calls["coql_query"] > 1


@pytest.mark.parametrize(("module", "columns"), [
    ("Deals", None),  # user and layout names: the users list and the layouts, a call each
    ("Leads", ["id", "Email", "Lead_Score"]),  # ids and values only
])
def test_bulk_read(org: Emulator, session: ZohoSession, module: str, columns: list[str] | None) -> None:
    rows, calls, credits = measure(org, session, "Bulk", module, columns, Pushdown())
    polls = calls.pop("read_job_status")
    want = model(session, "Bulk", module, columns, rows)
    assert want.calls is not None and want.credits is not None
    assert (want.calls - POLLS_PER_JOB, want.credits - POLLS_PER_JOB) == (sum(calls.values()), credits - polls)
    assert 1 <= polls <= 4


@pytest.mark.parametrize("api", ["COQL", "Bulk"])
def test_polymorphic_lookups_are_estimated(org: Emulator, session: ZohoSession, api: str) -> None:
    rows, calls, credits = measure(org, session, api, "Tasks", None, Pushdown())
    polls = calls.pop("read_job_status", 0)
    got = model(session, api, "Tasks", None, rows)
    assert got.calls is not None and got.credits is not None
    measured = sum(calls.values()) + (POLLS_PER_JOB if api == "Bulk" else 0)
    assert abs(got.calls - measured) <= measured / 4, calls
    assert abs(got.credits - (credits - polls + (POLLS_PER_JOB if api == "Bulk" else 0))) <= credits / 4


def test_config_default_lag_is_what_search_is_priced_with() -> None:
    assert ConnectionConfig().search_index_lag > 0  # the model's one COQL call for recent records
