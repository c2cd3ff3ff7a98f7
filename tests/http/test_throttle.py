"""Throttling beside MaxConcurrency: CallsPerMinute, CreditBudget per run and CreditBudgetPerDay.

A budget is checked before each call with the call's price reserved, so a run never passes it (the
emulator's own credit meter is the judge), and a migration stopped by it resumes exactly.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.errors import CreditBudgetReached
from connector.http.throttle import CallRate, CreditBudget
from tests.http.support import conn, fast_session, stats
from tests.sync.helpers import assert_same, duckdb_table, truth


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize(("per_minute", "gaps", "sleeps"), [
    (0, [0, 0, 0, 0], []),                     # no limit: never waits
    (3, [0, 0, 0, 0], [60.0]),                 # the 4th call waits for the 1st to leave the window
    (3, [0, 10, 10, 10, 10], [30.0]),          # calls at 0,10,20; the 4th at 30 waits to 60; at 70 one left
    (2, [0, 61, 0, 61], []),                   # spaced out: the window never fills
])
def test_calls_per_minute_is_a_sliding_window(per_minute: int, gaps: list[float], sleeps: list[float]) -> None:
    clock = FakeClock()
    rate = CallRate(per_minute, clock=clock, sleep=clock.sleep)
    for gap in gaps:
        clock.now += gap
        rate.acquire()
    assert clock.sleeps == sleeps
    assert rate.waited == sum(sleeps)


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=60, seed=33)


def credits_used(emu: Emulator) -> int:
    return int(stats(emu)["credits_used"])


def test_a_run_budget_refuses_the_call_that_would_pass_it(emu: Emulator) -> None:
    with fast_session(conn(emu, CreditBudget=5)) as s:
        s.tokens.access_token()
        before = credits_used(emu)
        for _ in range(5):
            s.http.get("/Leads", params={"fields": "id", "per_page": 2})
        calls = stats(emu)["calls_total"]
        with pytest.raises(CreditBudgetReached, match=r"CreditBudget=5\): 5 credits spent, the next call costs 1"):
            s.http.get("/Leads", params={"fields": "id", "per_page": 2})
        assert stats(emu)["calls_total"] == calls  # not sent
        with pytest.raises(CreditBudgetReached):
            s.http.post("/coql", json={"select_query": "select id from Leads where id is not null limit 1500"})
    assert credits_used(emu) - before == 5


def test_concurrent_calls_never_pass_the_budget(emu: Emulator) -> None:
    budget = 23
    with fast_session(conn(emu, CreditBudget=budget, MaxConcurrency=8)) as s:
        s.tokens.access_token()
        before = credits_used(emu)
        stopped: list[int] = []

        def spend() -> None:
            try:
                while True:  # COQL with LIMIT 1000 costs 2, a list page 1: prices that do not divide evenly
                    s.http.post("/coql", json={"select_query": "select id from Leads where id is not null limit 1000"})
                    s.http.get("/Contacts", params={"fields": "id", "per_page": 1})
            except CreditBudgetReached:
                stopped.append(1)

        threads = [threading.Thread(target=spend) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(stopped) == 8
        assert s.http.budget.spent == credits_used(emu) - before
    assert budget - 1 <= credits_used(emu) - before <= budget


def test_a_daily_budget_holds_across_runs_in_a_private_ledger(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger" / "zoho.json"
    text = conn(emu, CreditBudgetPerDay=4, BudgetLocation=str(ledger))
    with fast_session(text) as s:
        for _ in range(3):
            s.http.get("/Leads", params={"fields": "id", "per_page": 1})
    with fast_session(text) as s:  # another run the same day: one credit left
        s.http.get("/Leads", params={"fields": "id", "per_page": 1})
        with pytest.raises(CreditBudgetReached, match="CreditBudgetPerDay=4"):
            s.http.get("/Leads", params={"fields": "id", "per_page": 1})
    assert json.loads(ledger.read_text())["credits"] == 4
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600 and stat.S_IMODE(ledger.parent.stat().st_mode) == 0o700


def test_the_daily_ledger_starts_over_each_utc_day(tmp_path: Path) -> None:
    ledger = tmp_path / "day.json"
    config = parse_connection_string(f"CreditBudgetPerDay=10;BudgetLocation={ledger}")
    day = ["2026-12-03"]
    budget = CreditBudget(config, today=lambda: day[0])
    budget.reserve(7)
    budget.settle(7, 6)  # a refused call costs less than its price: the ledger is corrected
    assert budget.spent_today() == 6
    with pytest.raises(CreditBudgetReached):
        budget.reserve(5)
    day[0] = "2026-12-04"
    budget.reserve(10)
    assert budget.spent_today() == 10


def test_a_damaged_ledger_is_a_clear_error(tmp_path: Path) -> None:
    ledger = tmp_path / "day.json"
    ledger.write_text("{not json")
    budget = CreditBudget(parse_connection_string(f"CreditBudgetPerDay=10;BudgetLocation={ledger}"))
    with pytest.raises(Exception, match="credit ledger .* is damaged") as info:
        budget.reserve(1)
    assert type(info.value).__name__ == "FileAccessError"


def migrate(source: str, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    return subprocess.run([sys.executable, "-m", "connector.cli", "migrate", "--source", source, "--target",
                           f"duckdb:{db}", "--modules", "Leads,Contacts,Accounts", *extra], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_migration_stops_within_its_budget_and_the_next_run_resumes_it(make_emulator: Callable[..., Emulator],
                                                                         tmp_path: Path) -> None:
    # What the migration costs, measured on a twin org (same seed); the budget stops it part way.
    twin = make_emulator(records=600, seed=34)
    done = migrate(conn(twin), tmp_path / "twin.duckdb", "--json")
    assert done.returncode == 0, done.stderr
    costs = {m["module"]: m["credits"] for m in json.loads(done.stdout)["modules"]}
    budget = sum(costs.values()) - costs["Accounts"] // 2
    emu = make_emulator(records=600, seed=34)
    db = tmp_path / "crm.duckdb"
    before = credits_used(emu)
    first = migrate(conn(emu, CreditBudget=budget), db, "--json")
    assert credits_used(emu) - before <= budget  # the emulator's own meter
    assert first.returncode == 75, first.stderr
    assert f"CreditBudget={budget}" in first.stderr and "stopped at the credit budget" in first.stderr
    assert "--incremental to resume" in first.stderr
    stopped = json.loads(first.stdout)
    kept = [m["module"] for m in stopped["modules"] if m["error"] is None]
    assert kept and stopped["interrupted"]["in_module"] not in kept
    second = migrate(conn(emu), db, "--incremental", "--json")
    assert second.returncode == 0, second.stderr
    resumed = {m["module"]: m for m in json.loads(second.stdout)["modules"]}
    assert all(resumed[m]["mode"] == "incremental" and resumed[m]["rows_read"] == 0 for m in kept)  # not again
    with fast_session(conn(emu)) as s:
        for module in ("Leads", "Contacts", "Accounts"):
            ts = s.catalog.table(module)
            assert_same(module, duckdb_table(str(db), module, ts.arrow_schema), truth(emu, ts))
