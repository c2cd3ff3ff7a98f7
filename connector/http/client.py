"""``ZohoHttp``: every CRM call of a connection goes through here.

One pooled ``requests`` session per connection; ``Authorization:
Zoho-oauthtoken``; retries with exponential backoff and full jitter (tenacity)
on 429, 5xx, Zoho's throttle/error bodies and dropped connections, honouring
``Retry-After``; an INVALID_TOKEN answer refreshes the token once and replays;
a semaphore caps concurrent calls (MaxConcurrency); credits are counted per
call and each call is written to the audit log.

Writes that are not idempotent (``idempotent=False``) are not replayed after
an *ambiguous* failure (the connection dropped after the request was sent):
the caller gets a :class:`RetriableError` with ``ambiguous=True`` and must
reconcile (the writers look the rows up by key before trying again).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.models import PreparedRequest
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base

from connector.config.config import ConnectionConfig
from connector.config.transport import configure_session, describe_unreachable, timeouts
from connector.config.values import Secret
from connector.errors import ApiError, AuthError, ConnectorError, FatalApiError, RetriableError
from connector.redaction import redact

from . import calllog
from .audit import AuditLog
from .classify import classify, is_invalid_token, lost_answer, parse_body
from .credits import CreditMeter, estimate_credits

log = logging.getLogger("connector.http")
T = TypeVar("T")

# Worker threads (page prefetch, concurrent write batches) do not see Ctrl-C or SIGTERM: the
# thread that owns them sets this event when it stops, and their retry backoffs end at once.
_CANCEL: ContextVar[threading.Event | None] = ContextVar("zohocrm_cancel", default=None)


class CallCancelled(RetriableError):
    """The work this call belonged to was stopped (Ctrl-C, SIGTERM): the call was not sent."""


def cancellable(cancel: threading.Event, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` (in a worker thread) so that its calls stop waiting once ``cancel`` is set."""
    token = _CANCEL.set(cancel)
    try:
        return fn(*args)
    finally:
        _CANCEL.reset(token)


def _check_cancelled() -> None:
    cancel = _CANCEL.get()
    if cancel is not None and cancel.is_set():
        raise CallCancelled("not sent: the run is stopping", hint="run it again to go on")


def pause(seconds: float) -> None:
    """Sleep ``seconds``, or raise :class:`CallCancelled` as soon as the current work is cancelled."""
    cancel = _CANCEL.get()
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        _check_cancelled()


class TokenProvider(Protocol):
    """What the HTTP layer needs from the auth layer."""

    def access_token(self) -> Secret: ...

    def invalidate(self, token: Secret) -> None: ...

    @property
    def api_domain(self) -> str | None: ...


@dataclass
class ZohoResponse:
    status: int
    body: Any
    headers: dict[str, str]
    content: bytes
    credits: int

    @property
    def empty(self) -> bool:
        return self.status in (204, 304)


class Backoff(wait_base):
    """Exponential backoff with jitter (half to all of the step), raised to Retry-After when Zoho sends one."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(self.cap, self.base * (2 ** (state.attempt_number - 1)))
        wait = random.uniform(ceiling / 2, ceiling)
        hinted = exc.retry_after if isinstance(exc, RetriableError) else None
        if hinted:
            wait = max(wait, min(float(hinted), self.cap))
        return wait


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, RetriableError) and not isinstance(exc, CallCancelled) and not exc.ambiguous


def charged_credits(estimate: int, error: BaseException | None) -> int:
    """What a call costs: the table's price when it succeeds, 1 for a request Zoho refused
    after processing it (4xx), nothing when it never reached the handler (401, 429, 5xx,
    transient error bodies). Zoho does not document what failed calls cost (unconfirmed);
    this is the emulator's reading, so only failed calls can make the meter drift."""
    if error is None:
        return estimate
    return 1 if isinstance(error, FatalApiError) else 0


_DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class _MaskedHeader(str):
    """The Authorization header value: sent as is, but its repr (a frame local, a dict of headers
    printed by a library) never shows the token."""

    def __repr__(self) -> str:
        return repr(self.split(" ", 1)[0] + " ***")


class ZohoTokenAuth(AuthBase):
    """Sets ``Authorization: Zoho-oauthtoken ...`` on the prepared request, at the last moment.

    The token stays a :class:`Secret` until requests calls this hook, so no dict of headers in
    the connector's frames ever holds it (rich ``show_locals``, Sentry, ``pytest --showlocals``).
    """

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "ZohoTokenAuth(token='***')"

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        r.headers["Authorization"] = _MaskedHeader("Zoho-oauthtoken " + self._token.reveal())
        return r


class ZohoHttp:
    def __init__(self, config: ConnectionConfig, tokens: TokenProvider, *, audit: AuditLog | None = None,
                 meter: CreditMeter | None = None, backoff_base: float = 0.5, backoff_cap: float = 30.0) -> None:
        self.config = config
        self.tokens = tokens
        self.audit = audit or (AuditLog(config.audit_log) if config.audit_log else None)
        self.meter = meter or CreditMeter()
        self.backoff = Backoff(backoff_base, backoff_cap)
        self.session = configure_session(requests.Session(), config)
        pool = max(4, config.max_concurrency * 2)
        adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(config.max_concurrency)
        self.timeout = timeouts(config)
        self._stats_lock = threading.Lock()
        #: HTTP attempts made, and how many of them were retries of a failed attempt
        self.attempts = 0
        self.retries = 0
        #: timings and records per call kind, for the session's summary lines in the Logfile
        self.stats = calllog.CallStats()

    def __repr__(self) -> str:
        return f"ZohoHttp(api_domain={self.api_domain!r}, max_concurrency={self.config.max_concurrency})"

    def _count_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        with self._stats_lock:
            self.retries += 1
        self.stats.add_backoff(wait)
        log.info("retrying after %s in %.2f s (attempt %d)", type(exc).__name__ if exc else "?", wait,
                 state.attempt_number + 1, extra={"zohocrm": {"event": "retry", "seconds": round(wait, 3),
                                                              "attempt": state.attempt_number + 1}})

    # -- URLs -------------------------------------------------------------------------

    @property
    def api_domain(self) -> str:
        """Where CRM calls go: the APIServer override, else the api_domain Zoho returned with the token."""
        if self.config.api_server_override:
            return self.config.api_server_override
        return self.tokens.api_domain or self.config.api_domain

    def url(self, path: str, base: str = "api") -> str:
        if path.startswith(("http://", "https://")):
            return path
        v = self.config.api_version
        if base == "api":
            return f"{self.api_domain}/crm/{v}{path}"
        if base == "bulk":
            return f"{self.api_domain}/crm/bulk/{v}{path}"
        if base == "content":
            return f"{self.config.content_server}/crm/{v}{path}"
        if base == "root":
            return f"{self.api_domain}{path}"
        raise ValueError(f"unknown base {base!r}")

    # -- calls ------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> ZohoResponse:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> ZohoResponse:
        return self.request("POST", path, json=json, **kw)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                data: Any = None, files: Any = None, headers: dict[str, str] | None = None, base: str = "api",
                idempotent: bool | None = None, batch: bool = False, kind: str = "",
                what: str | None = None, stream: bool = False, expected: tuple[str, ...] = ()) -> ZohoResponse:
        """One API call with auth, retries, throttling, credits and audit.

        ``expected``: error codes the caller takes as an answer (a probe for an id in every module
        it may belong to); raised as usual, but logged at INFO, not as a failed call.

        ``batch``: a batch write; a 400 carrying a per-record ``data`` array is returned,
        not raised, so the caller can report every row. ``idempotent`` defaults to True
        for GET/PUT/DELETE and False for POST.
        """
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        if not self.config.api_server_override and self.tokens.api_domain is None:
            # The API host is the api_domain Zoho returns with the token (the user's data
            # center): get the token before the URL is built, or the first call goes to the
            # Region's default host.
            self.tokens.access_token()
        url = self.url(path, base)
        what = what or f"{method} {redact(url.split('?', 1)[0])}"
        credits = estimate_credits(method, url, params, json)
        retrying = Retrying(stop=stop_after_attempt(self.config.max_retries + 1), wait=self.backoff,
                            retry=retry_if_exception(_retriable), reraise=True, before_sleep=self._count_retry,
                            sleep=pause)
        try:
            return retrying(self._attempt_with_refresh, method, url, params, json, data, files, headers,
                            idempotent, batch, kind or method.lower(), what, credits, stream)
        except CallCancelled:
            raise  # not a failure: the run is stopping, and says so itself
        except ConnectorError as exc:
            # Verbosity 0 and up: every call that finally failed (after its retries) is in the Logfile.
            level = logging.INFO if _code(exc) in expected else logging.ERROR
            log.log(level, "%s failed: %s", what, exc, extra={"zohocrm": {
                "event": "call_failed", "method": method, "path": _path(url), "error": type(exc).__name__,
                "code": _code(exc)}})
            raise
        except Exception as exc:  # never let a raw library error (which may quote a URL) escape
            raise ConnectorError(f"{what}: {redact(exc)}") from None

    def _attempt_with_refresh(self, *args: Any) -> ZohoResponse:
        try:
            return self._attempt(*args)
        except AuthError as exc:
            if not exc.renewable:
                raise
            # INVALID_TOKEN: the token expired or was revoked under us (our clock and Zoho's
            # disagree, or another client revoked it); the provider renews it: replay once.
            return self._attempt(*args)

    def _attempt(self, method: str, url: str, params: dict[str, Any] | None, json: Any, data: Any, files: Any,
                 headers: dict[str, str] | None, idempotent: bool, batch: bool, kind: str, what: str,
                 credits: int, stream: bool) -> ZohoResponse:
        _check_cancelled()  # a stopping run sends nothing new (the cancel is set by the thread that owns this one)
        token = self.tokens.access_token()  # a Secret: revealed only inside ZohoTokenAuth
        if hasattr(files, "seek"):
            files.seek(0)
        with self._stats_lock:
            self.attempts += 1
        self._log_request(method, url, params, json, data, files)
        queued_from = time.monotonic()
        try:
            with self._slots:
                started = time.monotonic()
                resp = self.session.request(method, url, params=params, json=json, data=data, files=files,
                                            headers=headers, auth=ZohoTokenAuth(token), timeout=self.timeout,
                                            stream=stream)
                if not stream:
                    _ = resp.content  # read inside the slot so the semaphore bounds open transfers
        except _DROPPED as exc:
            elapsed = time.monotonic() - queued_from
            self.stats.add_call(kind, elapsed, 0.0, 0)
            self._audit(method, url, "dropped", None, 0, kind)
            message, hint = describe_unreachable(exc, url, self.config)
            log.info("%s failed after %.3f s: %s", what, elapsed, message,
                     extra={"zohocrm": {"event": "call", "method": method, "path": _path(url), "status": "dropped",
                                        "seconds": round(elapsed, 3), "credits": 0}})
            # Refused or unreachable before anything was sent: safe to retry even a write.
            raise lost_answer(exc, what=what, message=message, hint=hint, idempotent=idempotent) from None
        finished = time.monotonic()
        remaining = resp.headers.get("X-API-CREDITS-REMAINING")
        self._log_response(resp, stream)
        if stream and resp.status_code == 200 and "json" not in resp.headers.get("Content-Type", ""):
            self.meter.add(kind, credits, remaining)
            self._audit(method, url, resp.status_code, None, credits, kind)
            self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, credits, 0)
            return _StreamingResponse(resp, credits)
        try:
            body = classify(resp, what=what) if not (batch and self._is_batch_answer(resp)) else parse_body(resp)
        except AuthError as exc:
            self.meter.add(kind, 0, remaining)
            self._audit(method, url, resp.status_code, exc.zoho_error, 0, kind)
            self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, 0, 0)
            if is_invalid_token(exc):
                try:
                    self.tokens.invalidate(token)  # raises when the token cannot be renewed (OFF)
                except AuthError as final:
                    raise final from None
                exc.renewable = True  # renewed: the caller replays once with the new token
            raise
        except ConnectorError as exc:
            cost = charged_credits(credits, exc)
            self.meter.add(kind, cost, remaining)
            self._audit(method, url, resp.status_code, _code(exc), cost, kind)
            self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, cost, 0)
            raise
        self.meter.add(kind, credits, remaining)
        records = len(body["data"]) if isinstance(body, dict) and isinstance(body.get("data"), list) else 0
        self._audit(method, url, resp.status_code, None, credits, kind, records)
        self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, credits, records)
        return ZohoResponse(resp.status_code, body, dict(resp.headers), resp.content, credits)

    # -- the Logfile, by Verbosity (see calllog) ---------------------------------------------

    def _log_request(self, method: str, url: str, params: dict[str, Any] | None, json: Any, data: Any,
                     files: Any) -> None:
        if not log.isEnabledFor(calllog.REQUEST):
            return
        prepared = PreparedRequest()
        prepared.prepare_url(url, params)
        log.log(calllog.REQUEST, "-> %s %s", method, redact(prepared.url or url),
                extra={"zohocrm": {"event": "request", "method": method, "path": _path(url)}})
        if json is not None and log.isEnabledFor(logging.DEBUG):
            log.debug("   request body shape: %s", calllog.shape(json))
        elif files is not None:
            log.debug("   request body: a multipart file upload")
        elif data is not None:
            log.debug("   request body: %s", calllog.shape(data))
        if json is not None and log.isEnabledFor(calllog.TRACE):
            log.log(calllog.TRACE, "   request body: %s", calllog.body_text(json))

    def _log_response(self, resp: requests.Response, stream: bool) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        log.debug("   request headers: %s", calllog.headers_text(resp.request.headers))
        log.debug("   response headers: %s", calllog.headers_text(resp.headers))
        if stream:
            log.debug("   response body: streamed (%s)", resp.headers.get("Content-Type", "unknown type"))
            return
        try:
            parsed: Any = resp.json() if resp.content else None
        except ValueError:
            parsed = None
        if parsed is not None:
            log.debug("   response body shape: %s", calllog.shape(parsed))
        else:
            log.debug("   response body: %d bytes of %s", len(resp.content),
                      resp.headers.get("Content-Type", "unknown type"))
        if log.isEnabledFor(calllog.TRACE) and resp.content:
            log.log(calllog.TRACE, "   response body: %s", calllog.body_text(resp.content))

    def _log_call(self, kind: str, what: str, url: str, method: str, status: int, started: float,
                  queued_from: float, finished: float, credits: int, records: int) -> None:
        queued, seconds = started - queued_from, finished - started
        number = self.stats.add_call(kind, seconds, queued, records)
        if not log.isEnabledFor(logging.INFO):
            return
        log.info("%s -> %d in %.3f s%s (%d credit%s, %d record%s)", what, status, seconds,
                 f", queued {queued:.3f} s for a free slot" if queued >= 0.001 else "", credits,
                 "" if credits == 1 else "s", records, "" if records == 1 else "s",
                 extra={"zohocrm": {"event": "call", "call": number, "kind": kind, "method": method,
                                    "path": _path(url), "status": status, "seconds": round(seconds, 4),
                                    "seconds_queued": round(queued, 4), "credits": credits, "records": records}})

    @staticmethod
    def _is_batch_answer(resp: requests.Response) -> bool:
        if resp.status_code not in (200, 201, 202, 207, 400, 412):
            return False
        body = parse_body(resp)
        data = body.get("data") if isinstance(body, dict) else None
        return isinstance(data, list) and bool(data) and all(isinstance(x, dict) and "status" in x for x in data)

    def _audit(self, method: str, url: str, status: int | str, code: str | None, credits: int, kind: str,
               records: int = 0) -> None:
        if self.audit is not None:
            self.audit.record(method=method, path=url, status=status, code=code, records=records,
                              credits=credits, operation=kind)

    def close(self) -> None:
        self.session.close()


def _code(exc: ConnectorError) -> str | None:
    """Zoho's code for a failed call, whichever branch of the tree carries it."""
    if isinstance(exc, ApiError):
        return exc.code
    return exc.zoho_error if isinstance(exc, AuthError) else None


def _path(url: str) -> str:
    """A URL without its query string (which may quote criteria or values), masked."""
    return redact(url.split("?", 1)[0])


class _StreamingResponse(ZohoResponse):
    """A response whose body is read by the caller in chunks (bulk downloads)."""

    def __init__(self, resp: requests.Response, credits: int) -> None:
        super().__init__(resp.status_code, None, dict(resp.headers), b"", credits)
        self.raw = resp

    def iter_content(self, chunk_size: int = 1 << 20) -> Any:
        return self.raw.iter_content(chunk_size)
