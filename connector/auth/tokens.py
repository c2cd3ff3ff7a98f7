"""What the token endpoint gave: :class:`Tokens`, with the tokens held as :class:`Secret`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.config.values import Secret
from connector.redaction import register_secret

from .token_store import TokenSet


def as_secret(value: str | Secret) -> Secret:
    """Tokens and codes travel as :class:`Secret` (a masked repr in every frame's locals)."""
    return value if isinstance(value, Secret) else Secret(value)


@dataclass
class Tokens:
    """What the token endpoint gave us, plus where it came from.

    The tokens are :class:`Secret` objects (plain text is accepted and wrapped), so a debugger,
    ``pytest --showlocals``, rich or Sentry never shows them; ``.reveal()`` gives the value.
    """

    access_token: Secret
    expires_at: float
    api_domain: str | None = None
    refresh_token: Secret | None = None
    scopes: tuple[str, ...] = ()
    accounts_server: str | None = None
    location: str | None = None
    #: when the token was minted (client clock); with expires_at it gives the token's lifetime
    obtained_at: float | None = None
    #: the OAuth client the tokens belong to, so a store is never reused for another client
    client_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.access_token = as_secret(self.access_token)
        if self.refresh_token is not None:
            self.refresh_token = as_secret(self.refresh_token) if self.refresh_token else None

    def __repr__(self) -> str:
        return (f"Tokens(access_token='***', refresh_token={'***' if self.refresh_token else None}, "
                f"expires_at={self.expires_at:.0f}, api_domain={self.api_domain!r}, scopes={self.scopes!r})")

    @property
    def lifetime(self) -> float:
        """Seconds the token was minted to live (an hour at Zoho)."""
        if self.obtained_at is None:
            return 3600.0
        return max(0.0, self.expires_at - self.obtained_at)

    def to_store(self) -> TokenSet:
        """The JSON-able form the token store seals (a TokenSet: its repr masks the tokens)."""
        return TokenSet(access_token=self.access_token.reveal(), expires_at=self.expires_at,
                        api_domain=self.api_domain,
                        refresh_token=self.refresh_token.reveal() if self.refresh_token else None,
                        scopes=list(self.scopes), accounts_server=self.accounts_server, location=self.location,
                        obtained_at=self.obtained_at, client_id=self.client_id)

    @classmethod
    def from_store(cls, data: Mapping[str, Any]) -> Tokens:
        obtained = data.get("obtained_at")
        t = cls(access_token=Secret(str(data.get("access_token") or "")),
                expires_at=float(data.get("expires_at") or 0), api_domain=data.get("api_domain"),
                refresh_token=Secret(str(data["refresh_token"])) if data.get("refresh_token") else None,
                scopes=tuple(data.get("scopes") or ()), accounts_server=data.get("accounts_server"),
                location=data.get("location"), obtained_at=float(obtained) if obtained is not None else None,
                client_id=data.get("client_id"))
        register_secret(t.access_token)
        register_secret(t.refresh_token)
        return t
