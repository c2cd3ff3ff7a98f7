"""Credits, concurrency and sub-concurrency (limits-and-errors.md sections 1-4).

Concurrency tests give every call real latency (``latency_ms``) so that calls
started together overlap; they assert on statuses only, never on durations.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.emulator.clock import VirtualClock
from connector.emulator.limits import Limits
from connector.emulator.zoho_errors import ZohoError
from tests.conftest import ZohoClient

TOO_MANY = {"code": "TOO_MANY_REQUESTS", "details": {}, "status": "error",
            "message": "Number of API requests for the 24 hour period is exceeded or the concurrency limit of the "
                       "user for the app is exceeded."}
DAY = 86_400


def credits_header(r: requests.Response) -> str | None:
    return r.headers.get("X-API-CREDITS-REMAINING")


def test_exhausted_credits_give_429_until_the_window_rolls(make_emulator):
    emu = make_emulator(records=30, credits=10, token_ttl_s=3 * DAY)  # one token for the whole test
    z = ZohoClient(emu)
    for _ in range(5):
        assert z.get("/org").status_code == 200
    emu.advance_clock(DAY / 2)
    for _ in range(5):
        assert z.get("/org").status_code == 200
    r = z.get("/org")
    assert r.status_code == 429 and r.json() == TOO_MANY and credits_header(r) == "0"
    stats = emu.stats()
    assert stats["credits_used"] == 10 and stats["credits_remaining"] == 0
    # rolling window: the first five calls' credits come back 24 h after those calls, not at midnight
    emu.advance_clock(DAY / 2)
    for _ in range(5):
        assert z.get("/org").status_code == 200
    assert z.get("/org").status_code == 429
    emu.advance_clock(DAY / 2)
    assert z.get("/org").status_code == 200


def test_credits_remaining_header_appears_once_half_is_used(make_emulator):
    emu = make_emulator(records=30, credits=10)
    z = ZohoClient(emu)
    seen = [credits_header(z.get("/org")) for _ in range(10)]
    assert seen == [None, None, None, None, "5", "4", "3", "2", "1", "0"]


def test_failed_calls_cost_one_credit_rejected_calls_none(make_emulator):
    emu = make_emulator(records=30, credits=100)
    z = ZohoClient(emu)
    r = z.get("/Lead", params={"fields": "Last_Name"})  # the handler answers INVALID_MODULE
    assert r.status_code == 400 and emu.stats()["credits_used"] == 1
    assert z.get("/Leads").status_code == 400  # REQUIRED_PARAM_MISSING: still a call that ran
    assert emu.stats()["credits_used"] == 2
    # no org can be charged for calls that fail authentication, nor for unknown URLs
    requests.get(f"{emu.api_domain}/crm/v8/org", timeout=30)
    requests.get(f"{emu.api_domain}/crm/v8/org", headers={"Authorization": "Zoho-oauthtoken 1000.a.b"}, timeout=30)
    assert z.get("/no/such/path").status_code == 404
    assert emu.stats()["credits_used"] == 2


def test_the_token_endpoint_costs_no_credits(make_emulator):
    emu = make_emulator(records=30, credits=3)
    for _ in range(5):
        ZohoClient(emu)
    assert emu.stats()["credits_used"] == 0 and emu.stats()["tokens_minted"] == 5


def test_credit_budget_can_change_at_run_time(make_emulator):
    emu = make_emulator(records=30)
    z = ZohoClient(emu)
    assert z.get("/org").status_code == 200
    assert z.admin("POST", "config", json={"credits": 1}).json()["credits"] == 1
    assert z.get("/org").status_code == 429


# -- concurrency ----------------------------------------------------------------------------

def together(calls: list[tuple[dict[str, str], str, dict[str, Any]]]) -> list[requests.Response]:
    """Start all calls at the same moment, each on its own connection; answers in call order."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def one(i: int) -> None:
        headers, url, params = calls[i]
        with requests.Session() as s:
            barrier.wait()
            out[i] = s.get(url, headers=headers, params=params, timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def client_for_new_app(emu: Emulator) -> dict[str, str]:
    """Headers of a second OAuth client (another app) of the same org."""
    g = requests.post(f"{emu.origin}/__emulator/grant", json={"client": "new"}, timeout=30).json()
    body = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": g["client_id"], "client_secret": g["client_secret"],
        "refresh_token": g["refresh_token"]}, timeout=30).json()
    return {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}


def test_calls_over_the_concurrency_limit_get_429_not_a_queue(make_emulator):
    emu = make_emulator(records=30, concurrency=2, latency_ms=700)
    z = ZohoClient(emu)
    answers = together([(z.headers(), f"{z.base}/org", {})] * 6)
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 2 and statuses.count(429) >= 1
    assert all(r.json() == TOO_MANY for r in answers if r.status_code == 429)
    assert emu.stats()["rejected_429"] == statuses.count(429)
    assert z.get("/org").status_code == 200  # slots are given back


def test_concurrency_is_counted_per_client(make_emulator):
    emu = make_emulator(records=30, concurrency=1, latency_ms=700)
    z = ZohoClient(emu)
    other = client_for_new_app(emu)
    url = f"{z.base}/org"
    answers = together([(z.headers(), url, {}), (z.headers(), url, {}), (other, url, {})])
    assert sorted(r.status_code for r in answers[:2]) == [200, 429]
    assert answers[2].status_code == 200


@pytest.mark.parametrize("heavy", [True, False], ids=["sort_by", "plain"])
def test_heavy_calls_have_a_sub_concurrency_of_ten(make_emulator, heavy):
    emu = make_emulator(records=60, latency_ms=700)  # concurrency 20, sub-concurrency 10
    z = ZohoClient(emu)
    params = {"fields": "Last_Name", "per_page": 2}
    if heavy:
        params["sort_by"] = "Modified_Time"  # GET records with sort_by is a heavy call
    answers = together([(z.headers(), f"{z.base}/Leads", params)] * 13)
    statuses = [r.status_code for r in answers]
    if heavy:
        assert set(statuses) <= {200, 429} and statuses.count(200) >= 10 and statuses.count(429) >= 1
    else:
        assert statuses == [200] * 13


def test_counters_show_the_peak_concurrency_per_client_and_start_again_on_request(make_emulator):
    emu = make_emulator(records=60, latency_ms=700)  # concurrency 20, sub-concurrency 10
    z = ZohoClient(emu)
    heavy = {"fields": "Last_Name", "per_page": 2, "sort_by": "Modified_Time"}
    answers = together([(z.headers(), f"{z.base}/Leads", heavy)] * 13 + [(z.headers(), f"{z.base}/org", {})] * 3)
    admitted = sum(r.status_code == 200 for r in answers)
    seen = emu.stats()["concurrency"]
    assert (seen["limit"], seen["sub_limit"]) == (20, 10)
    assert seen["peak_heavy"] == 10 and seen["peak_heavy_per_client"] == {emu.client_id: 10}
    assert 10 <= seen["peak"] <= min(admitted, 20) and seen["peak_per_client"] == {emu.client_id: seen["peak"]}
    assert emu.stats()["rejected_429"] == 16 - admitted >= 1
    # POST reads the counters and starts the peaks again (one benchmark phase at a time)
    before = z.admin("POST", "stats").json()["concurrency"]
    assert before["peak_heavy"] == 10
    assert z.get("/org").status_code == 200
    after = emu.stats()["concurrency"]
    assert (after["peak"], after["peak_heavy"]) == (1, 0)


def test_concurrency_limit_can_change_at_run_time(make_emulator):
    emu = make_emulator(records=30, latency_ms=700)
    z = ZohoClient(emu)
    assert [r.status_code for r in together([(z.headers(), f"{z.base}/org", {})] * 3)] == [200] * 3
    z.admin("POST", "config", json={"concurrency": 1})
    statuses = sorted(r.status_code for r in together([(z.headers(), f"{z.base}/org", {})] * 3))
    assert statuses[0] == 200 and statuses[-1] == 429


# -- bulk download rate (used by the bulk read handler) -----------------------------------------

def test_ten_downloads_per_minute():
    clock = VirtualClock()
    limits = Limits(clock, credits=100, concurrency=5, sub_concurrency=10, downloads_per_minute=10)
    for _ in range(10):
        limits.check_download()
    with pytest.raises(ZohoError) as err:
        limits.check_download()
    assert err.value.status == 429 and err.value.code == "TOO_MANY_REQUESTS"
    clock.advance(60.5)
    limits.check_download()
