"""``ZohoHttp``: every CRM call of a connection goes through here.

One pooled ``requests`` session per connection; ``Authorization:
Zoho-oauthtoken``; retries with exponential backoff and full jitter (tenacity)
on 429, 5xx, Zoho's throttle/error bodies and dropped connections, honouring
``Retry-After``; an INVALID_TOKEN answer refreshes the token once and replays;
slots cap concurrent calls (MaxConcurrency, and Zoho's 10 for heavy calls:
:mod:`.concurrency`); credits are counted per
call and each call is written to the audit log.

Writes that are not idempotent (``idempotent=False``) are not replayed after
an *ambiguous* failure (the connection dropped after the request was sent):
the caller gets a :class:`RetriableError` with ``ambiguous=True`` and must
reconcile (the writers look the rows up by key before trying again).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.models import PreparedRequest
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

from connector.config.config import ConnectionConfig
from connector.config.transport import (
    NOTHING_LISTENING,
    certificate_rejected,
    configure_session,
    describe_unreachable,
    timeouts,
)
from connector.config.values import Secret
from connector.errors import (
    ApiError,
    AuthError,
    ConnectorError,
    CreditBudgetReached,
    PermissionDenied,
)
from connector.redaction import redact

from . import calllog
from .audit import AuditLog
from .classify import classify, is_invalid_token, listed_count, lost_answer, parse_body
from .concurrency import Slots, is_heavy
from .credits import CreditMeter, estimate_credits
from .latency import Latency
from .policy import CallPolicy, Decision, allowing_hint, policy_url, purpose_headers
from .retry import Backoff as Backoff  # re-exported (tests and callers import them from here)
from .retry import CallCancelled, check_cancelled, retriable
from .retry import cancellable as cancellable
from .retry import charged_credits as charged_credits
from .retry import pause as pause
from .throttle import CallRate, CreditBudget

log = logging.getLogger("connector.http")
T = TypeVar("T")

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


#: call kinds sent with POST that read (COQL, creating a Bulk Read job): they change nothing
READ_ONLY_KINDS = frozenset({"coql", "bulk_read"})
_DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def read_whole(resp: requests.Response) -> bytes:
    """The body of a response asked with ``stream=True``, read in one call and kept as ``resp.content``.

    ``requests`` reads a body 10 KB at a time through urllib3's generator: some 5 ms of CPU (under the GIL)
    for a 4 MB COQL page, against about 1 ms read whole. urllib3's errors become the ones ``requests``
    raises for the same failure (a cut connection, a timeout, a bad encoding), so callers see no change."""
    if resp._content is False and not resp._content_consumed and resp.raw is not None:  # noqa: SLF001
        try:
            body = resp.raw.read(decode_content=True)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except ReadTimeoutError as exc:
            raise requests.ConnectionError(exc) from exc
        except Urllib3SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        resp._content = body or b""  # noqa: SLF001
        resp._content_consumed = True  # noqa: SLF001
    return resp.content


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL (the part a refused connection is about)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
        self.policy = CallPolicy(config)
        #: the broker workspace this connection serves (named in its audit lines), "" otherwise
        self.workspace = ""
        self.rate = CallRate(config.calls_per_minute, sleep=pause)
        self.budget = CreditBudget(config)
        self.backoff = Backoff(backoff_base, backoff_cap)
        self.session = configure_session(requests.Session(), config)
        pool = max(4, config.max_concurrency * 2)
        adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._slots = Slots(config.max_concurrency)
        self.timeout = timeouts(config)
        self._stats_lock = threading.Lock()
        #: HTTP attempts made, and how many of them were retries of a failed attempt
        self.attempts = 0
        self.retries = 0
        #: timings and records per call kind, for the session's summary lines in the Logfile
        self.stats = calllog.CallStats()
        #: calls sent that may change records (anything but a GET and the read-only POSTs): what caches
        #: Zoho's contents (the planner's statistics) compares it to know it is out of date
        self.writes = 0
        #: moving average of how long calls take to answer (the planner prices a read's time with it)
        self.latency = Latency()
        #: origins (scheme://host:port) that have answered this connection at least once
        self._answered: set[str] = set()

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
        """The URL of ``path`` under Zoho's API (``base``: ``api``, ``bulk``, ``content`` or ``root``); a path
        given without its leading slash (``Leads``) means the same as with it (``/Leads``)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
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
                what: str | None = None, stream: bool = False, expected: tuple[str, ...] = (),
                raw: bool = False) -> ZohoResponse:
        """One API call with auth, retries, throttling, credits and audit.

        ``expected``: error codes the caller takes as an answer (a probe for an id in every module
        it may belong to); raised as usual, but logged at INFO, not as a failed call.

        ``batch``: a batch write; a 400 carrying a per-record ``data`` array is returned,
        not raised, so the caller can report every row. ``idempotent`` defaults to True
        for GET/PUT/DELETE and False for POST.

        ``raw``: the caller wants the answer's bytes (``content``; a broker forwards them), so a
        page of records Zoho answered in full is not decoded: its audit line counts the records
        by the page's ``info`` and ``body`` is decoded only if asked for. Errors, retries and
        credits are decided as for any call.
        """
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        # Decided before anything is sent, the token request included: a refused call never reaches Zoho.
        decision = self.policy.decide(self.policy.classify(method, policy_url(self.config, path, base), json,
                                                           params))
        if not decision.allowed:
            self.refuse(decision, method=method, path=policy_url(self.config, path, base), kind=kind or method.lower())
        if not self.config.api_server_override and self.tokens.api_domain is None:
            # The API host is the api_domain Zoho returns with the token (the user's data
            # center): get the token before the URL is built, or the first call goes to the
            # Region's default host.
            self.tokens.access_token()
        url = self.url(path, base)
        if method != "GET" and kind not in READ_ONLY_KINDS:
            with self._stats_lock:
                self.writes += 1
        what = what or f"{method} {redact(url.split('?', 1)[0])}"
        credits = estimate_credits(method, url, params, json)
        retrying = Retrying(stop=stop_after_attempt(self.config.max_retries + 1), wait=self.backoff,
                            retry=retry_if_exception(retriable), reraise=True, before_sleep=self._count_retry,
                            sleep=pause)
        try:
            return retrying(self._attempt_with_refresh, method, url, params, json, data, files, headers,
                            idempotent, batch, kind or method.lower(), what, credits, stream, raw, decision)
        except (CallCancelled, CreditBudgetReached):
            raise  # not a failure: the run is stopping (never sent), and says so itself
        except ConnectorError as exc:
            # Verbosity 0 and up: every call that finally failed (after its retries) is in the Logfile.
            level = logging.INFO if _code(exc) in expected else logging.ERROR
            reason = str(exc)
            reason = reason[len(what) + 2:] if reason.startswith(f"{what}: ") else reason  # not the call twice
            log.log(level, "%s failed: %s", what, reason, extra={"zohocrm": {
                "event": "call_failed", "method": method, "path": _path(url), "error": type(exc).__name__,
                "code": _code(exc)}})
            raise
        except Exception as exc:  # never let a raw library error (which may quote a URL) escape
            raise ConnectorError(f"{what}: {redact(exc)}") from None

    def _attempt_with_refresh(self, *args: Any) -> ZohoResponse:
        try:
            resp = self._attempt(*args)
        except AuthError as exc:
            if not exc.renewable:
                raise
            # INVALID_TOKEN: the token expired or was revoked under us (our clock and Zoho's
            # disagree, or another client revoked it); the provider renews it: replay once.
            resp = self._attempt(*args)
        decision: Decision = args[-1]
        if decision.operation == "bulk_read" and args[0] == "POST" and isinstance(resp.body, dict):
            try:  # later polls and the download name only the job: remember its module
                self.policy.remember_job(str(resp.body["data"][0]["details"]["id"]), decision.module)
            except (KeyError, IndexError, TypeError):
                pass
        return resp

    def _attempt(self, method: str, url: str, params: dict[str, Any] | None, json: Any, data: Any, files: Any,
                 headers: dict[str, str] | None, idempotent: bool, batch: bool, kind: str, what: str,
                 credits: int, stream: bool, raw: bool, decision: Decision) -> ZohoResponse:
        check_cancelled()  # a stopping run sends nothing new (the cancel is set by the thread that owns this one)
        self.rate.acquire()  # CallsPerMinute: waits its turn (cancellable)
        check_cancelled()
        self.budget.reserve(credits)  # CreditBudget(PerDay): raises before sending when it would pass
        charged = _Charged()
        try:
            return self._send(method, url, params, json, data, files, headers, idempotent, batch, kind, what,
                              credits, stream, raw, decision, charged)
        finally:
            self.budget.settle(credits, charged.credits)

    def _send(self, method: str, url: str, params: dict[str, Any] | None, json: Any, data: Any, files: Any,
              headers: dict[str, str] | None, idempotent: bool, batch: bool, kind: str, what: str,
              credits: int, stream: bool, raw: bool, decision: Decision, charged: _Charged) -> ZohoResponse:
        token = self.tokens.access_token()  # a Secret: revealed only inside ZohoTokenAuth
        if hasattr(files, "seek"):
            files.seek(0)
        with self._stats_lock:
            self.attempts += 1
        calllog.log_request(method, url, params, json, data, files)
        if self.config.broker:  # the broker decides with the purpose the call serves (SQL, a write's own reads)
            headers = {**(headers or {}), **purpose_headers()}
        queued_from = time.monotonic()
        try:
            with self._slots.held(is_heavy(method, url, params, json), first=kind == "metadata",
                                   finishing=kind == "file_download"):
                check_cancelled()  # the run stopped while this call waited for a slot: it is not sent
                started = time.monotonic()
                resp = self.session.request(method, url, params=query_string(params), json=json, data=data, files=files,
                                            headers=headers, auth=ZohoTokenAuth(token), timeout=self.timeout,
                                            stream=True)
                if not stream:
                    read_whole(resp)  # inside the slot, so the semaphore bounds open transfers
        except _DROPPED as exc:
            elapsed = time.monotonic() - queued_from
            self.stats.add_call(kind, elapsed, 0.0, 0)
            self._audit(method, url, "dropped", None, 0, kind, decision)
            message, hint = describe_unreachable(exc, url, self.config)
            log.info("%s failed after %.3f s: %s", what, elapsed, message,
                     extra={"zohocrm": {"event": "call", "method": method, "path": _path(url), "status": "dropped",
                                        "seconds": round(elapsed, 3), "credits": 0}})
            # Refused or unreachable before anything was sent: safe to retry even a write. But nothing
            # listening on this machine at an address that never answered (a broker or emulator not started,
            # a wrong port) will not start during a backoff: said at once, not after a minute of retries.
            # Once it has answered, a refusal is a restart under way, and is waited for as usual.
            # Nor does a backoff make a certificate that did not verify trusted.
            first_contact = message.startswith(NOTHING_LISTENING) and _origin(url) not in self._answered
            raise lost_answer(exc, what=what, message=message, hint=hint, idempotent=idempotent,
                              now=not (first_contact or certificate_rejected(exc))) from None
        self._answered.add(_origin(url))
        finished = time.monotonic()
        if not stream:  # a streamed download's time is its size's, not the round trip's
            self.latency.observe(finished - started)
        remaining = resp.headers.get("X-API-CREDITS-REMAINING")
        calllog.log_response(resp, stream)
        if stream and resp.status_code == 200 and "json" not in resp.headers.get("Content-Type", ""):
            charged.credits = credits
            self.meter.add(kind, credits, remaining)
            self._audit(method, url, resp.status_code, None, credits, kind, decision)
            self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, credits, 0)
            return _StreamingResponse(resp, credits)
        listed = listed_count(resp) if raw else None
        try:
            if listed is not None:  # a page answered in full: its bytes go on undecoded
                body: Any = None
            elif batch and self._is_batch_answer(resp):
                body = parse_body(resp)
            else:
                body = classify(resp, what=what)
        except AuthError as exc:
            self.meter.add(kind, 0, remaining)
            self._audit(method, url, resp.status_code, exc.zoho_error, 0, kind, decision)
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
            charged.credits = cost
            self.meter.add(kind, cost, remaining)
            self._audit(method, url, resp.status_code, _code(exc), cost, kind, decision)
            self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, cost, 0)
            raise
        charged.credits = credits
        self.meter.add(kind, credits, remaining)
        if listed is not None:
            records = listed
        else:
            records = len(body["data"]) if isinstance(body, dict) and isinstance(body.get("data"), list) else 0
        self._audit(method, url, resp.status_code, None, credits, kind, decision, records)
        self._log_call(kind, what, url, method, resp.status_code, started, queued_from, finished, credits, records)
        if listed is not None:
            return _UndecodedResponse(resp, credits)
        return ZohoResponse(resp.status_code, body, dict(resp.headers), resp.content, credits)

    # -- the Logfile, by Verbosity (see calllog) ---------------------------------------------

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
               decision: Decision, records: int = 0) -> None:
        if self.audit is not None:
            self.audit.record(method=method, path=url, status=status, code=code, records=records,
                              credits=credits, operation=decision.operation, module=decision.module,
                              decision=decision.word, reason=decision.reason, api=kind, workspace=self.workspace)

    def refuse(self, decision: Decision, *, method: str, path: str, kind: str) -> NoReturn:
        """Audit a denied call (or statement: ``method="SQL"``) and raise; nothing is sent, no token asked for."""
        self._audit(method, path, "denied", None, 0, kind, decision)
        on = f" on {decision.module}" if decision.module else ""
        log.warning("refused %s%s: %s", decision.operation, on, decision.reason,
                    extra={"zohocrm": {"event": "denied", "operation": decision.operation, "module": decision.module}})
        raise PermissionDenied(f"{decision.operation}{on}: not allowed by this connection ({decision.reason})",
                               hint=allowing_hint(self.config, decision))

    def close(self) -> None:
        self.session.close()
        if self.audit is not None:
            self.audit.flush()  # the run's last read lines on disk now, not within FLUSH_DELAY_S


def _code(exc: ConnectorError) -> str | None:
    """Zoho's code for a failed call, whichever branch of the tree carries it."""
    if isinstance(exc, ApiError):
        return exc.code
    return exc.zoho_error if isinstance(exc, AuthError) else None


def query_string(params: dict[str, Any] | None) -> str | None:
    """``params`` as requests would encode them (None values left out, a list repeats its key),
    but with commas kept as they are. Zoho's lists (``fields``, ``ids``) are comma-separated; a
    query with no %-escape in it lets urllib3 take its fast path instead of checking the target
    byte by byte in Python, which took about 1 ms per call of 100 ids, twice through a broker."""
    if not params:
        return None
    pairs = [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list | tuple) else (vs,))
             if v is not None]
    return urlencode(pairs, safe=",")


def _path(url: str) -> str:
    """A URL without its query string (which may quote criteria or values), masked."""
    return redact(url.split("?", 1)[0])


@dataclass
class _Charged:
    """What an attempt was charged (0 until Zoho answered), for the budget to settle."""

    credits: int = 0


class _StreamingResponse(ZohoResponse):
    """A response whose body is read by the caller in chunks (bulk downloads)."""

    def __init__(self, resp: requests.Response, credits: int) -> None:
        super().__init__(resp.status_code, None, dict(resp.headers), b"", credits)
        self.raw = resp

    def iter_content(self, chunk_size: int = 1 << 20) -> Any:
        return self.raw.iter_content(chunk_size)


class _UndecodedResponse(ZohoResponse):
    """A page kept as Zoho's bytes (``request(raw=True)``): its body is decoded on first use only."""

    def __init__(self, resp: requests.Response, credits: int) -> None:
        super().__init__(resp.status_code, None, dict(resp.headers), resp.content, credits)
        self._undecoded: requests.Response | None = resp

    @property
    def body(self) -> Any:
        if self._undecoded is not None:
            self._decoded, self._undecoded = parse_body(self._undecoded), None
        return self._decoded

    @body.setter
    def body(self, value: Any) -> None:
        self._decoded = value
