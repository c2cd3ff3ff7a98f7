"""``TokenManager``: the one place a connection gets its access token.

Respects Zoho's token budget (oauth-and-regions.md section 10): a live access
token is reused until 5 minutes before expiry; one refresh is in flight per
process (a lock) and across processes (the token store's file lock, re-read
under the lock so a token another process just minted is adopted instead of
minting again); the throttle answer is backed off, then reported clearly.

InitiateOAuth: ``OFF`` uses OAuthAccessToken as given; ``REFRESH`` only
refreshes (needs a refresh token from the connection string or the store);
``GETANDREFRESH`` also runs the login when nothing is stored. A refresh token
Zoho rejects is an error in every mode, never a silent new login: the user
must see that access was revoked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connector.config.config import ConnectionConfig
from connector.config.values import Secret
from connector.errors import AuthError

from .oauth import Tokens, TokenThrottled, ZohoOAuth, refuse_placeholders
from .sealed_store import SealedTokenStore
from .token_store import MemoryTokenStore, SealedFileError, TokenSet, TokenStore

log = logging.getLogger("connector.auth")

REFRESH_MARGIN_S = 300.0


# Without OAuthSettingsLocation, tokens live in memory — shared by every connection of this process
# that uses the same client and refresh token, so opening ten connections costs one mint, not ten
# (Zoho allows 10 access tokens per refresh token per 10 minutes).
_PROCESS_STORES: dict[str, MemoryTokenStore] = {}
_PROCESS_STORES_LOCK = threading.Lock()


def _digest(*parts: str | Secret | None) -> str:
    """SHA-256 over the parts; secrets are revealed inline, never into a named local (frame locals)."""
    return hashlib.sha256("\x00".join(p.reveal() if isinstance(p, Secret) else (p or "")
                                       for p in parts).encode()).hexdigest()


def _process_store(config: ConnectionConfig) -> MemoryTokenStore:
    key = _digest(config.accounts_server, config.oauth_client_id, config.oauth_refresh_token, config.initiate_oauth)
    with _PROCESS_STORES_LOCK:
        store = _PROCESS_STORES.get(key)
        if store is None:
            store = _PROCESS_STORES[key] = MemoryTokenStore()
        return store


MEMORY_ONLY = "memory"


def default_settings_location(config: ConnectionConfig) -> Path:
    """Where tokens are sealed when OAuthSettingsLocation is not set.

    One file per (accounts server, client, refresh token), under the user's config
    directory, so separate runs of the CLI reuse a live access token instead of minting
    a new one each time (Zoho allows 10 per refresh token per 10 minutes).
    """
    import os

    digest = _digest(config.accounts_server, config.oauth_client_id, config.oauth_refresh_token)[:20]
    home = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(home):
        home = os.path.join(os.path.expanduser("~"), ".config")
    return Path(home) / "zohocrm" / "tokens" / f"{digest}.sealed"


def store_for(config: ConnectionConfig) -> TokenStore:
    location = config.oauth_settings_location
    if location is not None and str(location).strip().lower() == MEMORY_ONLY:
        return _process_store(config)
    if location is None:
        if config.initiate_oauth == "OFF" or not config.oauth_client_id:
            return _process_store(config)  # nothing worth keeping: a given token, no client
        location = default_settings_location(config)
    return SealedTokenStore(location, config.oauth_key_location, client_id=config.oauth_client_id)


def refresh_margin(t: Tokens) -> float:
    """Renew this long before expiry: 5 minutes, or a quarter of a short-lived token's life.

    A fixed 5 minutes would make a token minted for less than 5 minutes (a test org, a
    short-TTL proxy) look expired at once and burn the 10-per-10-minutes budget.
    """
    return min(REFRESH_MARGIN_S, t.lifetime / 4)


class TokenManager:
    def __init__(self, config: ConnectionConfig, store: TokenStore | None = None, *,
                 login: Callable[[ZohoOAuth], Tokens] | None = None,
                 throttle_waits: Sequence[float] = (2.0, 10.0, 30.0),
                 oauth: ZohoOAuth | None = None) -> None:
        self.config = config
        self.oauth = oauth or ZohoOAuth(config)
        self.store = store if store is not None else store_for(config)
        self.login = login
        self.throttle_waits = tuple(throttle_waits)
        self._lock = threading.Lock()
        self._tokens: Tokens | None = None
        self._bad: set[Secret] = set()
        #: token-endpoint calls this manager made (refreshes, throttled ones included)
        self.refreshes = 0
        #: seconds spent obtaining tokens (waiting for the store's lock, the accounts server, throttle)
        self.seconds_obtaining = 0.0
        if config.oauth_access_token:
            # A given access token is used first (expiry unknown) so a start costs no mint;
            # INVALID_TOKEN from the API then triggers a refresh.
            self._given: Tokens | None = Tokens(access_token=config.oauth_access_token, expires_at=math.inf)
        else:
            self._given = None

    def __repr__(self) -> str:
        return f"TokenManager(mode={self.config.initiate_oauth}, store={self.store!r})"

    # -- TokenProvider ----------------------------------------------------------------

    @property
    def api_domain(self) -> str | None:
        return self._tokens.api_domain if self._tokens else None

    @property
    def scopes(self) -> tuple[str, ...]:
        return self._tokens.scopes if self._tokens else ()

    @property
    def accounts_server(self) -> str | None:
        """The accounts server that issued the current token (None for a given OAuthAccessToken)."""
        return self._tokens.accounts_server if self._tokens else None

    @property
    def location(self) -> str | None:
        """The data-center location Zoho named at login (``us``, ``eu``...), when known."""
        return self._tokens.location if self._tokens else None

    def _usable(self, t: Tokens | None) -> bool:
        return bool(t and t.access_token and t.access_token not in self._bad
                    and t.expires_at - refresh_margin(t) > time.time())

    def access_token(self) -> Secret:
        """The access token to send, as a :class:`Secret` (``.reveal()`` only where the header is built)."""
        t = self._tokens
        if t is not None and self._usable(t):
            return t.access_token
        with self._lock:
            if self._tokens is not None and self._usable(self._tokens):
                return self._tokens.access_token
            started = time.monotonic()
            try:
                self._tokens = self._obtain()
            finally:
                self.seconds_obtaining += time.monotonic() - started
            return self._tokens.access_token

    def invalidate(self, token: Secret) -> None:
        """The API said INVALID_TOKEN for this token: never use it again."""
        self._bad.add(token)
        if self.config.initiate_oauth == "OFF":
            raise AuthError("Zoho rejected OAuthAccessToken (INVALID_TOKEN: expired or revoked) and "
                            "InitiateOAuth=OFF does not renew it",
                            hint="set InitiateOAuth=REFRESH with OAuthRefreshToken, or give a fresh access token",
                            zoho_error="INVALID_TOKEN")

    # -- obtaining ----------------------------------------------------------------------

    def _belongs_here(self, cur: Tokens) -> bool:
        """Stored tokens are used only for this client and, when one is given, this refresh token.

        Another client's tokens are an error (the store was copied, or is shared by two clients);
        another refresh token of this client is replaced: the connection string was given a new one.
        """
        if cur.client_id and self.config.oauth_client_id and cur.client_id != self.config.oauth_client_id:
            raise AuthError(
                f"the token store {self.store!r} holds the tokens of OAuth client {cur.client_id}, but this "
                f"connection uses OAuthClientId {self.config.oauth_client_id}",
                hint="give each client its own OAuthSettingsLocation, or delete the stored tokens "
                     "(`zohocrm auth logout`) and log in again")
        given = self.config.oauth_refresh_token
        return not (given and cur.refresh_token and cur.refresh_token != given)

    def _obtain(self) -> Tokens:
        mode = self.config.initiate_oauth
        refuse_placeholders(self.config)
        if self._given is not None and self._given.access_token not in self._bad:
            return self._given
        if mode == "OFF":
            raise AuthError("InitiateOAuth=OFF but no usable OAuthAccessToken was given",
                            hint="set OAuthAccessToken, or InitiateOAuth=REFRESH / GETANDREFRESH")

        def step(current: TokenSet | None) -> TokenSet | None:
            cur = Tokens.from_store(current) if current else None
            if cur is not None and not self._belongs_here(cur):
                log.info("the token store holds tokens of another client or refresh token; replacing them")
                cur = None
            if cur is not None and self._usable(cur):
                return current  # another process refreshed while we waited for the lock: adopt
            given = self.config.oauth_refresh_token
            refresh_token = (cur.refresh_token if cur else None) or given
            if refresh_token:
                self.refreshes += 1
                new = self.oauth.refresh(refresh_token, cur.accounts_server if cur else None)
                new.location = new.location or (cur.location if cur else None)
            elif self.config.oauth_grant_type == "client_credentials":
                self.refreshes += 1
                new = self.oauth.client_credentials()
            elif mode == "GETANDREFRESH":
                if self.login is None:
                    raise AuthError("no token is stored yet and this session cannot open a login",
                                    hint="run `zohocrm auth login --connection ...` once")
                new = self.login(self.oauth)
            else:
                raise AuthError("InitiateOAuth=REFRESH needs a refresh token, and none was given or stored",
                                hint="set OAuthRefreshToken, or run `zohocrm auth login`")
            return new.to_store()

        # The throttle is waited out *outside* the store's lock: other processes must not time
        # out on the lock meanwhile, and one of them may get a token we can then adopt.
        waits = list(self.throttle_waits)
        while True:
            try:
                stored = self.store.update(step)
                break
            except TokenThrottled:
                if not waits:
                    raise
                wait = waits.pop(0)
                log.warning("token endpoint throttled; retrying in %.1f s", wait)
                time.sleep(wait)
        if stored is None:
            raise AuthError("the token store is empty after a refresh")
        return Tokens.from_store(stored)

    # -- management ---------------------------------------------------------------------

    def save_login(self, tokens: Tokens) -> None:
        self.store.save(tokens.to_store())
        self._tokens = tokens

    def status(self) -> dict[str, Any]:
        stored = self.store.load()
        t = Tokens.from_store(stored) if stored else self._tokens
        if t is None:
            return {"stored": False}
        return {"stored": stored is not None, "api_domain": t.api_domain, "accounts_server": t.accounts_server,
                "scopes": list(t.scopes), "has_refresh_token": bool(t.refresh_token),
                "access_token_expires_in_s": max(0, int(t.expires_at - time.time())) if t.expires_at != math.inf
                else None, "location": t.location}

    def logout(self, revoke: bool = True) -> bool:
        """Revoke the refresh token at Zoho (when there is one) and delete the stored tokens.

        Returns whether Zoho confirmed the revocation. A token Zoho no longer knows (already
        revoked) is not an error: the local copy is deleted all the same. A network failure
        is raised and the local tokens are kept, so the logout can be repeated.
        """
        try:
            stored = self.store.load()
        except SealedFileError as exc:
            # A store that cannot be opened (damaged, moved, rolled back) holds nothing to revoke that
            # can be trusted; logging out still removes it, which is what its error message asks for.
            log.warning("the token store cannot be opened (%s); deleting it without revoking", exc.reason)
            stored = None
        revoked = False
        if stored and revoke and stored.get("refresh_token"):
            try:
                self.oauth.revoke(Secret(stored["refresh_token"]), stored.get("accounts_server"))
                revoked = True
            except AuthError as exc:
                if exc.zoho_error != "revoke_failed":
                    raise
                log.warning("Zoho did not know the refresh token any more (already revoked); deleting it locally")
        self.store.delete()
        self._tokens = None
        return revoked
