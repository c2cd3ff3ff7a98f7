"""Fault injection: what each kind looks like, reproducibility, where faults apply, latency.

Faults are configured through ``POST /__emulator/config`` after the client has its
token; that call restarts the fault sequence, so what follows is reproducible.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import FAULT_KINDS, LATE_FAULT_KINDS
from connector.emulator.faults import FaultInjector
from tests.conftest import ZohoClient

ALL_KINDS = list(FAULT_KINDS + LATE_FAULT_KINDS)
INTERNAL_ERROR = {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal server error occurred.",
                  "status": "error"}
TOO_MANY = {"code": "TOO_MANY_REQUESTS", "details": {}, "status": "error",
            "message": "Number of API requests for the 24 hour period is exceeded or the concurrency limit of the "
                       "user for the app is exceeded."}


def outcome(z: ZohoClient, path: str = "/org") -> str:
    """What a client saw: the status, "error-in-200", or "dropped"."""
    try:
        r = z.get(path)
    except requests.ConnectionError:
        return "dropped"
    if r.status_code == 200 and r.json().get("status") == "error":
        return "error-in-200"
    return str(r.status_code)


def faulty(make_emulator: Any, seed: int = 7, **config: Any) -> ZohoClient:
    z = ZohoClient(make_emulator(records=30, seed=seed))
    config.setdefault("slow_fault_ms", 1)
    r = z.admin("POST", "config", json=config)
    assert r.status_code == 200, r.text
    return z


def test_same_seed_same_calls_same_faults(make_emulator):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("other seed", 8)):
        z = faulty(make_emulator, seed, fault_rate=0.3, fault_kinds=ALL_KINDS)
        runs[name] = [outcome(z) for _ in range(200)]
        runs[name + " stats"] = z.emu.stats()["faults_injected"]
    assert runs["a"] == runs["b"]
    assert runs["a stats"] == runs["b stats"]
    assert runs["a"] != runs["other seed"]
    # every kind shows up in 200 calls at 30%, and what the client saw matches the stats
    seen, injected = Counter(runs["a"]), Counter(runs["a stats"])
    assert set(injected) == set(ALL_KINDS)
    for status in ("500", "502", "503", "429"):
        assert seen[status] == injected[status]
    assert seen["error-in-200"] == injected["error200"]
    assert seen["dropped"] == injected["drop"] + injected["drop_after"]
    assert seen["200"] == 200 - sum(injected.values()) + injected["slow"]


def test_reconfiguring_restarts_the_sequence(make_emulator):
    z = faulty(make_emulator, fault_rate=0.5, fault_kinds=["500", "503"])
    first = [outcome(z) for _ in range(30)]
    z.admin("POST", "config", json={"fault_rate": 0.5})
    assert [outcome(z) for _ in range(30)] == first
    z.admin("POST", "config", json={"fault_rate": 0})
    assert {outcome(z) for _ in range(10)} == {"200"}


def test_500_is_zohos_internal_error_envelope(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["500"])
    r = z.get("/org")
    assert r.status_code == 500 and r.json() == INTERNAL_ERROR


def test_502_is_a_gateways_html_page(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["502"])
    r = z.get("/org")
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html") and "502" in r.text


def test_503_is_plain_text(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["503"])
    r = z.get("/org")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/plain")
    with pytest.raises(ValueError):
        r.json()


def test_429_is_the_too_many_requests_envelope(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["429"])
    r = z.get("/Leads", params={"fields": "Last_Name"})
    assert r.status_code == 429 and r.json() == TOO_MANY


def test_error200_is_an_error_body_with_status_200(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["error200"])
    r = z.get("/org")
    assert r.status_code == 200 and r.json() == INTERNAL_ERROR


def test_slow_answers_normally_after_the_delay(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["slow"], slow_fault_ms=50)
    r = z.get("/org")
    assert r.status_code == 200 and "org" in r.json()
    assert z.emu.stats()["faults_injected"] == {"slow": 1}


def test_drop_closes_the_connection_before_the_handler_runs(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["drop"])
    minted = z.emu.stats()["tokens_minted"]
    with pytest.raises(requests.ConnectionError):
        z.mint()  # the accounts server fails too
    assert z.emu.stats()["tokens_minted"] == minted
    with pytest.raises(requests.ConnectionError):
        z.get("/org")


def test_drop_after_runs_the_handler_then_drops(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["drop_after"])
    minted = z.emu.stats()["tokens_minted"]
    with pytest.raises(requests.ConnectionError):
        z.mint()
    assert z.emu.stats()["tokens_minted"] == minted + 1  # the token was minted, the answer lost
    assert z.emu.stats()["faults_injected"] == {"drop_after": 1}


def test_accounts_server_fails_too(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["503"])
    r = z.http.post(f"{z.emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": z.emu.client_id, "client_secret": z.emu.client_secret,
        "refresh_token": z.emu.refresh_token})
    assert r.status_code == 503
    z.admin("POST", "config", json={"fault_kinds": ["error200"]})
    r = z.http.post(f"{z.emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": z.emu.client_id, "client_secret": z.emu.client_secret,
        "refresh_token": z.emu.refresh_token})
    assert r.status_code == 200 and r.json()["error"] == "Access Denied" and "access_token" not in r.json()


def test_admin_endpoints_never_fail_and_never_wait(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=ALL_KINDS, latency_ms=5)
    for path in ("stats", "clock", "config", "export/Accounts"):
        for _ in range(5):
            assert z.admin("GET", path).status_code == 200
    stats = z.emu.stats()
    assert stats["faults_injected"] == {} and stats["latency_calls"] == 0


def test_latency_is_added_to_every_api_call(make_emulator):
    z = ZohoClient(make_emulator(records=30, latency_ms=1))  # one accounts-server call
    z.get("/org")
    z.get("/Leads", params={"fields": "Last_Name"})
    z.get("/nowhere")  # unknown URLs travel the network too
    requests.get(f"{z.base}/org", timeout=30)  # rejected calls as well
    z.admin("GET", "stats")
    assert z.emu.stats()["latency_calls"] == 5


def test_latency_is_a_calls_whole_time_at_zoho_its_work_done_within_it(make_emulator):
    """A call answers no sooner than the latency after it arrived, and its work (a write) is done within it:
    the record is there for others to read before the writer has its answer."""
    z = ZohoClient(make_emulator(records=0, latency_ms=1500))
    z.get("/org")  # the token minted (the accounts server waits too)
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        write = pool.submit(z.post, "/Leads", json={"data": [{"Last_Name": "Within the latency"}]})
        seen_at = None
        while not write.done() and seen_at is None:
            rows = z.admin("GET", "export/Leads").json()["data"]
            if any(r.get("Last_Name") == "Within the latency" for r in rows):
                seen_at = time.monotonic()
        answer = write.result()
    answered_at = time.monotonic()
    assert answer.status_code == 201, answer.text
    assert seen_at is not None, "the write landed only once its answer was on its way"
    # the answer waits out the rest of the latency after the work (lower bounds: sleeps, never a time limit)
    assert answered_at - seen_at >= 0.5
    assert answered_at - started >= 1.5


def test_fault_counts_by_kind_are_in_stats(make_emulator):
    z = faulty(make_emulator, fault_rate=1, fault_kinds=["500", "503"])
    outcomes = Counter(outcome(z) for _ in range(20))
    stats = z.emu.stats()
    assert stats["faults_injected"] == {k: outcomes[k] for k in ("500", "503") if outcomes[k]}
    assert stats["statuses"].get("fault:500", 0) == outcomes["500"]


# -- the draw itself ----------------------------------------------------------------------

@given(st.integers(0, 2**32), st.floats(0, 1), st.lists(st.sampled_from(ALL_KINDS), min_size=1, max_size=4))
def test_draws_are_a_pure_function_of_seed_and_call_number(seed, rate, kinds):
    a, b = FaultInjector(seed, rate, tuple(kinds)), FaultInjector(seed, rate, tuple(kinds))
    draws = [a.draw() for _ in range(50)]
    assert draws == [b.draw() for _ in range(50)]
    assert all(d is None or d.kind in kinds for d in draws)
    if rate == 0:
        assert draws == [None] * 50
    if rate == 1:
        assert None not in draws
    assert sum(a.snapshot().values()) == sum(d is not None for d in draws)
