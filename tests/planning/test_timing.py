"""Choosing by time where credits tie: the pure time model, table-driven, and the flip on the emulator
(the latency the connection measures decides; nothing here times a run)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.engine import Engine
from connector.planning.choice import ReadRequest, choose, price
from connector.planning.timing import BULK_ROWS_PER_S, MIN_GAIN_S, fastest, read_seconds
from connector.readers.strategies import Cost, Extras
from connector.session import ZohoSession


@pytest.mark.parametrize(("api", "cost", "rows", "latency", "slots", "expected"), [
    ("REST", Cost(4, 4), 800, 0.3, 10, 1.2),  # pages follow page tokens: one after another
    ("COQL", Cost(2, 4), 800, 0.3, 10, 0.3),  # the first page and the one slice after it asked at once
    # the first page with 9 slices' first pages, then their 6 pages left: 2 waves
    ("COQL", Cost(16, 46), 30_000, 0.3, 10, 2 * 0.3),
    ("COQL", Cost(16, 46), 30_000, 0.3, 3, 8 * 0.3),  # the first page beside 2 slices: 15 pages, 2 at a time
    ("COQL", Cost(16, 46), 30_000, 0.3, 2, (1 + 8) * 0.3),  # two slots: the first page first, then 2 slices
    ("COQL", Cost(16, 46), 30_000, 0.3, 1, 16 * 0.3),  # MaxConcurrency=1: every call in turn
    ("COQL", Cost(1, 1), 150, 0.3, 10, 0.3),
    ("Search", Cost(3, 3), 500, 0.1, 10, 0.3),
    ("Bulk", Cost(4, 53), 30_000, 0.3, 10, 4 * 0.3 + 30_000 / BULK_ROWS_PER_S),  # the job takes its rows' time
    ("Bulk", Cost(4, 53), 30_000, 0.0, 10, 30_000 / BULK_ROWS_PER_S),
    ("REST", Cost(4, 4), 800, 0.0, 10, 0.0),
    ("REST", Cost(None, None), None, 0.3, 10, math.inf),
])
def test_read_seconds(api: str, cost: Cost, rows: int | None, latency: float, slots: int, expected: float) -> None:
    assert read_seconds(api, cost, rows, latency_s=latency, slots=slots) == pytest.approx(expected)


@pytest.mark.parametrize(("times", "expected"), [
    ({"REST": 1.2, "COQL": 0.6}, "COQL"),
    ({"REST": 0.004, "COQL": 0.002}, "REST"),  # on loopback the gain is nothing: the preference stands
    ({"REST": 0.5, "COQL": 0.5 - MIN_GAIN_S / 2}, "REST"),
    ({"REST": 0.5, "COQL": 0.5, "Bulk": 0.1}, "Bulk"),
    ({"REST": 0.1, "COQL": 0.5}, "REST"),
])
def test_fastest_takes_another_api_only_for_a_real_gain(times: dict[str, float], expected: str) -> None:
    assert fastest("REST", times) == expected


def scan(total: int, latency: float, slots: int = 10) -> ReadRequest:
    return ReadRequest("Leads", 5, total, extras=Extras(slots=slots), latency_s=latency)


@pytest.mark.parametrize(("total", "latency", "expected"), [
    (800, 0.0, "REST"),  # 4 pages or 2 COQL calls, 4 credits each: the list API's light calls when time is equal
    (800, 0.002, "REST"),
    (800, 0.3, "COQL"),  # the same credits, half the turns at 300 ms a call
    (600, 0.3, "REST"),  # 3 pages (3 credits) against 4 COQL credits: credits decide, whatever the time
    (150, 0.3, "REST"),  # one call either way
    (2_200, 0.3, "COQL"),  # COQL is cheaper anyway
    (100_000, 5.0, "Bulk"),  # Bulk is cheapest in credits: never bought back with speed
])
def test_on_equal_credits_the_faster_api_at_the_connection_latency(total: int, latency: float, expected: str) -> None:
    got = choose(scan(total, latency))
    assert got.api == expected, got.why
    if expected == "COQL" and total <= 800:
        assert price(scan(total, latency), "COQL", total).credits == price(scan(total, latency), "REST", total).credits
        assert "faster at 300 ms a call" in got.why


@given(total=st.integers(0, 400_000), latency=st.floats(0, 2), slots=st.integers(1, 10))
def test_time_never_costs_credits(total: int, latency: float, slots: int) -> None:
    slow, fast = choose(scan(total, 0.0, slots)), choose(scan(total, latency, slots))
    credits = {a: price(scan(total, latency, slots), a, total).credits for a in ("REST", "COQL", "Bulk")}
    assert credits[fast.api] == credits[slow.api]


def chosen(latency_ms: float) -> str:
    with Emulator(records=0, sizes={"Leads": 800}, seed=3, latency_ms=latency_ms) as emu, \
            ZohoSession(emu.connection_string) as session:
        for module in ("Contacts", "Accounts", "Leads"):  # metadata calls: the connection has measured its latency
            session.catalog.table(module)
        text = Engine(session).explain("SELECT id, Last_Name, Email FROM Leads")
        return text.splitlines()[0]


def test_the_choice_flips_with_the_latency_the_connection_measures() -> None:
    assert chosen(0).startswith("Leads -> REST:")
    slow = chosen(500)
    assert slow.startswith("Leads -> COQL:") and "faster at" in slow
