"""Pure parts of the HTTP layer: every answer classified once, and credits estimated like Zoho charges."""

from __future__ import annotations

import json
from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
)

from connector.emulator.handlers.coql import credits_for
from connector.errors import AuthError, ConnectorError, FatalApiError, QuotaExhaustedError, RetriableError
from connector.http.classify import classify, lost_answer, request_may_have_arrived
from connector.http.client import charged_credits
from connector.http.credits import CreditMeter, coql_credits, estimate_credits


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    if isinstance(body, (dict, list)):
        r._content = json.dumps(body).encode()
        r.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    else:
        r._content = (body or "").encode()
        r.headers = CaseInsensitiveDict({"Content-Type": "text/html", **(headers or {})})
    r.encoding = "utf-8"
    return r


def zoho_error(code: str, message: str = "m", **details: Any) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


TOO_MANY = zoho_error("TOO_MANY_REQUESTS", "Number of API requests for the 24 hour period is exceeded or the "
                                           "concurrency limit of the user for the app is exceeded.")


@pytest.mark.parametrize("resp, error, code", [
    (response(200, {"data": [{"id": "1"}], "info": {}}), None, None),
    (response(204), None, None),
    (response(304), None, None),
    (response(200, zoho_error("INTERNAL_ERROR")), RetriableError, "INTERNAL_ERROR"),  # success status, error body
    (response(401, zoho_error("INVALID_TOKEN")), AuthError, "INVALID_TOKEN"),
    (response(401, zoho_error("OAUTH_SCOPE_MISMATCH")), AuthError, "OAUTH_SCOPE_MISMATCH"),
    (response(429, TOO_MANY), RetriableError, "TOO_MANY_REQUESTS"),  # concurrency
    (response(429, TOO_MANY, {"X-API-CREDITS-REMAINING": "12"}), RetriableError, "TOO_MANY_REQUESTS"),
    (response(429, TOO_MANY, {"X-API-CREDITS-REMAINING": "0"}), QuotaExhaustedError, "TOO_MANY_REQUESTS"),
    (response(500, zoho_error("INTERNAL_ERROR")), RetriableError, "INTERNAL_ERROR"),
    (response(502, "<html><h1>502 Bad Gateway</h1></html>"), RetriableError, None),
    (response(503, "Service Unavailable"), RetriableError, None),
    (response(400, zoho_error("INVALID_MODULE", module="Lead")), FatalApiError, "INVALID_MODULE"),
    (response(400, "oops"), FatalApiError, None),
    (response(200, {"data": [zoho_error("MANDATORY_NOT_FOUND", api_name="Last_Name", json_path="$.data[0]")]}),
     None, None),  # a per-record error is the writer's to report, not a request failure
])
def test_classify(resp, error, code):
    if error is None:
        classify(resp, what="call")
        return
    with pytest.raises(error) as info:
        classify(resp, what="call")
    assert getattr(info.value, "code", None) == code or getattr(info.value, "zoho_error", None) == code
    assert "call" in str(info.value)


def test_retry_after_is_read_and_defaults_for_throttles():
    with pytest.raises(RetriableError) as info:
        classify(response(429, TOO_MANY, {"Retry-After": "7"}), what="x")
    assert info.value.retry_after == 7.0
    with pytest.raises(RetriableError) as info:
        classify(response(429, TOO_MANY), what="x")
    assert info.value.retry_after == 2.0
    with pytest.raises(RetriableError) as info:
        classify(response(503, "Service Unavailable"), what="x")
    assert info.value.retry_after is None and info.value.ambiguous is False  # an answer came: nothing is in doubt


def test_retry_facts_are_declared_fields_of_the_error_tree():
    """Declared with defaults on the classes that carry them, so no caller probes with getattr."""
    plain = RetriableError("x")
    assert plain.retry_after is None and plain.ambiguous is False
    lost = RetriableError("x", code="C", status=503, retry_after=3.0, ambiguous=True)
    assert (lost.retry_after, lost.ambiguous, lost.code, lost.status) == (3.0, True, "C", 503)
    assert AuthError("x").renewable is False and AuthError("x", renewable=True).renewable is True
    assert str(RetriableError("lost", hint="look the rows up", ambiguous=True)) == "lost (look the rows up)"


def _refused() -> NewConnectionError:
    return NewConnectionError(None, "[Errno 111] Connection refused")  # type: ignore[arg-type]


def _pool_error(reason: Exception) -> MaxRetryError:
    return MaxRetryError(None, "/crm/v8/Leads", reason)  # type: ignore[arg-type]


# What requests raises when no answer came, and whether the request may have reached Zoho.
NO_ANSWER = [
    ("refused", requests.ConnectionError(_pool_error(_refused())), False),
    ("name not resolved", requests.ConnectionError(_pool_error(
        NameResolutionError("zoho.invalid", None, OSError("Name or service not known")))), False),  # type: ignore[arg-type]
    ("connect timeout", requests.ConnectTimeout(_pool_error(ConnectTimeoutError("timed out"))), False),
    ("proxy refused", requests.exceptions.ProxyError(_pool_error(
        ProxyError("Unable to connect to proxy", _refused()))), False),
    ("proxy closed mid-answer", requests.exceptions.ProxyError(_pool_error(
        ProxyError("Unable to connect to proxy", ProtocolError("Connection aborted.")))), True),
    ("read timeout", requests.ReadTimeout(ReadTimeoutError(None, "/crm/v8/Leads", "read timed out")), True),  # type: ignore[arg-type]
    ("reset mid-answer", requests.ConnectionError(ProtocolError("Connection aborted.",
                                                                ConnectionResetError(104, "reset"))), True),
    ("body cut short", requests.exceptions.ChunkedEncodingError(ProtocolError("Response ended prematurely")), True),
    ("pool exhausted by retries on a dropped answer", requests.ConnectionError(_pool_error(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed")))), True),
]


@pytest.mark.parametrize("exc, arrived", [(e, a) for _, e, a in NO_ANSWER], ids=[n for n, _, _ in NO_ANSWER])
def test_a_call_without_an_answer_is_ambiguous_only_if_it_may_have_arrived(exc, arrived):
    assert request_may_have_arrived(exc) is arrived
    write = lost_answer(exc, what="POST /Leads", message="m", hint="h", idempotent=False)
    assert write.ambiguous is arrived and isinstance(write, RetriableError)
    # An idempotent call (GET, PUT, DELETE) may always be sent again.
    assert lost_answer(exc, what="GET /Leads", message="m", hint="h", idempotent=True).ambiguous is False


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                        max_size=4), max_leaves=12)


@given(st.integers(min_value=100, max_value=599), json_values | st.text(max_size=50))
def test_classify_returns_or_raises_only_connector_errors(status, body):
    try:
        classify(response(status, body if isinstance(body, (dict, list)) else str(body)), what="fuzz")
    except ConnectorError:
        pass


@pytest.mark.parametrize("method, path, params, body, credits", [
    ("GET", "/crm/v8/Leads", {"fields": "a"}, None, 1),
    ("GET", "/crm/v8/Leads", {"cvid": "123"}, None, 3),
    ("GET", "/crm/v8/Leads/deleted", None, None, 2),
    ("GET", "/crm/v8/org", None, None, 1),
    ("POST", "/crm/v8/Leads", None, {"data": [{}] * 25}, 3),
    ("PUT", "/crm/v8/Leads", None, {"data": [{}] * 100}, 10),
    ("POST", "/crm/v8/Leads/upsert", None, {"data": [{}] * 7}, 1),
    ("POST", "/crm/v8/coql", None, {"select_query": "select a from Leads where a is not null limit 1500"}, 3),
    ("POST", "/crm/bulk/v8/read", None, {"query": {}}, 50),
    ("GET", "/crm/bulk/v8/read/111", None, None, 1),
    ("POST", "/crm/bulk/v8/write", None, {}, 500),
    ("POST", "/oauth/v2/token", None, None, 0),
])
def test_estimate_credits(method, path, params, body, credits):
    assert estimate_credits(method, "http://h" + path, params, body) == credits


@given(st.integers(min_value=1, max_value=2000), st.integers(min_value=0, max_value=99_000), st.booleans())
def test_coql_credits_match_what_the_emulator_charges(limit, offset, comma_form):
    tail = f"limit {offset}, {limit}" if comma_form else f"LIMIT {limit} OFFSET {offset}"
    assert coql_credits(f"select Last_Name from Leads where Last_Name is not null {tail}") == credits_for(limit)


def test_coql_without_limit_is_one_credit():
    assert coql_credits("select Last_Name from Leads where Last_Name is not null") == credits_for(200) == 1


@pytest.mark.parametrize("error, charged", [
    (None, 7), (FatalApiError("x"), 1), (RetriableError("x"), 0), (AuthError("x"), 0),
    (QuotaExhaustedError("x"), 0),
])
def test_charged_credits(error, charged):
    assert charged_credits(7, error) == charged


def test_credit_meter_keeps_totals_and_the_last_remaining_header():
    meter = CreditMeter()
    meter.add("list", 1)
    meter.add("coql", 3, "120")
    meter.add("list", 1, "not-a-number")
    assert meter.snapshot() == {"credits": 5, "calls": 3, "by_kind": {"list": 2, "coql": 3}, "remaining": 120}
