"""What the log says about API calls, level by level (the ``Verbosity`` property).

| Verbosity | the Logfile gets |
|---|---|
| 0 | errors only |
| 1 | + warnings, and one summary line per session when it closes (calls, retries, credits, records, seconds) |
| 2 | + one line per call with its timing (queued for a slot, on the wire), and where the session's time went |
| 3 | + the request line of every call before it is sent (method and URL with its query, secrets masked) |
| 4 | + request and response headers (masked) and the *shape* of every body (keys, list lengths, types) |
| 5 | + the bodies themselves, secrets masked, cut at 64 KB each |

Levels 1, 3 and 5 are log levels of their own (``SUMMARY`` 25, ``REQUEST`` 15, ``TRACE`` 5) between
the standard ones, so a handler's level alone decides what a Logfile holds. Every record a call
makes also carries structured fields (``record.zohocrm``: call, method, path, status, seconds,
credits, records...) for the JSON log format. Nothing here ever holds a token: headers go through
:func:`connector.redaction.redact_mapping` and bodies through :func:`connector.redaction.redact`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.models import PreparedRequest

from connector.logfile import REQUEST, SUMMARY, TRACE, VERBOSITY_LEVELS
from connector.redaction import redact, redact_mapping

__all__ = ["REQUEST", "SUMMARY", "TRACE", "VERBOSITY_LEVELS", "CallStats", "body_text", "headers_text",
           "log_summary", "shape"]

BODY_LIMIT = 64 * 1024
_SHAPE_KEYS = 25

log = logging.getLogger("connector.http")


def shape(value: Any, depth: int = 0) -> str:
    """A body's structure without its values: ``{data: [200 x {id: str, Email: str}], info: {...}}``."""
    if isinstance(value, Mapping):
        if depth >= 3:
            return f"{{{len(value)} keys}}"
        items = list(value.items())
        shown = ", ".join(f"{redact(str(k))}: {shape(v, depth + 1)}" for k, v in items[:_SHAPE_KEYS])
        more = f", ... {len(items) - _SHAPE_KEYS} more" if len(items) > _SHAPE_KEYS else ""
        return f"{{{shown}{more}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return f"[{len(value)} x {shape(value[0], depth + 1)}]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return type(value).__name__
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return f"<{type(value).__name__}>"


def body_text(value: Any) -> str:
    """A body for Verbosity 5: JSON text or decoded bytes, secrets masked, cut at BODY_LIMIT."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value[:BODY_LIMIT]).decode("utf-8", "replace")
        size = len(value)
    elif isinstance(value, str):
        text, size = value[:BODY_LIMIT], len(value)
    else:
        try:
            text = jsonlib.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
        size = len(text)
        text = text[:BODY_LIMIT]
    cut = f" ... ({size - BODY_LIMIT} more characters)" if size > BODY_LIMIT else ""
    return redact(text) + cut


def headers_text(headers: Mapping[str, Any]) -> str:
    """Headers as ``Name: value`` pairs; secret-named ones masked (Authorization keeps its scheme)."""
    shown = redact_mapping({str(k): str(v) for k, v in headers.items() if str(k).lower() != "authorization"})
    for name, value in headers.items():  # the value is a masked-repr string (client._MaskedHeader)
        if str(name).lower() == "authorization":
            shown[str(name)] = str(value).split(" ", 1)[0] + " ***"
    return ", ".join(f"{k}: {v}" for k, v in shown.items())


@dataclass
class _KindTotals:
    calls: int = 0
    seconds: float = 0.0
    records: int = 0


@dataclass
class CallStats:
    """Where one connection's time went, for the summary lines."""

    started: float = field(default_factory=time.monotonic)
    calls: int = 0
    seconds: float = 0.0
    queued: float = 0.0
    backoff: float = 0.0
    records: int = 0
    by_kind: dict[str, _KindTotals] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_call(self, kind: str, seconds: float, queued: float, records: int) -> int:
        """Count one HTTP attempt; returns its number within the connection (1, 2, ...)."""
        with self._lock:
            self.calls += 1
            self.seconds += seconds
            self.queued += queued
            self.records += records
            totals = self.by_kind.setdefault(kind, _KindTotals())
            totals.calls += 1
            totals.seconds += seconds
            totals.records += records
            return self.calls

    def add_backoff(self, seconds: float) -> None:
        with self._lock:
            self.backoff += seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fields(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": self.calls, "seconds": round(self.elapsed(), 3), "seconds_in_calls": round(self.seconds, 3),
                    "seconds_queued": round(self.queued, 3), "seconds_backing_off": round(self.backoff, 3),
                    "records": self.records,
                    "by_kind": {k: {"calls": v.calls, "seconds": round(v.seconds, 3), "records": v.records}
                                for k, v in sorted(self.by_kind.items())}}


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def log_summary(stats: CallStats, *, retries: int, credits: int, remaining: int | None, token_seconds: float,
                refreshes: int, api_domain: str) -> None:
    """The session's closing lines: totals at Verbosity 1, where the time went at 2."""
    fields = stats.fields()
    fields.update({"retries": retries, "credits": credits, "credits_remaining": remaining,
                   "seconds_getting_tokens": round(token_seconds, 3), "token_refreshes": refreshes})
    left = f", {remaining:,} credits left" if remaining is not None else ""
    log.log(SUMMARY, "session summary (%s): %s (%s), %s%s, %s received in %.2f s", api_domain,
            _plural(fields["calls"], "call"), _plural(retries, "retry", "retries"),
            _plural(credits, "credit"), left, _plural(fields["records"], "record"), fields["seconds"],
            extra={"zohocrm": {"event": "session_summary", **fields}})
    if not log.isEnabledFor(logging.INFO):
        return
    kinds = ", ".join(f"{k} {v['seconds']:.2f} s over {_plural(v['calls'], 'call')}"
                      for k, v in fields["by_kind"].items()) or "no calls"
    other = max(0.0, fields["seconds"] - fields["seconds_in_calls"] - fields["seconds_backing_off"] - token_seconds)
    log.info("where the time went: %.2f s waiting for Zoho (%s), %.2f s of it queued for a free slot "
             "(MaxConcurrency), %.2f s getting tokens (%s), %.2f s backing off before retries, %.2f s in the "
             "connector and the caller", fields["seconds_in_calls"], kinds, fields["seconds_queued"], token_seconds,
             _plural(refreshes, "refresh", "refreshes"), fields["seconds_backing_off"], other,
             extra={"zohocrm": {"event": "time_breakdown", **fields, "seconds_other": round(other, 3)}})


_log = logging.getLogger("connector.http")


def log_request(method: str, url: str, params: dict[str, Any] | None, json: Any, data: Any, files: Any) -> None:
    """Verbosity 3 and up: the request line (query included, masked); 4: body shapes; 5: bodies."""
    if not _log.isEnabledFor(REQUEST):
        return
    prepared = PreparedRequest()
    prepared.prepare_url(url, params)
    _log.log(REQUEST, "-> %s %s", method, redact(prepared.url or url),
             extra={"zohocrm": {"event": "request", "method": method, "path": redact(url.split("?", 1)[0])}})
    if json is not None and _log.isEnabledFor(logging.DEBUG):
        _log.debug("   request body shape: %s", shape(json))
    elif files is not None:
        _log.debug("   request body: a multipart file upload")
    elif data is not None:
        _log.debug("   request body: %s", shape(data))
    if json is not None and _log.isEnabledFor(TRACE):
        _log.log(TRACE, "   request body: %s", body_text(json))


def log_response(resp: requests.Response, stream: bool) -> None:
    """Verbosity 4 and up: headers (masked) and the body's shape; 5: the body."""
    if not _log.isEnabledFor(logging.DEBUG):
        return
    _log.debug("   request headers: %s", headers_text(resp.request.headers))
    _log.debug("   response headers: %s", headers_text(resp.headers))
    if stream:
        _log.debug("   response body: streamed (%s)", resp.headers.get("Content-Type", "unknown type"))
        return
    try:
        parsed: Any = resp.json() if resp.content else None
    except ValueError:
        parsed = None
    if parsed is not None:
        _log.debug("   response body shape: %s", shape(parsed))
    else:
        _log.debug("   response body: %d bytes of %s", len(resp.content), resp.headers.get("Content-Type", "unknown type"))
    if _log.isEnabledFor(TRACE) and resp.content:
        _log.log(TRACE, "   response body: %s", body_text(resp.content))
