"""OAuth clients, grant codes, refresh and access tokens of one emulated data center.

Limits follow oauth-and-regions.md section 10: grant codes are single-use and
expire after a few minutes; 10 access tokens per refresh token per 10 minutes
(the 11th gets the "too many requests" body); 15 live access tokens per
refresh token (minting the 16th invalidates the oldest); 20 refresh tokens per
user (the 21st silently deletes the oldest with its access tokens); 10 grant
codes per client per 10 minutes.

Tokens are random per instance (never derived from the data seed), so two
instances never accept each other's clients or tokens: each is its own data center.
The CRM side's checks (the Authorization header, scopes) are at the end.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .clock import VirtualClock
from .zoho_errors import ZohoError

# The CRM docs give 3 minutes as the default grant-code life (the Accounts page says 2);
# "a few minutes" is what a client may rely on (oauth-and-regions.md section 3).
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

# Fixed credentials served with --dev-credentials (loopback only), so that a connection file
# can be shipped that works as written (connection_strings/emulator.txt). They have Zoho's
# shapes: a 30-character client id after "1000.", a 42-character secret, "1000.<32>.<32>".
DEV_CLIENT_ID = "1000.EMULATORDEVCLIENT0000000000000"
DEV_CLIENT_SECRET = "emulatordevsecret0000000000000000000000000"
DEV_REFRESH_TOKEN = "1000.emulatordevrefreshtoken000000000.00000000000000000000000000000000"

# Where a refresh token came from. Only "consent" tokens make a repeat consent without
# prompt=consent come back without a refresh token; self-client codes always carry one.
CONSENT, SELF_CLIENT, CONSOLE = "consent", "self_client", "console"


def _token() -> str:
    # Zoho tokens look like "1000.<32 hex>.<32 hex>".
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(text: str) -> tuple[str, ...]:
    """Scopes as requested: comma-separated per the docs, space-separated as token JSON shows them."""
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
    #: None for self-client codes (made in the API console, no browser redirect)
    redirect_uri: str | None
    expires_at: float
    offline: bool
    user_id: int
    prompt_consent: bool = False
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    scopes: tuple[str, ...]
    user_id: int
    created_at: float
    source: str = CONSOLE
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


def throttled() -> TokenError:
    # Integrators report HTTP 400 for this body, Zoho's own post says the status is not a
    # reliable signal; we answer 200 like every other token error (section 6).
    return TokenError("Access Denied", {
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

    def new_client(self, redirect_uris: list[str] | None = None, client_type: str = "server", *,
                   client_id: str | None = None, client_secret: str | None = None) -> Client:
        c = Client(client_id or "1000." + secrets.token_hex(15).upper(), client_secret or secrets.token_hex(21),
                   redirect_uris or [], client_type=client_type)
        with self.lock:
            self.clients[c.client_id] = c
        return c

    def issue_refresh(self, client_id: str, scopes: tuple[str, ...], user_id: int,
                      source: str = CONSOLE, *, token: str | None = None) -> RefreshToken:
        now = self.clock.time()
        with self.lock:
            rt = RefreshToken(token or _token(), client_id, scopes, user_id, now, source)
            mine = sorted((r for r in self.refresh.values() if r.user_id == user_id and not r.revoked),
                          key=lambda r: r.created_at)
            while len(mine) >= REFRESH_PER_USER:  # the 21st silently deletes the oldest
                self._revoke_refresh(mine.pop(0))
            self.refresh[rt.token] = rt
            return rt

    def issue_code(self, client_id: str, scopes: tuple[str, ...], redirect_uri: str | None, offline: bool,
                   user_id: int, *, prompt_consent: bool = False, enforce_limit: bool = True) -> Grant:
        """A grant code; the consent page counts it against 10 per client per 10 minutes."""
        now = self.clock.time()
        with self.lock:
            client = self.clients[client_id]
            if enforce_limit:
                while client.grant_times and client.grant_times[0] <= now - MINT_WINDOW_S:
                    client.grant_times.popleft()
                if len(client.grant_times) >= GRANTS_PER_CLIENT_WINDOW:
                    raise TokenError("access_denied")
                client.grant_times.append(now)
            g = Grant(_token(), client_id, scopes, redirect_uri, now + CODE_TTL_S, offline, user_id,
                      prompt_consent)
            self.grants[g.code] = g
            return g

    # -- token endpoint ---------------------------------------------------------------

    def check_client(self, client_id: str | None, secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None:  # also what another data center's client gets
            raise TokenError("invalid_client")
        if not secrets.compare_digest(client.client_secret.encode(), (secret or "").encode()):
            raise TokenError("invalid_client_secret")
        return client

    def exchange_code(self, client_id: str | None, secret: str | None, code: str | None,
                      redirect_uri: str | None) -> tuple[AccessToken, RefreshToken | None]:
        with self.lock:
            client = self.check_client(client_id, secret)
            g = self.grants.get(code or "")
            if g is None or g.used or g.client_id != client.client_id or g.expires_at <= self.clock.time():
                raise TokenError("invalid_code")
            # A browser grant must be exchanged with the redirect_uri it was issued for; self-client
            # codes need none (section 7). Exact error string unconfirmed (section 6).
            if g.redirect_uri is not None and redirect_uri != g.redirect_uri:
                raise TokenError("invalid_redirect_uri")
            g.used = True
            self.grants.pop(g.code, None)
            rt = None
            if g.offline and not self._repeat_consent(g):
                source = CONSENT if g.redirect_uri is not None else SELF_CLIENT
                rt = self.issue_refresh(client.client_id, g.scopes, g.user_id, source)
            at = self._mint(client.client_id, g.scopes, g.user_id, rt)
            return at, rt

    def _repeat_consent(self, g: Grant) -> bool:
        """A user who already granted this client offline gets no new refresh token without prompt=consent."""
        if g.redirect_uri is None or g.prompt_consent:
            return False
        return any(r.client_id == g.client_id and r.user_id == g.user_id and r.source == CONSENT
                   and not r.revoked for r in self.refresh.values())

    def refresh_access(self, client_id: str | None, secret: str | None, refresh_token: str | None) -> AccessToken:
        with self.lock:
            client = self.check_client(client_id, secret)
            rt = self.refresh.get(refresh_token or "")
            if rt is None or rt.revoked or rt.client_id != client.client_id:
                raise TokenError("invalid_code")  # Zoho's answer for an unknown or revoked refresh token
            now = self.clock.time()
            while rt.mint_times and rt.mint_times[0] <= now - MINT_WINDOW_S:
                rt.mint_times.popleft()
            if len(rt.mint_times) >= MINTS_PER_WINDOW:
                self.throttled += 1
                raise throttled()
            rt.mint_times.append(now)
            return self._mint(client.client_id, rt.scopes, rt.user_id, rt)

    def client_credentials(self, client_id: str | None, secret: str | None, scopes: tuple[str, ...],
                           user_id: int) -> AccessToken:
        with self.lock:
            client = self.check_client(client_id, secret)
            if not scopes:
                raise TokenError("invalid_scope")  # exact string unconfirmed
            return self._mint(client.client_id, scopes, user_id, None)

    def _mint(self, client_id: str, scopes: tuple[str, ...], user_id: int, rt: RefreshToken | None) -> AccessToken:
        now = self.clock.time()
        at = AccessToken(_token(), client_id, scopes, user_id, now + self.token_ttl_s,
                         rt.token if rt else None)
        self.access[at.token] = at
        self.minted += 1
        if rt is not None:
            # Expired tokens are not "live": only live ones count towards the 15.
            live = [t for t in rt.access_tokens if (a := self.access.get(t)) is not None and a.expires_at > now]
            rt.access_tokens = deque(live)
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
        self.refresh.pop(rt.token, None)
        for t in rt.access_tokens:
            at = self.access.pop(t, None)
            if at:
                at.revoked = True
        rt.access_tokens.clear()

    def remove_client(self, client_id: str) -> None:
        """Forget a client with its codes and tokens (nothing happens for an unknown client)."""
        with self.lock:
            if self.clients.pop(client_id, None) is None:
                return
            for rt in [r for r in self.refresh.values() if r.client_id == client_id]:
                self._revoke_refresh(rt)
            for at in [a for a in self.access.values() if a.client_id == client_id]:
                at.revoked = True
                self.access.pop(at.token, None)
            for code in [c for c, g in self.grants.items() if g.client_id == client_id]:
                del self.grants[code]

    def reset_windows(self) -> None:
        """Forget the minting windows (after the clock is set back by a reset)."""
        with self.lock:
            for rt in self.refresh.values():
                rt.mint_times.clear()
            for c in self.clients.values():
                c.grant_times.clear()

    # -- CRM side ---------------------------------------------------------------------

    def validate(self, token: str) -> AccessToken | None:
        at = self.access.get(token)
        if at is None or at.revoked or at.expires_at <= self.clock.time():
            return None
        return at

    def authenticate(self, header: str | None) -> AccessToken:
        """The CRM's check of ``Authorization`` (oauth-and-regions.md sections 8 and 12)."""
        prefix, _, tok = (header or "").partition(" ")
        # Only the literal "Zoho-oauthtoken " prefix is documented; "Bearer" (what token_type
        # says) is the classic mistake and fails as AUTHENTICATION_FAILURE, not INVALID_TOKEN.
        if prefix != "Zoho-oauthtoken" or not tok.strip():
            raise ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {})
        at = self.validate(tok.strip())
        if at is None:  # unknown format, expired, revoked, or another data center's token
            raise ZohoError(401, "INVALID_TOKEN", "invalid oauth token", {})
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
        """Clients, live refresh tokens (with their minting window) and live access tokens."""
        now = self.clock.time()
        with self.lock:
            return {
                "clients": [{"client_id": c.client_id, "client_secret": c.client_secret,
                             "redirect_uris": c.redirect_uris, "client_type": c.client_type}
                            for c in self.clients.values()],
                "refresh": [{"token": r.token, "client_id": r.client_id, "scopes": list(r.scopes),
                             "user_id": r.user_id, "created_at": r.created_at, "source": r.source,
                             "mint_times": list(r.mint_times), "access_tokens": list(r.access_tokens)}
                            for r in self.refresh.values() if not r.revoked],
                "access": [{"token": a.token, "client_id": a.client_id, "scopes": list(a.scopes),
                            "user_id": a.user_id, "expires_at": a.expires_at, "refresh_token": a.refresh_token}
                           for a in self.access.values() if not a.revoked and a.expires_at > now],
                "minted": self.minted,
            }

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            for c in data.get("clients", []):
                self.clients[c["client_id"]] = Client(c["client_id"], c["client_secret"], c["redirect_uris"],
                                                      client_type=c.get("client_type", "server"))
            for a in data.get("access", []):
                self.access[a["token"]] = AccessToken(a["token"], a["client_id"], tuple(a["scopes"]),
                                                      a["user_id"], a["expires_at"], a.get("refresh_token"))
            for r in data.get("refresh", []):
                self.refresh[r["token"]] = RefreshToken(
                    r["token"], r["client_id"], tuple(r["scopes"]), r["user_id"], r["created_at"],
                    r.get("source", CONSOLE), deque(r.get("mint_times", [])),
                    deque(t for t in r.get("access_tokens", []) if t in self.access))
            self.minted = int(data.get("minted", 0))


# -- scopes (oauth-and-regions.md section 11) -------------------------------------------

# Scope names of standard modules that are not simply the lower-cased api name.
_MODULE_SCOPE_NAMES = {"Price_Books": "pricebooks", "Sales_Orders": "salesorders",
                       "Purchase_Orders": "purchaseorders"}
_OP_IMPLIED = {"CREATE": ("CREATE", "WRITE"), "UPDATE": ("UPDATE", "WRITE"), "DELETE": ("DELETE", "WRITE"),
               "READ": ("READ",)}


def module_scopes(module: str, op: str, custom: bool) -> list[str]:
    """Scopes that allow ``op`` (READ/CREATE/UPDATE/DELETE) on a module's records.

    Custom modules (and their subform/linking modules) answer to ``ZohoCRM.modules.custom.*``.
    """
    ops = _OP_IMPLIED[op] + ("ALL",)
    name = "custom" if custom else _MODULE_SCOPE_NAMES.get(module, module.lower())
    return [f"ZohoCRM.modules.{o}" for o in ops] + [f"ZohoCRM.modules.{name}.{o}" for o in ops]


def has_scope(granted: tuple[str, ...], needed: list[str]) -> bool:
    # Scope names are case-insensitive in practice (section 11).
    low = {s.lower() for s in granted}
    return any(n.lower() in low for n in needed)


def require_scope(at: AccessToken, needed: list[str]) -> None:
    if needed and not has_scope(at.scopes, needed):
        raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})
