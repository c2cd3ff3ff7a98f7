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

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import fastjson
from .settings import FAULT_KINDS, LATE_FAULT_KINDS, Settings

__all__ = ["Emulator", "Settings", "FAULT_KINDS", "LATE_FAULT_KINDS"]

CONNECTION_SCOPES = ("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.org.ALL,ZohoCRM.users.ALL,"
                     "ZohoCRM.coql.READ,ZohoCRM.bulk.ALL,ZohoFiles.files.ALL")


class Emulator:
    """One emulated Zoho data center on 127.0.0.1, serving in a background thread.

    ``Emulator(host="0.0.0.0", allow_remote=True)`` exposes it to other machines; every
    ``/__emulator/`` path then needs :attr:`admin_token` (:meth:`admin` sends it).
    """

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

    @property
    def admin_token(self) -> str | None:
        """What ``/__emulator/`` paths require (None: they are open, as on loopback by default)."""
        return self.app.admin_token  # type: ignore[no-any-return]

    def admin_headers(self) -> dict[str, str]:
        """Headers that let a request through to ``/__emulator/`` in either mode."""
        token = self.admin_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def info(self) -> dict[str, Any]:
        """The JSON line ``zohocrm emulator`` prints when ready."""
        out = {
            "accounts_url": self.origin, "api_domain": self.origin, "content_url": self.origin,
            "client_id": self.client_id, "client_secret": self.client_secret,
            "refresh_token": self.refresh_token, "connection_string": self.connection_string,
            "location": self.settings.location, "org_id": "665000001", "zgid": "665000777",
            "records": self.app.sizes, "seed": self.settings.seed,
        }
        if self.admin_token:
            out["admin_token"] = self.admin_token
        return out

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

    def admin(self, method: str, path: str, body: Any = None, timeout: float = 120) -> Any:
        """Call ``/__emulator/{path}`` over HTTP (with the admin token when one is needed); the JSON answer.

        Raises :class:`urllib.error.HTTPError` for an error status.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", **self.admin_headers()}
        # The bound address rather than the advertised origin, which may be a name for other machines.
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "") else self.settings.host
        req = urllib.request.Request(f"http://{host}:{self.port}/__emulator/{path}", data=data, headers=headers,
                                     method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (our own http origin)
            return fastjson.loads(resp.read())

    def export(self, module: str) -> list[dict[str, Any]]:
        """Every record of ``module`` in the API's record shape (``GET /__emulator/export/{module}``)."""
        return list(self.admin("GET", f"export/{module}")["data"])

    def mutate(self, module: str, **spec: Any) -> dict[str, Any]:
        """Create, update and delete records like a user would (``POST /__emulator/mutate``)."""
        return dict(self.admin("POST", "mutate", {"module": module, **spec}))


def connection_string(origin: str, client_id: str, client_secret: str, refresh_token: str,
                      location: str = "us") -> str:
    region = location.upper()
    return (f"Region={region};AccountsServer={origin};APIServer={origin};ContentServer={origin};"
            f"InitiateOAuth=REFRESH;OAuthClientId={client_id};OAuthClientSecret={client_secret};"
            f"OAuthRefreshToken={refresh_token};Scope='{CONNECTION_SCOPES}'")
