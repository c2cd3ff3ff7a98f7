"""Zoho's OAuth 2.0 endpoints through requests-oauthlib (oauth-and-regions.md sections 3-9).

Zoho quirks handled here:
* token errors come back as HTTP 200 with ``{"error": ...}``; oauthlib turns
  that into an exception which we map to :class:`AuthError` with a diagnosis;
* the throttle answer (``"error": "Access Denied"``, "too many requests
  continuously") is recognised and reported as :class:`TokenThrottled`;
* the accounts server fails like any server (5xx, an HTML error page, a dropped
  connection): those answers are not token errors and are retried a few times;
* ``invalid_client`` usually means the wrong data center: the other data
  centers are probed (:mod:`.datacenter`) and the message names the right Region;
* scopes are comma-separated in the consent URL and come back space-separated,
  so oauthlib's scope-change check is relaxed;
* the code is exchanged at the ``accounts-server`` the redirect names, but only
  if that server is a known Zoho accounts host or the configured AccountsServer
  (never send the client secret to a host taken from a URL parameter blindly).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from connector.config.config import ConnectionConfig
from connector.config.regions import REGIONS, is_loopback, region_for_host, region_for_location
from connector.config.transport import (
    NOTHING_LISTENING,
    certificate_rejected,
    configure_session,
    describe_unreachable,
    timeouts,
)
from connector.config.values import Secret
from connector.errors import AuthError, ConfigError, ConnectorError
from connector.logfile import REQUEST
from connector.redaction import redact, register_secret

from .datacenter import diagnose_invalid_client
from .token_store import TokenSet
from .tokens import Tokens, as_secret

__all__ = ["AccountsServerUnavailable", "TokenThrottled", "Tokens", "ZohoOAuth", "as_secret", "parse_redirect",
           "refuse_placeholders"]

# Zoho answers with the scope space-separated while we ask comma-separated.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

log = logging.getLogger("connector.auth")
#: the retry jitter's own generator: the caller's global ``random`` sequence is left as it was
_JITTER = random.Random()
THROTTLE_TEXT = "too many requests"
T = TypeVar("T")


class TokenThrottled(AuthError):
    """The accounts server refused to mint: 10 access tokens per refresh token per 10 minutes."""


class AccountsServerUnavailable(AuthError):
    """No usable answer from the accounts server (down, unreachable, nothing listening): try again later."""


_PLACEHOLDER = re.compile(r"(?:^|[.\-_])EXAMPLE")


def refuse_placeholders(config: ConnectionConfig) -> None:
    """Credentials still holding an example file's ``EXAMPLE`` placeholders fail here, before any call.

    Sent to Zoho they would come back as ``invalid_client``, which reads like a data-center problem.
    """
    named = [name for name, value in (
        ("OAuthClientId", config.oauth_client_id), ("OAuthClientSecret", config.oauth_client_secret),
        ("OAuthRefreshToken", config.oauth_refresh_token), ("OAuthAccessToken", config.oauth_access_token))
        if value and _PLACEHOLDER.search(value.reveal() if isinstance(value, Secret) else value)]
    if named:
        listed = ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]
        raise ConfigError(
            f"{listed} still {'hold' if len(named) > 1 else 'holds'} the EXAMPLE placeholder of an example "
            "connection file",
            hint="replace them with your client's values; for the local emulator, use the client_id, "
                 "client_secret and refresh_token that `zohocrm emulator` printed (its JSON line also has a "
                 "ready connection_string)")


class _AccountsUnavailable(Exception):
    """A transient accounts-server failure (5xx, non-JSON page): retried, never shown as is."""


_insecure_lock = threading.Lock()
_insecure_users = 0
_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"


@contextlib.contextmanager
def _loopback_http_allowed(url: str) -> Iterator[None]:
    """oauthlib insists on HTTPS; the local emulator speaks plain HTTP on loopback only.

    oauthlib reads a process-wide environment switch, so it is turned on only while a
    loopback call runs (reference-counted across threads) and left as the user had it
    otherwise: plain HTTP to any other host keeps failing with ``insecure_transport``.
    """
    global _insecure_users
    if not (url.startswith("http://") and is_loopback(url)) or os.environ.get(
            _INSECURE_ENV) and _insecure_users == 0:
        yield
        return
    with _insecure_lock:
        _insecure_users += 1
        os.environ[_INSECURE_ENV] = "1"
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure_users -= 1
            if _insecure_users == 0:
                os.environ.pop(_INSECURE_ENV, None)


def _check_accounts_answer(resp: requests.Response) -> requests.Response:
    """Compliance hook: a 5xx or a page that is not JSON is an outage, not a token error."""
    if resp.status_code >= 500:
        raise _AccountsUnavailable(f"HTTP {resp.status_code}")
    if not resp.content.lstrip().startswith(b"{"):
        raise _AccountsUnavailable(f"HTTP {resp.status_code} without a JSON body")
    return resp


class ZohoOAuth:
    """The accounts-server calls for one connection."""

    def __init__(self, config: ConnectionConfig, *, retry_waits: Sequence[float] | None = None) -> None:
        self.config = config
        self.client_id = config.oauth_client_id or ""
        self._secret = config.oauth_client_secret or Secret("")
        register_secret(self._secret)
        # Outages of the accounts server are retried (exponential, jittered); token errors are not.
        self.retry_waits = tuple(retry_waits) if retry_waits is not None else tuple(
            min(30.0, 0.5 * 2 ** i) for i in range(min(config.max_retries, 5)))

    def __repr__(self) -> str:
        return f"ZohoOAuth(client_id={self.client_id!r}, accounts_server={self.config.accounts_server!r})"

    # -- helpers ----------------------------------------------------------------------

    def _require_client(self) -> None:
        if not self.client_id or not self._secret:
            raise ConfigError("OAuthClientId and OAuthClientSecret are required to talk to Zoho's accounts server",
                              hint="create a client at https://api-console.zoho.com (Server-based or Self Client)")
        refuse_placeholders(self.config)

    def token_url(self, accounts_server: str | None = None) -> str:
        return f"{(accounts_server or self.config.accounts_server).rstrip('/')}/oauth/v2/token"

    def _session(self, **kw: Any) -> OAuth2Session:
        s = OAuth2Session(**kw)
        configure_session(s, self.config)
        s.register_compliance_hook("access_token_response", _check_accounts_answer)
        s.register_compliance_hook("refresh_token_response", _check_accounts_answer)
        return s

    def _with_retries(self, call: Callable[[], T], step: str, server: str) -> T:
        """Run one token-endpoint call, retrying outages; map every failure to a ConnectorError.

        The mapped error is raised after the ``except`` block, not inside it: the library's own
        exception (whose frames hold the request body, refresh token and client secret) is then not
        even chained as ``__context__`` for a traceback renderer or an error tracker to walk.
        """
        waits = list(self.retry_waits)
        while True:
            failure: ConnectorError | None = None
            transient = ""
            log.log(REQUEST, "-> POST %s (%s)", self.token_url(server), step)
            started = time.monotonic()
            try:
                with _loopback_http_allowed(server):
                    answer = call()
                log.info("%s: the accounts server answered in %.3f s", step, time.monotonic() - started,
                         extra={"zohocrm": {"event": "token", "step": step, "seconds":
                                            round(time.monotonic() - started, 4)}})
                return answer
            except (OAuth2Error, ValueError, Warning) as exc:
                failure = self._map_error(exc, step, server)
            except _AccountsUnavailable as exc:
                transient = str(exc)
            except requests.RequestException as exc:
                message, hint = describe_unreachable(exc, self.token_url(server), self.config)
                # Nothing listening on this machine will not start listening during a backoff, nor will a
                # certificate that did not verify become trusted.
                refused_here = message.startswith(NOTHING_LISTENING) or certificate_rejected(exc)
                if refused_here or not isinstance(exc, requests.ConnectionError | requests.Timeout) or not waits:
                    failure = AccountsServerUnavailable(f"{step}: {message}", hint=hint, zoho_error="unavailable")
                else:
                    transient = message
            if failure is not None:
                raise failure
            if not waits:
                raise AccountsServerUnavailable(
                    f"{step}: the accounts server {server} is unavailable ({transient})",
                    hint="Zoho Accounts is having an outage; try again in a few minutes", zoho_error="unavailable")
            wait = waits.pop(0)
            log.warning("%s: accounts server unavailable (%s); retrying in %.2f s", step, transient, wait)
            time.sleep(_JITTER.uniform(wait / 2, wait))

    def _tokens(self, raw: Mapping[str, Any], accounts_server: str | None, location: str | None = None) -> Tokens:
        if "access_token" not in raw:
            raise AuthError("the token endpoint answered without an access_token", zoho_error=raw.get("error"))
        expires_in = float(raw.get("expires_in") or 3600)
        if "expires_in_sec" in raw:  # very old answers gave milliseconds in expires_in
            expires_in = float(raw["expires_in_sec"])
        scope = raw.get("scope") or ""
        scopes = tuple(scope if isinstance(scope, list) else str(scope).replace(",", " ").split())
        now = time.time()
        t = Tokens(access_token=Secret(str(raw["access_token"])), expires_at=now + expires_in, obtained_at=now,
                   api_domain=raw.get("api_domain"),
                   refresh_token=Secret(str(raw["refresh_token"])) if raw.get("refresh_token") else None,
                   scopes=scopes,
                   accounts_server=accounts_server or self.config.accounts_server, location=location,
                   client_id=self.client_id)
        register_secret(t.access_token)
        register_secret(t.refresh_token)
        log.debug("token endpoint answered: expires in %.0f s, api_domain %s, scopes %s",
                  expires_in, t.api_domain, " ".join(scopes))
        return t

    def _map_error(self, exc: Exception, step: str, accounts_server: str | None = None) -> ConnectorError:
        error = getattr(exc, "error", None) or type(exc).__name__
        desc = str(getattr(exc, "description", "") or "")
        where = (accounts_server or self.config.accounts_server).rstrip("/")
        if error == "insecure_transport":  # oauthlib's refusal of plain http (the config check comes first)
            return ConfigError(f"{step}: {where} is plain http:// on a host that is not this machine; https:// "
                               "is required except on loopback (127.0.0.1, ::1, localhost)",
                               hint="use the https:// address of the accounts server")
        if THROTTLE_TEXT in desc.lower() or error == "Access Denied":
            return TokenThrottled(
                f"{step}: Zoho's accounts server is throttling token requests ({redact(desc) or error})",
                hint="Zoho allows 10 access tokens per refresh token per 10 minutes; the connector reuses tokens "
                     "for their full hour — make sure several processes share one OAuthSettingsLocation, "
                     "and wait a few minutes before trying again",
                zoho_error="Access Denied")
        if error == "invalid_client":
            return self._invalid_client(step, where)
        if error == "invalid_client_secret":
            return AuthError(f"{step}: invalid_client_secret — OAuthClientSecret does not match OAuthClientId",
                             hint="copy the secret again from the Zoho API console", zoho_error=error)
        if error == "invalid_code":
            if step.startswith("refreshing"):
                return AuthError(
                    f"{step}: invalid_code — Zoho rejected the refresh token: it was revoked (logout, or the "
                    "user removed the app), deleted (Zoho keeps 20 per user and drops the oldest), or it "
                    "belongs to another data center or client", zoho_error=error,
                    hint="get a new one: `zohocrm auth login --connection ...` (or a Self Client code), then "
                         "update OAuthRefreshToken or the token store")
            return AuthError(
                f"{step}: invalid_code — the grant code was rejected: it was already used, it expired (codes "
                "live a few minutes), or it was made for another client or data center", zoho_error=error,
                hint="generate a new code and exchange it at once; each code works only once")
        return AuthError(f"{step}: {redact(error)} {redact(desc)}".strip(), zoho_error=str(error))

    def _invalid_client(self, step: str, where: str) -> AuthError:
        message = f"{step}: invalid_client — the accounts server {where} does not know OAuthClientId {self.client_id}"
        location = diagnose_invalid_client(self.config, self.client_id, where)
        region = region_for_location(location) if location else None
        if location:
            code = region.code if region else location.upper()
            name = f" ({region.name})" if region else ""
            return AuthError(f"{message}; the client is registered in the {code}{name} data center",
                             hint=f"set Region={code} in the connection string (and drop AccountsServer/"
                                  "APIServer overrides that point elsewhere)", zoho_error="invalid_client")
        return AuthError(message, zoho_error="invalid_client",
                         hint="the client is registered in another Zoho data center (set Region to that data "
                              "center, e.g. Region=EU), or OAuthClientId is wrong")

    # -- flows ------------------------------------------------------------------------

    def authorization_url(self, state: str | None = None, redirect_uri: str | None = None) -> tuple[str, str]:
        """The consent URL (access_type=offline, prompt=consent) and its state."""
        self._require_client()
        state = state or secrets.token_urlsafe(24)
        sess = self._session(client_id=self.client_id, redirect_uri=redirect_uri or self.config.callback_url,
                             scope=",".join(self.config.scope), state=state)
        auth_url = f"{self.config.accounts_server.rstrip('/')}/oauth/v2/auth"
        try:
            with _loopback_http_allowed(auth_url):
                url, st = sess.authorization_url(auth_url, access_type="offline", prompt="consent")
        except OAuth2Error as exc:
            raise self._map_error(exc, "building the consent URL") from None
        return url, st

    def exchange_code(self, code: str | Secret, *, redirect_uri: str | None = None,
                      accounts_server: str | None = None, location: str | None = None) -> Tokens:
        """authorization_code grant (desktop, headless and self-client codes)."""
        self._require_client()
        code = as_secret(code)
        register_secret(code)
        server = self._trusted_accounts_server(accounts_server)

        def call() -> TokenSet:
            sess = self._session(client_id=self.client_id, redirect_uri=redirect_uri)
            return TokenSet(sess.fetch_token(self.token_url(server), code=code.reveal(),
                                             client_secret=self._secret.reveal(), include_client_id=True,
                                             timeout=timeouts(self.config)))

        # A code is single-use: a retry after a lost answer gets invalid_code, which says so.
        return self._tokens(self._with_retries(call, "exchanging the grant code", server), server, location)

    def refresh(self, refresh_token: str | Secret, accounts_server: str | None = None) -> Tokens:
        """refresh_token grant; the refresh token itself is not rotated by Zoho."""
        self._require_client()
        refresh_token = as_secret(refresh_token)
        register_secret(refresh_token)
        server = (accounts_server or self.config.accounts_server).rstrip("/")

        def call() -> TokenSet:
            sess = self._session(client_id=self.client_id)
            return TokenSet(sess.refresh_token(self.token_url(server), refresh_token=refresh_token.reveal(),
                                               client_id=self.client_id, client_secret=self._secret.reveal(),
                                               timeout=timeouts(self.config)))

        t = self._tokens(self._with_retries(call, "refreshing the access token", server), server)
        t.refresh_token = refresh_token
        return t

    def client_credentials(self) -> Tokens:
        """Self-client client_credentials grant (``soid=ZohoCRM.<org id>``); no refresh token."""
        self._require_client()
        if not self.config.org_id:
            raise ConfigError("OAuthGrantType=client_credentials needs OrgId (the CRM org id, for soid)")
        server = self.config.accounts_server.rstrip("/")

        def call() -> TokenSet:
            sess = self._session(client=BackendApplicationClient(client_id=self.client_id))
            return TokenSet(sess.fetch_token(self.token_url(server), client_secret=self._secret.reveal(),
                                             include_client_id=True, scope=",".join(self.config.scope),
                                             soid=f"ZohoCRM.{self.config.org_id}", timeout=timeouts(self.config)))

        return self._tokens(self._with_retries(call, "client_credentials grant", server), server)

    def revoke(self, token: str | Secret, accounts_server: str | None = None) -> None:
        token = as_secret(token)
        register_secret(token)
        url = self.token_url(accounts_server) + "/revoke"
        s = configure_session(requests.Session(), self.config)
        try:
            r = s.post(url, data={"token": token.reveal()}, timeout=timeouts(self.config))
        except requests.RequestException as exc:
            raise AuthError(f"could not reach the accounts server to revoke: {type(exc).__name__}") from None
        try:
            ok = r.json().get("status") == "success"
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise AuthError(f"revoking the token failed (HTTP {r.status_code})",
                            hint="it may already be revoked", zoho_error="revoke_failed")

    def _trusted_accounts_server(self, candidate: str | None) -> str:
        configured = self.config.accounts_server.rstrip("/")
        if not candidate or candidate.rstrip("/") == configured:
            return configured
        if region_for_host(candidate) is not None and urlparse(candidate).scheme == "https":
            return candidate.rstrip("/")
        raise AuthError(f"the consent redirect named an unknown accounts server {candidate!r}",
                        hint="expected one of Zoho's accounts servers "
                             f"({', '.join(sorted(r.accounts_server for r in REGIONS.values()))})")


def parse_redirect(url_or_code: str) -> dict[str, str]:
    """Parameters of a pasted redirect URL (or a bare code), in a dict whose repr masks the code."""
    text = url_or_code.strip()
    if "?" not in text and "=" not in text:
        return TokenSet(code=text)
    query = urlparse(text).query if "://" in text else text.lstrip("?")
    return TokenSet({k: v[0] for k, v in parse_qs(query).items() if v})
