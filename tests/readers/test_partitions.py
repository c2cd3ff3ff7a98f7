"""Acceptance: a read split by ``partitions(n)`` and run in separate processes returns exactly one full read.

For every strategy, n in 1, 2 and 7: the slices are pickled to spawned worker
processes, each opens its own session and runs ``read_partition``, and the
union must equal one full read of the same strategy — same ids, once each,
same values (the formula over "now", Days_Open, within one step).

While records change (``/__emulator/mutate``: creates, updates, deletes),
"exactly" means what :mod:`connector.readers.strategies.partitions` promises:

* slices run one after another with a mutation before each: every slice
  equals the ground truth of its range at the moment it ran (after the read's
  filter is applied to both), so no row is stale, missing or foreign;
* over the whole read: no id twice; every record present at the start and not
  deleted during the read is there (when it matched the filter and was not
  edited); nothing that neither existed at the start nor was created during
  the read;
* slices running in parallel while a thread keeps mutating: the same three
  checks, and every record nobody touched has its starting values.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers.base import ReaderContext
from connector.readers.strategies import BULK, IdRange, Partition, TimeRange, strategy_for
from connector.schema.types import TableSchema
from connector.session import ZohoSession

from ..conftest import ZohoClient
from .expected import assert_same_rows, expected_table, read_table, volatile_columns, where
from .partition_child import read_slice

OPT_IN = Pushdown(criteria="(Email_Opt_Out:equals:false)", coql_where="Email_Opt_Out = false",
                  bulk_criteria={"field": {"api_name": "Email_Opt_Out"}, "comparator": "equal", "value": False})
WEB = Pushdown(criteria="(Lead_Source:equals:Web Download)", coql_where="Lead_Source = 'Web Download'",
               bulk_criteria={"field": {"api_name": "Lead_Source"}, "comparator": "equal", "value": "Web Download"})


@dataclass(frozen=True)
class Case:
    api: str
    module: str
    pushdown: Pushdown | None
    sql: str | None  # the pushdown as SQL, which the engine re-applies to what comes back
    past_cap: bool = False  # needs more matching Leads than one Search read may return (the larger org)

    @property
    def id(self) -> str:
        return f"{self.api}-{self.module}-{self.sql or 'all'}"


CASES = [
    Case("REST", "Leads", None, None),
    Case("COQL", "Leads", None, None),
    Case("COQL", "Contacts", OPT_IN, "NOT Email_Opt_Out"),
    Case("Search", "Leads", WEB, "Lead_Source = 'Web Download'"),
    Case("Search", "Leads", OPT_IN, "NOT Email_Opt_Out", past_cap=True),  # each slice answers by COQL
    Case("Bulk", "Leads", None, None),
    Case("Bulk", "Contacts", OPT_IN, "NOT Email_Opt_Out"),
]
#: Leads and Contacts at the sizes the cases need (Bulk's 7 slices of Contacts that match a filter: 40-row
#: pages, below); the rest of the org small. Leads past Search's 2,000 cap only where a case needs it: every
#: slice and ground truth of the others costs less than half as much.
ORG = {"records": 1_000, "sizes": {"Leads": 1_000, "Contacts": 900}, "downloads_per_minute": 10_000}
PAST_CAP = {**ORG, "sizes": {"Leads": 2_400, "Contacts": 900}}
#: Bulk cuts no more slices than a read has pages (a slice is a job stream, a job up to a page): the
#: strategy is told of 40-row pages so these few thousand rows can be cut in 7 (each slice still one job)
BULK_PAGE = 40


@pytest.fixture(autouse=True)
def small_bulk_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BULK, "limits", replace(BULK.limits, rows_per_call=BULK_PAGE))


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    with multiprocessing.get_context("spawn").Pool(2) as workers:
        yield workers


@pytest.fixture(scope="module")
def quiet_orgs() -> Iterator[dict[bool, Emulator]]:
    """The org of the cases, by whether the case needs Leads past Search's cap; each started when first asked."""
    with ExitStack() as stack:
        yield LazyOrgs(stack)


class LazyOrgs(dict[bool, Emulator]):
    def __init__(self, stack: ExitStack) -> None:
        super().__init__()
        self.stack = stack

    def __missing__(self, past_cap: bool) -> Emulator:
        emu = self.stack.enter_context(Emulator(seed=5, **(PAST_CAP if past_cap else ORG)))  # type: ignore[arg-type]
        self[past_cap] = emu
        return emu


def _table(ipc: bytes) -> pa.Table:
    return pa.ipc.open_stream(ipc).read_all()


def _run(pool: Any, emu: Emulator, parts: list[Partition]) -> list[pa.Table]:
    tables = [_table(b) for b in pool.starmap(read_slice, [(emu.connection_string, p, None) for p in parts])]
    assert all(t.schema.metadata[b"pid"] != str(os.getpid()).encode() for t in tables)  # other processes
    return tables


def _union(tables: list[pa.Table], ts: TableSchema) -> pa.Table:
    return pa.concat_tables([t.replace_schema_metadata(None) for t in tables]).cast(ts.arrow_schema)


def _full_read(ctx: ReaderContext, case: Case) -> pa.Table:
    strategy = strategy_for(case.api)
    ts = ctx.catalog.table(case.module)
    return read_table(strategy.reader(ctx).batches(case.module, None, case.pushdown), ts.arrow_schema)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_partitions_in_separate_processes_equal_one_full_read(case: Case, quiet_orgs: dict[bool, Emulator],
                                                             pool: Any) -> None:
    quiet_org = quiet_orgs[case.past_cap]
    with ZohoSession(quiet_org.connection_string) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table(case.module)
        full = _full_read(ctx, case)
        assert full.num_rows > (2_000 if case.past_cap else 50)  # past_cap: more than one Search read returns
        for n in (1, 2, 7):
            parts = strategy_for(case.api).partitions(ctx, case.module, case.pushdown, n)
            assert len(parts) == n and [p.index for p in parts] == list(range(n))
            assert all(p.of == n and p.api == case.api for p in parts)
            got = _union(_run(pool, quiet_org, parts), ts)
            assert_same_rows(got, full, tolerant=volatile_columns(ts), label=f"{case.id} n={n}")


# ---- while records change -------------------------------------------------------------------------


class Changes:
    def __init__(self, emu: Emulator, module: str) -> None:
        self.client = ZohoClient(emu)
        self.module = module
        self.created: set[str] = set()
        self.updated: set[str] = set()
        self.deleted: set[str] = set()

    def mutate(self, seed: int, creates: int = 4, updates: int = 15, deletes: int = 4) -> None:
        r = self.client.admin("POST", "mutate", json={"module": self.module, "creates": creates,
                                                      "updates": updates, "deletes": deletes, "seed": seed})
        assert r.status_code == 200, r.text
        got = r.json()
        self.created |= set(got["created"])
        self.updated |= set(got["updated"])
        self.deleted |= set(got["deleted"])

    @property
    def touched(self) -> set[str]:
        return self.created | self.updated | self.deleted

    def truth(self, ts: TableSchema) -> pa.Table:
        return expected_table(self.client.export(self.module), ts)


def _in_slice(table: pa.Table, bounds: IdRange | TimeRange) -> pa.Table:
    if isinstance(bounds, IdRange):
        keep = [bounds.holds(i) for i in table.column("id").to_pylist()]
    else:
        keep = [bounds.holds(t) for t in table.column(bounds.field).to_pylist()]
    return table.filter(pa.array(keep, pa.bool_()))


def _matching(table: pa.Table, case: Case) -> pa.Table:
    return where(table, case.sql) if case.sql else table


def _ids(table: pa.Table) -> set[str]:
    return set(table.column("id").to_pylist())


def _rows(table: pa.Table, skip: set[str]) -> dict[str, dict[str, Any]]:
    return {r["id"]: {k: v for k, v in r.items() if k not in skip} for r in table.to_pylist()}


def _check_whole_read(got: pa.Table, start: pa.Table, changes: Changes, case: Case, ts: TableSchema) -> None:
    label = f"{case.id} under change"
    end = changes.truth(ts)
    assert pc.count_distinct(got.column("id")).as_py() == got.num_rows, f"{label}: an id read twice"
    expected = _ids(_matching(start, case)) - changes.touched
    assert expected <= _ids(got), f"{label}: {len(expected - _ids(got))} records present throughout are missing"
    assert _ids(got) <= _ids(start) | changes.created, f"{label}: rows from nowhere"
    # A record nobody edited reads as it was at the start, or as it is at the end: deleting a record it
    # points at empties its lookup without an edit of its own.
    skip = volatile_columns(ts)
    was, now = _rows(start, skip), _rows(end, skip)
    stale = [i for i, row in _rows(got, skip).items()
             if i not in changes.touched and row != was.get(i) and row != now.get(i)]
    assert not stale, f"{label}: {len(stale)} untouched rows hold values they never had, e.g. {stale[:3]}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_partitions_while_records_change(case: Case, make_emulator: Any, pool: Any) -> None:
    emu = make_emulator(seed=6, **(PAST_CAP if case.past_cap else ORG))
    strategy = strategy_for(case.api)
    with ZohoSession(emu.connection_string) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table(case.module)

        # 1. One slice after another, records changing before each: every slice is its range's truth then.
        # (Four slices: each costs a change and a ground truth; the cut into 7 is checked above and in 2.)
        changes = Changes(emu, case.module)
        start = changes.truth(ts)
        parts = strategy.partitions(ctx, case.module, case.pushdown, 4)
        assert len(parts) == 4
        slices = []
        for k, part in enumerate(parts):
            changes.mutate(seed=100 + k)
            now = _in_slice(changes.truth(ts), part.bounds)
            got = _union(_run(pool, emu, [part]), ts)
            assert_same_rows(_matching(got, case), _matching(now, case), tolerant=volatile_columns(ts),
                             label=f"{case.id} slice {k}")
            slices.append(got)
        _check_whole_read(pa.concat_tables(slices), start, changes, case, ts)

        # 2. Slices in parallel while a thread keeps changing records.
        changes = Changes(emu, case.module)
        start = changes.truth(ts)
        parts = strategy.partitions(ctx, case.module, case.pushdown, 7)
        stop = threading.Event()

        def keep_changing() -> None:
            seed = 200
            while not stop.is_set():
                changes.mutate(seed=seed, creates=2, updates=6, deletes=2)
                seed += 1
                stop.wait(0.05)

        thread = threading.Thread(target=keep_changing, daemon=True)
        thread.start()
        try:
            got = _union(_run(pool, emu, parts), ts)
        finally:
            stop.set()
            thread.join(30)
        assert changes.touched, "no change happened during the read"
        _check_whole_read(got, start, changes, case, ts)
