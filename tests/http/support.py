"""Helpers shared by the auth, http and CLI tests: connection strings and admin calls for an emulator."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import requests

from connector.auth.manager import TokenManager
from connector.auth.oauth import ZohoOAuth
from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.session import ZohoSession

FULL = ("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.org.ALL,ZohoCRM.users.ALL,ZohoCRM.coql.READ,"
        "ZohoCRM.bulk.ALL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written to ``folder`` (PEM): a TLS server no system trusts."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zohocrm broker test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "broker.pem", folder / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def conn(emu: Emulator, *, client_id: str | None = None, client_secret: str | None = None,
         refresh_token: str | None = None, api_server: bool = True, **props: Any) -> str:
    """A connection string for ``emu``; ``props`` add or override properties (None drops one)."""
    base: dict[str, Any] = {
        "AccountsServer": emu.accounts_url,
        "APIServer": emu.api_domain if api_server else None,
        "InitiateOAuth": "REFRESH",
        "OAuthClientId": client_id or emu.client_id,
        "OAuthClientSecret": client_secret or emu.client_secret,
        "OAuthRefreshToken": refresh_token or emu.refresh_token,
        "Scope": FULL,
    }
    base.update(props)
    return ";".join(f"{k}={quote(str(v))}" for k, v in base.items() if v is not None)


def admin(emu: Emulator, method: str, path: str, **kw: Any) -> Any:
    r = requests.request(method, f"{emu.origin}/__emulator/{path}", timeout=60, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def grant(emu: Emulator, scopes: str = "full", **body: Any) -> dict[str, Any]:
    """A fresh refresh token and self-client code (``scopes``: full, read, or a comma list)."""
    return dict(admin(emu, "POST", "grant", json={"scopes": scopes, **body}))


def configure(emu: Emulator, **settings: Any) -> dict[str, Any]:
    return dict(admin(emu, "POST", "config", json=settings))


def stats(emu: Emulator) -> dict[str, Any]:
    return dict(admin(emu, "GET", "stats"))


def raw_refresh(emu: Emulator, refresh_token: str | None = None) -> dict[str, Any]:
    """One refresh_token grant straight at the accounts server (what any other client would do)."""
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "refresh_token": refresh_token or emu.refresh_token}, timeout=30)
    return dict(r.json())


def fast_session(connection: str, *, throttle_waits: tuple[float, ...] = (0.01, 0.01),
                 **http_kw: Any) -> ZohoSession:
    """A session whose waits (retry backoff, throttle, accounts outages) are milliseconds, not seconds."""
    config = parse_connection_string(connection)
    oauth = ZohoOAuth(config, retry_waits=(0.01,) * 4)
    tokens = TokenManager(config, throttle_waits=throttle_waits, oauth=oauth)
    http_kw.setdefault("backoff_base", 0.01)
    http_kw.setdefault("backoff_cap", 0.05)
    return ZohoSession(config, tokens=tokens, **http_kw)
