"""Differential tests right after ``/__emulator/mutate``, while the search index lags behind.

A private org whose search index is 120 virtual seconds behind (``index_lag_s``),
read with ``SearchIndexLag=300``: records just created are invisible to /search,
records just edited still match on their old values there. The engine must
still give exactly what DuckDB gives over the fresh export, for every APIType:
the search reader merges what COQL says changed within the lag, and DuckDB
re-applies the WHERE. One org for the whole module (mutated once, read many
times).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.session import ZohoSession

from ..conftest import ZohoClient
from .conftest import (
    ORG,
    SPECIAL_LEADS,
    Sessions,
    Truth,
    add_leads,
    assert_same_result,
    calls_since,
    data_calls,
    with_token_store,
)
from .queries import BY_ID

LAG_QUERIES = ["eq-picklist", "ne-picklist", "in-list", "is-null", "starts-with-quote", "like-escaped-percent",
               "search-escapes", "unicode-equals", "or-tree", "lookup-name", "order-desc-limit", "count-filtered",
               "group-by", "join-accounts"]
SETTINGS = [("Search", True), ("Auto", True), ("COQL", True), ("REST", True), ("Bulk", True), ("Search", False),
            ("Auto", False)]
CASES = [pytest.param(api, ssf, qid, id=f"{api}-{'ssf' if ssf else 'nossf'}-{qid}")
         for api, ssf in SETTINGS for qid in LAG_QUERIES]


@pytest.fixture(scope="module")
def lagging() -> Iterator[Emulator]:
    with Emulator(**{**ORG, "records": 800, "seed": 47, "index_lag_s": 120}) as emu:
        client = ZohoClient(emu)
        # Created inside the lag: invisible to search until 120 s have passed on the emulator's clock.
        add_leads(client, SPECIAL_LEADS)
        for module, n in (("Leads", 60), ("Contacts", 20), ("Accounts", 5)):
            r = requests.post(f"{emu.origin}/__emulator/mutate", timeout=60, json={
                "module": module, "creates": n // 3, "updates": n, "deletes": n // 10, "seed": 5})
            assert r.status_code == 200, r.text
        yield emu


@pytest.fixture(scope="module")
def lag_sessions(lagging: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    s = Sessions(with_token_store(lagging, tmp_path_factory.mktemp("lag-tokens")))
    yield s
    s.close()


@pytest.fixture(scope="module")
def lag_truth(lagging: Emulator) -> Iterator[Truth]:
    with ZohoSession(lagging.connection_string) as session:
        yield Truth(ZohoClient(lagging), session)


def test_the_index_really_lags(lagging: Emulator) -> None:
    """Search cannot see a lead created a moment ago; COQL can (so the tests below mean something)."""
    client = ZohoClient(lagging)
    r = client.get("/Leads/search", params={"criteria": "(Company:equals:Smith \\(UK\\)\\, Ltd)"})
    assert r.status_code == 204
    r = client.post("/coql", json={"select_query": "select id from Leads where Company = 'Smith (UK), Ltd'"})
    assert r.status_code == 200 and len(r.json()["data"]) == 1


@pytest.mark.parametrize(("api", "ssf", "qid"), CASES)
def test_engine_equals_export_after_mutate(lag_sessions: Sessions, lag_truth: Truth, api: str, ssf: bool,
                                           qid: str) -> None:
    q = BY_ID[qid]
    params: Any = q.params(lag_truth) if callable(q.params) else q.params
    engine = lag_sessions.engine(f";APIType={api};UseServerSideFiltering={str(ssf).lower()};SearchIndexLag=300")
    got = engine.execute(q.sql, params).read_all()
    want = lag_truth.query(q.sql, params, q.modules)
    assert_same_result(got, want, ordered=q.ordered, label=f"{api}/{ssf}/{qid}")


def test_search_is_used_and_still_finds_the_new_leads(lagging: Emulator, lag_sessions: Sessions) -> None:
    engine = lag_sessions.engine(";APIType=Search;SearchIndexLag=300")
    before = data_calls(lagging)
    got = engine.execute("SELECT Company FROM Leads WHERE Company IN ('Smith (UK), Ltd', '100% Organic')").read_all()
    assert sorted(got.column("Company").to_pylist()) == ["100% Organic", "Smith (UK), Ltd"]
    used = calls_since(lagging, before)
    assert used.get("search_records", 0) >= 1 and used.get("coql_query", 0) >= 1, used
