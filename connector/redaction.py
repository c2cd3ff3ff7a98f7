"""The one redaction point: secrets never reach a log, an error message, a repr or a traceback.

Two layers:
* every secret value the connector handles (client secret, tokens, grant
  codes, proxy passwords) is registered with :func:`register_secret` the
  moment it is read, and :func:`redact` replaces any registered value;
* patterns catch what was never registered: Zoho token shapes, the
  ``Zoho-oauthtoken`` header, ``client_secret=``/``refresh_token=``/``code=``
  form or query fields, JSON token fields, and passwords in URLs.

A :class:`RedactingFilter` is installed on the connector's loggers and on the
libraries that log request bodies at DEBUG (requests-oauthlib logs the refresh
request body, which holds the refresh token and client secret).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from connector.config.values import Secret

MASK = "***"
_MIN_SECRET_LEN = 6  # shorter values would mask ordinary words

_lock = threading.Lock()
# Kept as Secret objects, so this module's own frames (``known`` in redact) never show them.
_secrets: set[Secret] = set()

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Zoho access/refresh tokens and grant codes: 1000.<hex>.<hex>
    (re.compile(r"\b1000\.[0-9a-fA-F]{16,}\.[0-9a-fA-F]{16,}\b"), MASK),
    (re.compile(r"(Zoho-oauthtoken|Bearer)\s+[^\s,;\"']+", re.IGNORECASE), r"\1 " + MASK),
    (re.compile(r"((?:client_secret|refresh_token|access_token|code|token|password|secret)=)[^&\s;\"']+",
                re.IGNORECASE), r"\1" + MASK),
    (re.compile(r"(\"(?:client_secret|refresh_token|access_token|code|token|password|secret)\"\s*:\s*\")[^\"]*\"",
                re.IGNORECASE), r"\1" + MASK + '"'),
    (re.compile(r"((?:OAuthClientSecret|OAuthAccessToken|OAuthRefreshToken|ProxyPassword|FirewallPassword|BrokerKey)"
                r"\s*=\s*)"
                r"('[^']*'|\"[^\"]*\"|[^;]*)", re.IGNORECASE), r"\1" + MASK),
    # a broker workspace key wherever it appears (zb_ and 43 URL-safe base64 characters)
    (re.compile(r"\bzb_[A-Za-z0-9_-]{20,}"), MASK),
    # user:password@ in URLs (proxies)
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@/\s]+@", re.IGNORECASE), r"\1" + MASK + "@"),
]


def _wrapped(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def register_secret(value: str | Secret | None) -> None:
    """Remember a secret so every later :func:`redact` masks it."""
    if value is None:
        return
    secret = _wrapped(value)
    if len(secret.reveal()) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(secret)


def forget_secret(value: str | Secret | None) -> None:
    if value is None:
        return
    with _lock:
        _secrets.discard(_wrapped(value))


def _secret_length(secret: Secret) -> int:
    return len(secret.reveal())


def redact(text: Any) -> str:
    """``text`` with every known secret and secret-looking value masked."""
    s = text if isinstance(text, str) else str(text)
    with _lock:
        known = sorted(_secrets, key=_secret_length, reverse=True)
    for secret in known:
        if secret.reveal() in s:
            s = s.replace(secret.reveal(), MASK)
    for pattern, repl in _PATTERNS:
        s = pattern.sub(repl, s)
    return s


def redact_mapping(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a dict with secret-named keys masked and string values redacted."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if re.search(r"secret|token|password|code|authorization", k, re.IGNORECASE):
            out[k] = MASK if v else v
        elif isinstance(v, str):
            out[k] = redact(v)
        else:
            out[k] = v
    return out


def _redact_record(record: logging.LogRecord) -> None:
    """Mask a record's message, arguments, exception text and stack in place."""
    if getattr(record, "_zohocrm_redacted", False):
        return
    try:
        msg = record.getMessage()
    except Exception:  # a bad format string must not leak the raw args either
        msg = str(record.msg)
    record.msg = redact(msg)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._zohocrm_redacted = True


class RedactingFilter(logging.Filter):
    """Redacts a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_FILTER = RedactingFilter()
# Loggers whose records may quote a secret: ours, and the HTTP/OAuth libraries.
_PREFIXES = ("connector", "requests_oauthlib", "oauthlib", "urllib3")
_previous_factory: Any = None


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _PREFIXES)


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous_factory(*args, **kwargs)
    if _ours(record.name):
        _redact_record(record)
    return record


def install_log_redaction() -> None:
    """Make every record of the connector's and the HTTP libraries' loggers redacted (idempotent).

    A filter on the ``connector`` logger would not be enough: logging runs a logger's
    filters only for records logged *on that logger*, not for those of its children
    (``connector.http``) that propagate through it. So records are redacted where they
    are made (a chained LogRecord factory, scoped to our logger names), and the filter is
    also put on the named loggers and the root handlers present now, in case another
    library replaces the factory later.
    """
    global _previous_factory
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)
    for name in _PREFIXES:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    # requests-oauthlib logs the refresh request body (refresh token, client secret) at DEBUG:
    # keep it above DEBUG whatever the user's root level is.
    for name in ("requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.INFO))
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


install_log_redaction()
