"""Every Zoho answer classified once, at the HTTP boundary, into the error tree.

limits-and-errors.md sections 5-8: a success status can hide an error (HTTP
200 with an error body), 429 means concurrency or credits, 5xx and dropped
connections are transient, 401 has three meanings, the rest is fatal and
carries Zoho's code, message and details.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from connector.errors import (
    ApiError,
    AuthError,
    CreditBudgetReached,
    FatalApiError,
    PermissionDenied,
    QuotaExhaustedError,
    RetriableError,
)
from connector.redaction import redact

#: Zoho codes worth a retry even when they arrive with a 4xx/200 status
RETRIABLE_CODES = {"INTERNAL_ERROR", "TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"}

HINTS = {
    "INVALID_TOKEN": "the access token expired or was revoked; the connector refreshes it once automatically",
    "OAUTH_SCOPE_MISMATCH": "the token lacks a scope for this call; add it to Scope and log in again "
                            "(`zohocrm auth login`)",
    "AUTHENTICATION_FAILURE": "the Authorization header was refused",
    "NO_PERMISSION": "the Zoho user's profile lacks this permission",
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED": "page/per_page reach only 2,000 records; use page_token",
    "PAGINATION_LIMIT_EXCEEDED": "page_token reaches only 100,000 records; use COQL keyset paging or Bulk Read",
    "LIMIT_REACHED": "search returns at most 2,000 records; use COQL or Bulk Read",
    "INVALID_URL_PATTERN": "check Region/APIServer and APIVersion",
}


def parse_body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    ctype = resp.headers.get("Content-Type", "")
    if "json" not in ctype and not resp.content.lstrip().startswith((b"{", b"[")):
        return None
    try:
        return resp.json()
    except ValueError:
        return None


_PAGE_START = re.compile(rb'\A\s*\{\s*"data"\s*:\s*\[')
_COLON = re.compile(rb'\s*:\s*')
_TAIL = re.compile(r'\s*\}\s*\Z')


def listed_count(resp: requests.Response) -> int | None:
    """The records of a 2xx page, read from its ``info`` alone, without decoding the records.

    Zoho's list-shaped answers (records, by ids, search, related records, COQL) are
    ``{"data":[...],"info":{...,"count":N,...}}``. A caller that only forwards the bytes (the
    broker) needs the count for its audit line, and decoding every record to count them was
    most of its own cost per page. The answer is None (decode it all, as before) unless the
    shape is certain: a JSON body that starts with ``{"data":[`` and ends with ``,"info":{...}}``,
    an object holding an integer ``count``. That ``"info"`` is a key of the outermost object:
    its opening quote follows a comma (a quote inside a string would follow a backslash), the
    quote after ``info`` is unescaped (so it closes the key), and its value is followed only by
    the document's last brace. A body of that shape is never an error object (those carry no
    ``data`` with ``info``), so nothing but the count is needed before the bytes go on.
    """
    if not 200 <= resp.status_code < 300 or resp.status_code == 204 or \
            "json" not in resp.headers.get("Content-Type", ""):
        return None
    content = resp.content
    if not _PAGE_START.match(content):
        return None
    at = content.rfind(b'"info"')
    if at <= 0 or content[max(0, at - 64):at].rstrip()[-1:] != b",":
        return None
    colon = _COLON.match(content, at + len(b'"info"'))
    if colon is None:
        return None
    try:
        tail = content[colon.end():].decode("utf-8")
        info, end = json.JSONDecoder().raw_decode(tail)
    except ValueError:
        return None
    count = info.get("count") if isinstance(info, dict) else None
    if not _TAIL.match(tail, end) or type(count) is not int or count < 0:
        return None
    return count


def error_object(body: Any) -> dict[str, Any] | None:
    """The request-level error object, top-level or wrapped as the single element of ``data``."""
    if isinstance(body, dict):
        if body.get("status") == "error" and "code" in body:
            return body
        data = body.get("data")
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) \
                and data[0].get("status") == "error" and "code" in data[0] and "info" not in body:
            # Some endpoints (bulk) wrap request-level errors; per-record batch errors are not
            # request-level and are handled by writers (they come with other elements or 207).
            return None if data[0].get("details", {}).get("json_path") else data[0]
    return None


def _retry_after(resp: requests.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw and raw.strip().isdigit():
        return float(raw.strip())
    return None


def classify(resp: requests.Response, *, what: str) -> Any:
    """Return the parsed body of a good answer, or raise the right error."""
    status = resp.status_code
    body = parse_body(resp)
    err = error_object(body)
    code = str(err.get("code")) if err else None
    message = redact(str(err.get("message", ""))) if err else ""
    details = err.get("details") if err and isinstance(err.get("details"), dict) else {}
    if status in (204, 304):
        return None
    if 200 <= status < 300 and err is None:
        return body if body is not None else resp.content
    # A zohocrm broker's refusals (connector/broker/server.py): its policy, and a workspace's budget.
    if status == 403 and code == "BROKER_DENIED":
        raise PermissionDenied(f"{what}: refused by the broker: {message}",
                               hint="the broker's policy for this workspace does not allow it; ask its operator")
    if status == 429 and code == "BROKER_BUDGET_REACHED":
        raise CreditBudgetReached(f"{what}: {message}", code=code, status=status,
                                  hint="the workspace's daily credit budget on the broker is spent; run again "
                                       "tomorrow (UTC) to resume")
    if status == 401:
        raise AuthError(f"{what}: {code or 'HTTP 401'} {message}".strip(), hint=HINTS.get(code or ""),
                        zoho_error=code)
    if status == 429 or code == "TOO_MANY_REQUESTS":
        remaining = resp.headers.get("X-API-CREDITS-REMAINING")
        if remaining is not None and remaining.strip() == "0":
            raise QuotaExhaustedError(
                f"{what}: the org's API credits for the rolling 24 hours are used up", code=code, status=status,
                details=details, hint="wait for credits to return, or raise the edition's limit")
        raise RetriableError(f"{what}: throttled by Zoho ({code or status})", code=code or "TOO_MANY_REQUESTS",
                             status=status, details=details, retry_after=_retry_after(resp) or 2.0)
    if status >= 500 or (code in RETRIABLE_CODES):
        raise RetriableError(f"{what}: Zoho answered {status}{' ' + code if code else ''} (transient)",
                             code=code, status=status, details=details, retry_after=_retry_after(resp))
    if err is None:
        snippet = redact(resp.text[:200]) if resp.text else ""
        raise FatalApiError(f"{what}: unexpected HTTP {status} {snippet}".strip(), status=status)
    raise FatalApiError(f"{what}: {code}: {message}", code=code, status=status, details=details,
                        hint=HINTS.get(code or ""))


def _never_connected(reason: BaseException | None) -> bool:
    """A urllib3 reason that says no connection to the server was ever made (refused, unresolvable
    name, connect timeout), looking through a proxy's own failure to the error under it."""
    import urllib3

    while reason is not None:
        # NameResolutionError is a NewConnectionError, which is a ConnectTimeoutError (urllib3 2).
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            return True
        reason = getattr(reason, "original_error", None)  # urllib3's ProxyError wraps what the proxy met
    return False


def request_may_have_arrived(exc: BaseException) -> bool:
    """Whether a call that got no answer may still have reached Zoho and been applied.

    No when the connection was never opened (refused, a name that does not resolve, a connect
    timeout, a proxy that could not be reached): nothing left this machine. Yes otherwise (a read
    timeout, a connection reset or closed mid-answer): the request may be on Zoho's side.
    Decided by the exception types requests and urllib3 raise, never by their text.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    inner = exc.args[0] if exc.args else None
    return not _never_connected(getattr(inner, "reason", None) if isinstance(inner, BaseException) else None)


def lost_answer(exc: BaseException, *, what: str, message: str, hint: str, idempotent: bool,
                now: bool = True) -> RetriableError:
    """The error for a call that got no HTTP answer: ``ambiguous`` when it was a write that is not
    idempotent and may have arrived (the caller reconciles; it is never replayed blindly); ``now``
    False when retrying within the call cannot help (:class:`~connector.errors.RetriableError`)."""
    return RetriableError(f"{what}: {message}", hint=hint,
                          ambiguous=not idempotent and request_may_have_arrived(exc), now=now)


def is_invalid_token(exc: BaseException) -> bool:
    return isinstance(exc, AuthError) and exc.zoho_error == "INVALID_TOKEN"


def describe(exc: ApiError) -> str:
    return f"{exc.code or exc.status}: {exc.message}"
