"""A local Zoho CRM (API v8, v7 also served): accounts server, CRM REST, COQL, bulk, limits, faults.

Use it from Python::

    from connector.emulator import Emulator
    with Emulator(records=5_000, seed=7) as emu:
        print(emu.connection_string)

or from the shell: ``zohocrm emulator --port 8765``.

This package imports nothing from the rest of ``connector``: it is a separate
world that only speaks HTTP, so what works against it works against Zoho.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .settings import FAULT_KINDS, LATE_FAULT_KINDS, Settings

__all__ = ["Emulator", "Settings", "FAULT_KINDS", "LATE_FAULT_KINDS"]

CONNECTION_SCOPES = ("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.org.ALL,ZohoCRM.users.ALL,"
                     "ZohoCRM.coql.READ,ZohoCRM.bulk.ALL,ZohoFiles.files.ALL")


class Emulator:
    """One emulated Zoho data center on 127.0.0.1, serving in a background thread."""

    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(**settings)
        self.app: Any = None
        self.server: Any = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> Emulator:
        from .app import App
        from .server import EmulatorServer

        self.app = App(self.settings)
        self.server = EmulatorServer(self.app)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a client needs ------------------------------------------------------------

    @property
    def origin(self) -> str:
        return str(self.app.origin)

    @property
    def port(self) -> int:
        return int(self.server.port)

    accounts_url = origin
    api_domain = origin
    content_url = origin

    @property
    def client_id(self) -> str:
        return str(self.app.client.client_id)

    @property
    def client_secret(self) -> str:
        return str(self.app.client.client_secret)

    @property
    def refresh_token(self) -> str:
        return str(self.app.refresh_token)

    @property
    def connection_string(self) -> str:
        return connection_string(self.origin, self.client_id, self.client_secret, self.refresh_token,
                                 self.settings.location)

    def info(self) -> dict[str, Any]:
        """The JSON line ``zohocrm emulator`` prints when ready."""
        return {
            "accounts_url": self.origin, "api_domain": self.origin, "content_url": self.origin,
            "client_id": self.client_id, "client_secret": self.client_secret,
            "refresh_token": self.refresh_token, "connection_string": self.connection_string,
            "location": self.settings.location, "org_id": "665000001", "zgid": "665000777",
            "records": self.app.sizes, "seed": self.settings.seed,
        }

    # -- admin shortcuts (the same operations are served under /__emulator/) -------------

    def stats(self) -> dict[str, Any]:
        return dict(self.app.snapshot_stats())

    def reset(self) -> None:
        self.app.reset()

    def advance_clock(self, seconds: float) -> None:
        self.app.clock.advance(seconds)

    @contextmanager
    def frozen_clock(self) -> Iterator[None]:
        """Hold virtual time still (``advance_clock`` still moves it): reads in the block see one instant."""
        with self.app.clock.frozen():
            yield


def connection_string(origin: str, client_id: str, client_secret: str, refresh_token: str,
                      location: str = "us") -> str:
    region = location.upper()
    return (f"Region={region};AccountsServer={origin};APIServer={origin};ContentServer={origin};"
            f"InitiateOAuth=REFRESH;OAuthClientId={client_id};OAuthClientSecret={client_secret};"
            f"OAuthRefreshToken={refresh_token};Scope='{CONNECTION_SCOPES}'")
