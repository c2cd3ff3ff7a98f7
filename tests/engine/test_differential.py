"""Differential tests (issue 5, "Done means"): the engine's rows equal DuckDB over the export.

For every query of ``queries.QUERIES`` and every read setting — APIType REST,
COQL, Search, Bulk and Auto, each with UseServerSideFiltering true and false —
the engine's result equals plain DuckDB running the same SQL over
``/__emulator/export/*`` converted to the catalog's columns. Settings where a
query cannot push anything (filtering off) repeat the same full reads, so those
run the ``CORE`` subset; Auto and every forced API with filtering on run them
all. The same after ``/__emulator/mutate`` with a search index lag is in
test_differential_lag.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sessions, Truth, assert_same_result
from .queries import BY_ID, CORE, QUERIES, Q

APIS = ["Auto", "REST", "COQL", "Search", "Bulk"]
CASES = [pytest.param(api, ssf, q, id=f"{api}-{'ssf' if ssf else 'nossf'}-{q.id}")
         for api in APIS for ssf in (True, False) for q in QUERIES
         if ssf or api == "Auto" or q.id in CORE]


def run_both(sessions: Sessions, truth: Truth, q: Q, extra: str) -> tuple[Any, Any]:
    params = q.params(truth) if callable(q.params) else q.params
    engine = sessions.engine(extra)
    got = engine.execute(q.sql, params).read_all()
    want = truth.query(q.sql, params, q.modules)
    return got, want


@pytest.mark.parametrize(("api", "ssf", "q"), CASES)
def test_engine_equals_duckdb_over_the_export(sessions: Sessions, truth: Truth, api: str, ssf: bool,
                                               q: Q) -> None:
    extra = f";APIType={api};UseServerSideFiltering={str(ssf).lower()}"
    got, want = run_both(sessions, truth, q, extra)
    assert_same_result(got, want, ordered=q.ordered, label=f"{api}/{ssf}/{q.id}")


@pytest.mark.parametrize("qid", [*CORE, "in-subquery", "self-join"])
def test_engine_without_the_source_protocol(sessions: Sessions, truth: Truth, qid: str) -> None:
    """Older DuckDB: scans are registered as Arrow readers (tables when DuckDB scans them twice)."""
    q = BY_ID[qid]
    params = q.params(truth) if callable(q.params) else q.params
    engine = sessions.engine(";APIType=COQL", use_sources=False)
    assert not engine.use_sources
    got = engine.execute(q.sql, params).read_all()
    assert_same_result(got, truth.query(q.sql, params, q.modules), ordered=q.ordered, label=qid)


def test_the_query_set_is_not_trivial(truth: Truth) -> None:
    """Most queries select some rows and leave others out, so equality means something."""
    empty = []
    for q in QUERIES:
        params = q.params(truth) if callable(q.params) else q.params
        if truth.query(q.sql, params, q.modules).num_rows == 0:
            empty.append(q.id)
    assert empty == ["self-join"] or not empty, f"queries selecting nothing: {empty}"
    assert {"like-escaped-percent", "like-escaped-underscore", "search-escapes"} <= set(BY_ID)
