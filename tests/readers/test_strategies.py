"""The read strategies' declared facts: limits, cost models, partition shapes (no HTTP).

Costs are priced from Zoho's credit table (limits-and-errors.md section 2),
the same one the HTTP layer meters real calls with; the end-to-end figures are
in benchmarks/read.py.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.http.credits import estimate_credits
from connector.model import Pushdown
from connector.readers import BulkReader, CoqlReader, RestReader, SearchReader
from connector.readers.dialects import BULK as BULK_CRITERIA
from connector.readers.dialects import COQL as COQL_WHERE
from connector.readers.dialects import SEARCH as SEARCH_CRITERIA
from connector.readers.strategies import (
    BULK,
    COQL,
    REST,
    SEARCH,
    STRATEGIES,
    UNKNOWN,
    Cost,
    IdRange,
    Partition,
    TimeRange,
    strategy_for,
)
from connector.readers.strategies.partitions import bounds_cost, id_ranges, time_ranges


def test_one_strategy_per_api_each_with_its_dialect_and_reader() -> None:
    assert list(STRATEGIES) == ["REST", "Search", "COQL", "Bulk"]
    assert [s.dialect for s in (REST, SEARCH, COQL, BULK)] == [None, SEARCH_CRITERIA, COQL_WHERE, BULK_CRITERIA]
    assert all(strategy_for(name).name == name for name in STRATEGIES)
    readers = {name: type(s.reader(None)).__name__ for name, s in STRATEGIES.items()}  # type: ignore[arg-type]
    assert readers == {"REST": RestReader.__name__, "Search": SearchReader.__name__, "COQL": CoqlReader.__name__,
                       "Bulk": BulkReader.__name__}


def test_declared_limits() -> None:
    got = {s.name: (s.limits.fields_per_call, s.limits.rows_per_call, s.limits.reachable_rows,
                    s.limits.conditions, s.limits.pushdown_conditions) for s in (REST, SEARCH, COQL, BULK)}
    assert got == {"REST": (50, 200, 100_000, 0, 0), "Search": (50, 200, 2_000, 15, 15),
                   "COQL": (500, 2_000, None, 25, 22), "Bulk": (200, 200_000, None, 25, 22)}
    # a dialect's condition budget is the strategy's limit
    assert [s.dialect.max_conditions for s in (SEARCH, COQL, BULK) if s.dialect] == [15, 25, 25]


def test_credits_come_from_the_metered_table() -> None:
    # the keyset reader's first call asks for 200 rows, the next for 2,000 (and gets 1,800)
    assert COQL.cost(2_000, 10) == Cost(2, estimate_credits("POST", "/coql", body={"select_query": "limit 200"}) +
                                        estimate_credits("POST", "/coql", body={"select_query": "limit 2000"}))
    job = estimate_credits("POST", "/crm/bulk/v8/read") + 2 * estimate_credits("GET", "/crm/bulk/v8/read/7") + \
        estimate_credits("GET", "/crm/bulk/v8/read/7/result")
    assert BULK.cost(1, 10) == Cost(4, job) == Cost(4, 53)


@pytest.mark.parametrize(("api", "rows", "fields", "limit", "cost"), [
    # What each reader really calls (measured on the emulator in test_cost_models.py; the models undercounted
    # before: one call per field group per page, no 200-row first COQL call, no field groups for Search).
    ("REST", 1_000, 74, None, Cost(15, 15)),  # 5 pages + the second field group by ?ids=, 100 ids a call
    ("REST", 400, 74, None, Cost(6, 6)),
    ("REST", 0, 10, None, Cost(1, 1)),  # an empty module still takes one call
    ("REST", 150_000, 10, None, Cost(500 + 26, 500 + 76)),  # past 100,000 records: COQL keyset pages
    ("REST", 5_000, 10, 300, Cost(2, 2)),
    ("Search", 1, 74, None, Cost(3, 3)),  # one page, its second field group, the COQL call for recent records
    ("Search", 1_900, 5, None, Cost(11, 11)),
    ("Search", 3_000, 5, None, Cost(10 + 3, 10 + 7)),  # past the 2,000 cap: the whole answer again by COQL
    ("COQL", 3_000, 74, None, Cost(3, 7)),  # 200 rows (1 credit), 2,000 (3), the last 800 (3)
    ("COQL", 10_000, 5, 150, Cost(1, 1)),  # an exact LIMIT is priced by the LIMIT asked for
    ("COQL", None, 5, 900, Cost(2, 3)),  # 200 rows, then the 700 the LIMIT leaves (2 credits)
    ("COQL", 4_500, 5, 4_500, Cost(4, 1 + 3 + 3 + 2)),
    ("Bulk", 450_000, 74, None, Cost(12, 159)),  # 3 jobs: create, 2 polls, download
    ("Bulk", 0, 74, None, Cost(4, 53)),
    ("REST", None, 10, None, UNKNOWN), ("Search", None, 10, None, UNKNOWN), ("Bulk", None, 10, None, UNKNOWN),
])
def test_cost_models(api: str, rows: int | None, fields: int, limit: int | None, cost: Cost) -> None:
    assert strategy_for(api).cost(rows, fields, limit) == cost


def test_partitioned_costs_add_the_bounds_and_what_each_slice_repeats() -> None:
    assert bounds_cost(100_000, 1) == Cost(0, 0)
    assert bounds_cost(100_000, 4) == Cost(4, 4)  # COUNT + 3 bounds
    assert bounds_cost(1_000_000, 2) == Cost(1 + 5, 1 + 5)  # 500,000 rows a step: 5 offset hops
    for s in STRATEGIES.values():
        assert s.partition_cost(50_000, 10, 1) == s.cost(50_000, 10)
        one, seven = s.partition_cost(50_000, 10, 1), s.partition_cost(50_000, 10, 7)
        assert seven.credits is not None and one.credits is not None and seven.credits >= one.credits
        assert s.partition_cost(None, 10, 3) == UNKNOWN
    assert SEARCH.partition_cost(500, 10, 3) == bounds_cost(500, 3) + SEARCH.cost(500, 10).times(3)
    # REST slices list their ids by COQL and read them 100 a call
    assert REST.partition_cost(10_000, 10, 2) == bounds_cost(10_000, 2) + COQL.cost(5_000).times(2) + Cost(102, 102)


def test_partitions_are_picklable_and_hold_no_connection() -> None:
    pd = Pushdown(bulk_criteria={"field": {"api_name": "Amount"}, "comparator": "greater_than", "value": 5},
                  coql_where="Amount > 5", modified_since=datetime(2024, 5, 1, tzinfo=UTC))
    parts = [Partition("COQL", "Deals", pd, 0, 2, IdRange(None, "58")), Partition("COQL", "Deals", pd, 1, 2,
                                                                                   IdRange("58", None)),
             Partition("Bulk", "Deals", pd, 0, 1, TimeRange("Created_Time"))]
    assert pickle.loads(pickle.dumps(parts)) == parts
    assert [p.whole for p in parts] == [False, False, True]


@given(st.lists(st.integers(1, 10**6), unique=True, max_size=8).map(sorted), st.integers(0, 10**6 + 1))
def test_id_ranges_tile_the_id_line(bounds: list[int], record: int) -> None:
    ranges = id_ranges([str(b) for b in bounds])
    assert len(ranges) == len(bounds) + 1
    assert sum(r.holds(str(record)) for r in ranges) == 1


@given(st.lists(st.integers(1, 10**5), unique=True, max_size=8).map(sorted), st.integers(0, 10**5 + 1))
def test_time_ranges_tile_the_time_line(seconds: list[int], at: int) -> None:
    epoch = datetime(2024, 1, 1, tzinfo=UTC)
    ranges = time_ranges("Created_Time", [epoch + timedelta(seconds=s) for s in seconds])
    assert sum(r.holds(epoch + timedelta(seconds=at)) for r in ranges) == 1
    assert all(r.field == "Created_Time" for r in ranges)
