"""Which data center does an OAuth client belong to?

The commonest silent failure with Zoho is the wrong data center: a client
registered in the EU answers ``invalid_client`` at accounts.zoho.com. When that
happens we ask the accounts server for its peers (``/oauth/serverinfo`` lists
every data center's accounts server) and probe each with a deliberately
invalid grant code and no secret: an unknown client says ``invalid_client``,
a known one says something else. Nothing secret is sent, and no token is minted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import requests

from connector.config.regions import region_for_host
from connector.config.transport import configure_session

if TYPE_CHECKING:
    from connector.config.config import ConnectionConfig

log = logging.getLogger("connector.auth")
PROBE_TIMEOUT = (5.0, 10.0)


def _loopback(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def known_locations(session: requests.Session, accounts_server: str) -> dict[str, str]:
    try:
        r = session.get(f"{accounts_server.rstrip('/')}/oauth/serverinfo", timeout=PROBE_TIMEOUT)
        data = r.json()
    except (requests.RequestException, ValueError):
        return {}
    locs = data.get("locations") if isinstance(data, dict) else None
    if not isinstance(locs, dict):
        return {}
    out = {}
    for code, url in locs.items():
        if not isinstance(url, str):
            continue
        # Only probe real Zoho accounts hosts, or loopback peers when we talk to a local emulator.
        if region_for_host(url) is not None or (_loopback(url) and _loopback(accounts_server)):
            out[str(code)] = url
    return out


def client_known_at(session: requests.Session, accounts_server: str, client_id: str) -> bool | None:
    try:
        r = session.post(f"{accounts_server.rstrip('/')}/oauth/v2/token",
                         data={"grant_type": "authorization_code", "client_id": client_id,
                               "code": "1000.probe.probe"}, timeout=PROBE_TIMEOUT)
        err = r.json().get("error")
    except (requests.RequestException, ValueError, AttributeError):
        return None
    return bool(err != "invalid_client")


def diagnose_invalid_client(config: ConnectionConfig, client_id: str | None,
                            accounts_server: str | None = None) -> str | None:
    """The location code (``eu``, ``in``...) of the data center that knows ``client_id``, if any.

    Best effort: a network failure or an odd answer means "don't know" (None), never an
    exception, because this only improves an error message that is raised anyway.
    """
    if not client_id:
        return None
    here = (accounts_server or config.accounts_server).rstrip("/")
    try:
        session = configure_session(requests.Session(), config)
    except Exception:  # a proxy/TLS misconfiguration is reported by the real call, not here
        return None
    for code, url in known_locations(session, here).items():
        if url.rstrip("/") == here:
            continue
        if client_known_at(session, url, client_id):
            log.info("client %s is known to the %s data center", client_id, code)
            return code
    return None


def location_of_accounts_server(config: ConnectionConfig, accounts_server: str) -> str | None:
    """The location code an accounts server gives itself in its own ``/oauth/serverinfo``, if any.

    Zoho's serverinfo maps every data center to its accounts server; the one whose URL is the server
    we asked names that server's data center. The emulator answers the same way for its --location.
    Best effort: None when the answer does not say.
    """
    here = accounts_server.rstrip("/")
    try:
        session = configure_session(requests.Session(), config)
        r = session.get(f"{here}/oauth/serverinfo", timeout=PROBE_TIMEOUT)
        data = r.json()
    except Exception:  # a network failure or an odd answer only means "not proven this way"
        return None
    locations = data.get("locations") if isinstance(data, dict) else None
    if not isinstance(locations, dict):
        return None
    for code, url in locations.items():
        if isinstance(url, str) and url.rstrip("/") == here:
            return str(code).lower()
    return None
