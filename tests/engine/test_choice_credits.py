"""The measured defects of the old planner, priced on the emulator's meter: Auto now pays the cheapest.

Each query runs with APIType=Auto and with every forced API on one org of
10,000 records (3,500 Leads, 2,200 Contacts, 1,200 Deals); the credits each
run costs come from ``/__emulator/stats`` (ground truth), the answers must be
equal. Auto's statistics (a module's record count, a filter's count, 1 credit
each) are counted in its total. The old planner paid, on these queries: list
pages to scan modules under 5,000 rows and for filters it cannot push (about
three times COQL), Search for an owner matching a third of the rows; and the
first cheapest-API planner read every Lead by COQL for an ILIKE prefix only
Search takes (its rows cannot be counted by COQL: a search page counts them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.session import ZohoSession

from ..conftest import ZohoClient, org_fixture
from .conftest import assert_same_result, fast_readers

APIS = ("REST", "COQL", "Search", "Bulk")

org = org_fixture("10,000 records, read only: the sizes the defects were measured at.", org="classic", records=10_000, seed=12,
                  downloads_per_minute=100_000)


@pytest.fixture(scope="module")
def owner(org: Emulator) -> str:
    """The owner of most contacts (about a third of them): a lookup id that selects many rows."""
    counts: dict[str, int] = {}
    for r in ZohoClient(org).export("Contacts"):
        key = str((r.get("Owner") or {}).get("id"))
        counts[key] = counts.get(key, 0) + 1
    top = max(counts, key=lambda k: counts[k])
    assert counts[top] > 0.25 * sum(counts.values())
    return top


@pytest.fixture(scope="module")
def prefix(org: Emulator) -> str:
    """An upper-case City prefix a few dozen Leads match: ILIKE takes them, COQL's case-minding LIKE cannot."""
    counts: dict[str, int] = {}
    for r in ZohoClient(org).export("Leads"):
        key = str(r.get("City") or "")[:3]
        if len(key) == 3 and key.isalpha():
            counts[key.upper()] = counts.get(key.upper(), 0) + 1
    fits = [k for k, n in counts.items() if 20 <= n <= 200]
    assert fits
    return max(fits, key=lambda k: counts[k])


@pytest.fixture(scope="module")
def sessions(org: Emulator) -> Iterator[dict[str, ZohoSession]]:
    opened = {api: ZohoSession(org.connection_string + f";APIType={api}", backoff_base=0.02, backoff_cap=0.2)
              for api in ("Auto", *APIS)}
    for s in opened.values():
        for module in ("Leads", "Contacts", "Deals"):
            s.catalog.table(module)  # metadata read before anything is measured
    yield opened
    for s in opened.values():
        s.close()


def run(org: Emulator, engine: Engine, sql: str) -> tuple[Any, int]:
    before = org.stats()["credits_used"]
    table = engine.execute(sql).read_all()
    return table, org.stats()["credits_used"] - before


CASES = [
    # (query, what the old planner chose, what Auto must choose now)
    ("SELECT * FROM Deals", "REST", "COQL"),  # a scan of a module under 5,000 rows
    ("SELECT Deal_Name, Amount FROM Deals", "REST", "COQL"),
    ("SELECT id, Email FROM Leads WHERE Last_Name <> 'Smith'", "REST", "COQL"),  # negated text: not pushable
    ("SELECT id, City FROM Leads WHERE City = ' Oslo '", "REST", "COQL"),  # padded literal: not pushable
    ("SELECT id, City FROM Leads WHERE City = ''", "REST", "COQL"),  # empty literal
    ("SELECT * FROM Leads WHERE id = 'abc'", "REST", None),  # impossible: nothing to read at all
    ("SELECT id, Last_Name, Owner_Id FROM Contacts WHERE Owner_Id = '{owner}'", "Search", "COQL"),
    ("SELECT id, Email, City FROM Leads WHERE City ILIKE '{prefix}%'", "COQL", "Search"),  # only Search takes it
]


@pytest.mark.parametrize(("sql", "old", "new"), CASES, ids=[c[0][:50] for c in CASES])
def test_auto_pays_the_cheapest(org: Emulator, sessions: dict[str, ZohoSession], owner: str, prefix: str, sql: str,
                                old: str, new: str | None) -> None:
    sql = sql.format(owner=owner, prefix=prefix)
    forced = {}
    answers = {}
    for api in APIS:
        answers[api], forced[api] = run(org, Engine(sessions[api], reader_factory=fast_readers), sql)
    auto = Engine(sessions["Auto"], reader_factory=fast_readers)
    before = org.stats()["credits_used"]
    plan = auto.plan(sql)  # buys the statistics the choice needs
    got, _ = run(org, auto, sql)
    spent = org.stats()["credits_used"] - before  # the statistics and the run, on the emulator's meter
    for api in APIS:
        assert_same_result(answers[api], got, ordered=False, label=api)
    cheapest = min(forced.values())
    assert forced[old] > cheapest, forced  # the old choice was dearer than the cheapest
    statistics = auto.statistics.credits  # bought while planning (counted in `spent` too)
    assert spent <= cheapest + statistics and statistics <= 2, (forced, spent, plan.scans[0].reason)
    if new is None:
        assert spent == 0 and plan.scans[0].empty
    else:
        assert plan.scans[0].api == new, plan.scans[0].reason


def test_the_statistics_serve_many_queries(org: Emulator, sessions: dict[str, ZohoSession]) -> None:
    auto = Engine(sessions["Auto"], reader_factory=fast_readers)
    auto.statistics.clear()
    run(org, auto, "SELECT Deal_Name FROM Deals WHERE Amount > 1000")
    first = auto.statistics.calls
    for sql in ("SELECT * FROM Deals", "SELECT Deal_Name FROM Deals WHERE Amount > 5000",
                "SELECT count(*), max(Amount) FROM Deals WHERE Stage <> 'x'"):
        run(org, auto, sql)
    assert first == 1 and auto.statistics.calls == 1  # one record count of Deals, bought once
