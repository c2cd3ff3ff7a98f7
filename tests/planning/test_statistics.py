"""The planner's statistics cache: what is bought, what is served from the cache, what clears it.

Real HTTP against a private emulator; the COQL calls counted are the emulator's.
A statistic lives ``ttl`` seconds (a fake clock here), and any write sent
through the same connection empties the cache (a write to one module can change
another's counts); a write through another connection shows after the TTL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.planning.statistics import CachedOnly, Histogram, ZohoStatistics
from connector.session import ZohoSession
from connector.writers import write

from ..conftest import ZohoClient

ALLOW = ";AllowedOperations=read,insert,update;AllowedModules=Leads,Deals"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def org(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(org="classic", records=2_000, seed=23)


@pytest.fixture
def session(org: Emulator) -> Iterator[ZohoSession]:
    with ZohoSession(org.connection_string + ALLOW, backoff_base=0.02, backoff_cap=0.2) as s:
        s.catalog.table("Leads")
        yield s


def coql_calls(org: Emulator) -> int:
    return int(org.stats()["calls"].get("coql_query", 0))


def insert_lead(session: ZohoSession) -> None:
    rows = pa.table({"Last_Name": ["Statistic"], "Company": ["Cache Ltd"]})
    assert write(session, "Leads", rows, "insert").summary()["inserted"] == 1


def other_connection_inserts(org: Emulator) -> None:
    r = ZohoClient(org).post("/Leads", json={"data": [{"Last_Name": "Elsewhere"}], "trigger": []})
    assert r.status_code == 201, r.text


# Each case: steps, then how many COQL calls the statistics made and what the last total said (+n: count + n).
STEP = Callable[[ZohoStatistics, ZohoSession, Emulator, Clock], Any]


def total(stats: ZohoStatistics, *_: Any) -> Any:
    return stats.total("Leads", buy=True)


def cached_total(stats: ZohoStatistics, *_: Any) -> Any:
    return stats.total("Leads", buy=False)


def later(seconds: float) -> STEP:
    def step(stats: ZohoStatistics, session: ZohoSession, org: Emulator, clock: Clock) -> None:
        clock.now += seconds
    return step


def ours(stats: ZohoStatistics, session: ZohoSession, org: Emulator, clock: Clock) -> None:
    insert_lead(session)


def theirs(stats: ZohoStatistics, session: ZohoSession, org: Emulator, clock: Clock) -> None:
    other_connection_inserts(org)


CASES: list[tuple[str, list[STEP], int, int | None]] = [
    ("bought once, served from the cache", [total, total, total], 1, 0),
    ("nothing cached, nothing bought", [cached_total], 0, None),
    ("still fresh just before the TTL", [total, later(299.9), total], 1, 0),
    ("asked again once the TTL is over", [total, later(300), total], 2, 0),
    ("a write through this connection clears it", [total, ours, cached_total], 1, None),
    ("and the next count sees the write", [total, ours, total], 2, 1),
    ("a write through another connection waits for the TTL", [total, theirs, total], 1, 0),
    ("... then it shows", [total, theirs, later(301), total], 2, 1),
]


@pytest.mark.parametrize(("name", "steps", "calls", "grew"), CASES, ids=[c[0] for c in CASES])
def test_cache(org: Emulator, session: ZohoSession, name: str, steps: list[STEP], calls: int,
               grew: int | None) -> None:
    clock = Clock()
    stats = ZohoStatistics(session.http, ttl=300, clock=clock)
    start = len(ZohoClient(org).export("Leads"))
    before = coql_calls(org)
    got = None
    for step in steps:
        got = step(stats, session, org, clock)
    assert coql_calls(org) - before == calls == stats.calls
    assert got == (None if grew is None else start + grew)


def test_counts_and_group_counts(org: Emulator, session: ZohoSession) -> None:
    stats = ZohoStatistics(session.http)
    leads = ZohoClient(org).export("Leads")
    scored = sum(1 for r in leads if (r.get("Lead_Score") or 0) > 50)
    assert stats.count("Leads", "Lead_Score > 50", buy=True) == scored
    assert stats.count("Leads", "Lead_Score > 50", buy=False) == scored
    assert stats.count("Leads", "Lead_Score > 60", buy=False) is None  # another WHERE: not known
    hist = stats.histogram("Leads", "Lead_Source", buy=True)
    assert isinstance(hist, Histogram) and hist.complete  # a picklist: every value in one call
    web = sum(1 for r in leads if r.get("Lead_Source") == "Web")
    assert hist.rows(["Web"]) == (web, web) and hist.rows(["web"]) == (web, web)  # Zoho ignores case
    assert hist.rows(["No such source"]) == (0, 0)
    empty = sum(1 for r in leads if r.get("Lead_Source") is None)
    assert hist.rows([None]) == (empty, empty)
    assert stats.calls == stats.credits == 2


def test_a_lookup_with_more_values_than_one_call_lists_is_a_bound(make_emulator: Callable[..., Emulator]) -> None:
    big = make_emulator(org="classic", records=6_000, seed=23)  # 480 accounts: more than one group-count call lists
    with ZohoSession(big.connection_string) as s:
        hist = ZohoStatistics(s.http).histogram("Contacts", "Account_Name", buy=True)
    assert hist is not None and not hist.complete and len(hist.counts) == 200
    assert hist.floor == min(hist.counts.values())
    low, high = hist.rows(["1"])  # an id not among the 200 most frequent: at most as many as the last of them
    assert (low, high) == (0, hist.floor)


def test_a_refused_statistic_is_none_and_not_asked_again(org: Emulator, session: ZohoSession) -> None:
    stats = ZohoStatistics(session.http)
    assert stats.count("Leads", "No_Such_Field > 1", buy=True) is None
    assert stats.count("Leads", "No_Such_Field > 1", buy=True) is None
    assert stats.calls == 1


def test_the_engine_checks_a_statement_before_it_buys(org: Emulator, session: ZohoSession) -> None:
    engine = Engine(session)
    probe = CachedOnly(engine.statistics)
    assert probe.total("Leads", buy=True) is None and probe.wanted
    before = coql_calls(org)
    with pytest.raises(Exception, match="did you mean Email"):
        engine.execute("SELECT Emial FROM Leads WHERE Lead_Score > 3").read_all()
    assert coql_calls(org) == before and engine.statistics.calls == 0  # refused by DuckDB: nothing bought
    engine.execute("SELECT Email FROM Leads WHERE Lead_Score > 3").read_all()
    assert engine.statistics.calls >= 1


def test_engine_dml_clears_what_it_knew(org: Emulator, session: ZohoSession) -> None:
    engine = Engine(session)
    engine.execute("SELECT * FROM Leads").read_all()
    bought = engine.statistics.calls
    assert bought == 1 and engine.statistics.total("Leads", buy=False) is not None
    engine.run("INSERT INTO Leads (Last_Name, Company) VALUES ('Stats', 'After')")
    assert engine.statistics.total("Leads", buy=False) is None  # cleared: counted again when it matters


def search_calls(org: Emulator) -> int:
    return sum(int(n) for k, n in org.stats()["calls"].items() if "search" in k)


def test_a_search_statistic_is_its_first_page(org: Emulator, session: ZohoSession) -> None:
    # Criteria only Search takes (an ILIKE prefix): one page of ids says how many match, or that more do.
    stats = ZohoStatistics(session.http)
    leads = ZohoClient(org).export("Leads")
    cities: dict[str, int] = {}
    for r in leads:
        key = str(r.get("City") or "")[:1].upper()
        if key.isalpha():
            cities[key] = cities.get(key, 0) + 1
    rare = min(cities, key=lambda k: cities[k])
    scored = sum(1 for r in leads if (r.get("Lead_Score") or 0) > 0)
    assert cities[rare] <= 200 < scored
    before = search_calls(org)
    got = stats.search("Leads", f"(City:starts_with:{rare})", buy=True)
    assert got is not None and got.exact and got.low == cities[rare]
    many = stats.search("Leads", "(Lead_Score:greater_than:0)", buy=True)
    assert many is not None and not many.exact and many.low == 201 and many.high is None
    assert stats.search("Leads", f"(City:starts_with:{rare})", buy=False) == got  # cached
    assert stats.search("Leads", "(City:starts_with:Q)", buy=False) is None  # other criteria: not known
    assert search_calls(org) - before == stats.calls == stats.credits == 2
    probe = CachedOnly(stats)
    assert probe.search("Leads", "(Lead_Score:greater_than:0)", buy=True) == many and not probe.wanted
