"""OAuth clients, grant codes, refresh and access tokens of one emulated data center.

Limits follow oauth-and-regions.md section 10: grant codes are single-use and
expire after a few minutes; 10 access tokens per refresh token per 10 minutes
(the 11th gets the "too many requests" body); 15 live access tokens per
refresh token (minting the 16th invalidates the oldest); 20 refresh tokens per
user (the 21st silently deletes the oldest with its access tokens).

Tokens are random per instance (never derived from the data seed), so two
instances never accept each other's clients or tokens: each is its own data center.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .clock import VirtualClock

CODE_TTL_S = 180
MINT_WINDOW_S = 600
MINTS_PER_WINDOW = 10
LIVE_ACCESS_PER_REFRESH = 15
REFRESH_PER_USER = 20
GRANTS_PER_CLIENT_WINDOW = 10

FULL_SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.org.ALL", "ZohoCRM.users.ALL",
               "ZohoCRM.coql.READ", "ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL")
READ_SCOPES = ("ZohoCRM.modules.READ", "ZohoCRM.settings.READ", "ZohoCRM.org.READ", "ZohoCRM.users.READ",
               "ZohoCRM.coql.READ", "ZohoCRM.bulk.READ")


def _token() -> str:
    # Zoho tokens look like "1000.<32 hex>.<32 hex>".
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(text: str) -> tuple[str, ...]:
    parts = [p.strip() for p in text.replace(" ", ",").split(",")]
    return tuple(p for p in parts if p)


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = "zohocrm-connector"
    client_type: str = "server"
    grant_times: deque[float] = field(default_factory=deque)

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        # Loopback callbacks on any port are allowed, like a desktop client registered for
        # http://localhost (tests bind ephemeral ports).
        return uri.startswith(("http://127.0.0.1:", "http://localhost:", "http://localhost/",
                               "http://127.0.0.1/")) or uri in ("http://localhost", "http://127.0.0.1")


@dataclass
class Grant:
    code: str
    client_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    expires_at: float
    offline: bool
    user_id: int
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    scopes: tuple[str, ...]
    user_id: int
    created_at: float
    mint_times: deque[float] = field(default_factory=deque)
    access_tokens: deque[str] = field(default_factory=deque)
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    scopes: tuple[str, ...]
    user_id: int
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False


class TokenError(Exception):
    """A token-endpoint failure, rendered as HTTP 200 with an ``error`` body (Zoho's habit)."""

    def __init__(self, error: str, extra: dict[str, Any] | None = None, status: int = 200) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra or {}
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, **self.extra}


THROTTLED = TokenError("Access Denied", {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "status": "failure"})


class TokenRegistry:
    def __init__(self, clock: VirtualClock, token_ttl_s: int = 3600) -> None:
        self.clock = clock
        self.token_ttl_s = token_ttl_s
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.access: dict[str, AccessToken] = {}
        self.minted = 0
        self.throttled = 0

    # -- setup ---------------------------------------------------------------------

    def new_client(self, redirect_uris: list[str] | None = None, client_type: str = "server") -> Client:
        c = Client("1000." + secrets.token_hex(15).upper(), secrets.token_hex(21), redirect_uris or [],
                   client_type=client_type)
        with self.lock:
            self.clients[c.client_id] = c
        return c

    def issue_refresh(self, client_id: str, scopes: tuple[str, ...], user_id: int) -> RefreshToken:
        now = self.clock.time()
        with self.lock:
            rt = RefreshToken(_token(), client_id, scopes, user_id, now)
            mine = sorted((r for r in self.refresh.values() if r.user_id == user_id and not r.revoked),
                          key=lambda r: r.created_at)
            while len(mine) >= REFRESH_PER_USER:  # the 21st silently deletes the oldest
                self._revoke_refresh(mine.pop(0))
            self.refresh[rt.token] = rt
            return rt

    def issue_code(self, client_id: str, scopes: tuple[str, ...], redirect_uri: str | None, offline: bool,
                   user_id: int) -> Grant:
        now = self.clock.time()
        with self.lock:
            client = self.clients[client_id]
            while client.grant_times and client.grant_times[0] < now - MINT_WINDOW_S:
                client.grant_times.popleft()
            if len(client.grant_times) >= GRANTS_PER_CLIENT_WINDOW:
                raise TokenError("access_denied")
            client.grant_times.append(now)
            g = Grant(_token(), client_id, scopes, redirect_uri, now + CODE_TTL_S, offline, user_id)
            self.grants[g.code] = g
            return g

    # -- token endpoint ---------------------------------------------------------------

    def _client(self, client_id: str | None, secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None:
            raise TokenError("invalid_client")
        if not secrets.compare_digest(client.client_secret, secret or ""):
            raise TokenError("invalid_client_secret")
        return client

    def exchange_code(self, client_id: str | None, secret: str | None, code: str | None,
                      redirect_uri: str | None) -> tuple[AccessToken, RefreshToken | None]:
        with self.lock:
            client = self._client(client_id, secret)
            g = self.grants.get(code or "")
            if g is None or g.used or g.client_id != client.client_id or g.expires_at < self.clock.time():
                raise TokenError("invalid_code")
            if g.redirect_uri and redirect_uri and redirect_uri != g.redirect_uri:
                raise TokenError("invalid_redirect_uri")
            g.used = True
            rt = self.issue_refresh(client.client_id, g.scopes, g.user_id) if g.offline else None
            at = self._mint(client.client_id, g.scopes, g.user_id, rt)
            return at, rt

    def refresh_access(self, client_id: str | None, secret: str | None, refresh_token: str | None) -> AccessToken:
        with self.lock:
            client = self._client(client_id, secret)
            rt = self.refresh.get(refresh_token or "")
            if rt is None or rt.revoked or rt.client_id != client.client_id:
                raise TokenError("invalid_code")
            now = self.clock.time()
            while rt.mint_times and rt.mint_times[0] < now - MINT_WINDOW_S:
                rt.mint_times.popleft()
            if len(rt.mint_times) >= MINTS_PER_WINDOW:
                self.throttled += 1
                raise THROTTLED
            rt.mint_times.append(now)
            return self._mint(client.client_id, rt.scopes, rt.user_id, rt)

    def client_credentials(self, client_id: str | None, secret: str | None, scopes: tuple[str, ...],
                           user_id: int) -> AccessToken:
        with self.lock:
            client = self._client(client_id, secret)
            if not scopes:
                raise TokenError("invalid_scope")
            return self._mint(client.client_id, scopes, user_id, None)

    def _mint(self, client_id: str, scopes: tuple[str, ...], user_id: int, rt: RefreshToken | None) -> AccessToken:
        at = AccessToken(_token(), client_id, scopes, user_id, self.clock.time() + self.token_ttl_s,
                         rt.token if rt else None)
        self.access[at.token] = at
        self.minted += 1
        if rt is not None:
            rt.access_tokens.append(at.token)
            while len(rt.access_tokens) > LIVE_ACCESS_PER_REFRESH:  # the 16th invalidates the oldest
                old = self.access.pop(rt.access_tokens.popleft(), None)
                if old:
                    old.revoked = True
        return at

    def revoke(self, token: str | None) -> bool:
        with self.lock:
            rt = self.refresh.get(token or "")
            if rt is not None and not rt.revoked:
                self._revoke_refresh(rt)
                return True
            at = self.access.pop(token or "", None)
            if at is not None:
                at.revoked = True
                return True
            return False

    def _revoke_refresh(self, rt: RefreshToken) -> None:
        rt.revoked = True
        for t in rt.access_tokens:
            at = self.access.pop(t, None)
            if at:
                at.revoked = True
        rt.access_tokens.clear()

    # -- CRM side ---------------------------------------------------------------------

    def validate(self, token: str) -> AccessToken | None:
        at = self.access.get(token)
        if at is None or at.revoked or at.expires_at <= self.clock.time():
            return None
        return at

    def token_json(self, at: AccessToken, rt: RefreshToken | None, api_domain: str) -> dict[str, Any]:
        # expires_in in seconds and no expires_in_sec: the SDK reads expires_in as milliseconds
        # whenever expires_in_sec is present (oauth-and-regions.md section 4).
        out: dict[str, Any] = {"access_token": at.token}
        if rt is not None:
            out["refresh_token"] = rt.token
        out.update({"scope": " ".join(at.scopes), "api_domain": api_domain, "token_type": "Bearer",
                    "expires_in": int(round(at.expires_at - self.clock.time()))})
        return out

    # -- persistence ------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "clients": [{"client_id": c.client_id, "client_secret": c.client_secret,
                             "redirect_uris": c.redirect_uris, "client_type": c.client_type}
                            for c in self.clients.values()],
                "refresh": [{"token": r.token, "client_id": r.client_id, "scopes": list(r.scopes),
                             "user_id": r.user_id, "created_at": r.created_at}
                            for r in self.refresh.values() if not r.revoked],
            }

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            for c in data.get("clients", []):
                self.clients[c["client_id"]] = Client(c["client_id"], c["client_secret"], c["redirect_uris"],
                                                      client_type=c.get("client_type", "server"))
            for r in data.get("refresh", []):
                self.refresh[r["token"]] = RefreshToken(r["token"], r["client_id"], tuple(r["scopes"]),
                                                        r["user_id"], r["created_at"])


# -- scopes --------------------------------------------------------------------------

_MODULE_SCOPE_NAMES = {
    "Leads": "leads", "Contacts": "contacts", "Accounts": "accounts", "Deals": "deals", "Tasks": "tasks",
    "Events": "events", "Calls": "calls",
}
_OP_IMPLIED = {"CREATE": ("CREATE", "WRITE"), "UPDATE": ("UPDATE", "WRITE"), "DELETE": ("DELETE", "WRITE"),
               "READ": ("READ",)}


def module_scopes(module: str, op: str, custom: bool) -> list[str]:
    """Scopes that allow ``op`` (READ/CREATE/UPDATE/DELETE) on a module's records."""
    ops = _OP_IMPLIED[op] + ("ALL",)
    name = _MODULE_SCOPE_NAMES.get(module, "custom" if custom else module.lower())
    out = [f"ZohoCRM.modules.{o}" for o in ops]
    out += [f"ZohoCRM.modules.{name}.{o}" for o in ops]
    if custom and name != "custom":
        out += [f"ZohoCRM.modules.custom.{o}" for o in ops]
    return out


def has_scope(granted: tuple[str, ...], needed: list[str]) -> bool:
    low = {s.lower() for s in granted}
    return any(n.lower() in low for n in needed)
