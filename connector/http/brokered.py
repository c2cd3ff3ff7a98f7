"""A connection through a zohocrm broker: the caller holds a workspace key, never a Zoho secret.

With ``Broker=<url>;BrokerKey=<key>`` (or ``BrokerKeyFile``) every CRM call of the connection goes
to the broker instead of Zoho, with the workspace key where the OAuth token would be
(``Authorization: Zoho-oauthtoken zb_...``). The broker checks the key and the workspace's policy,
puts its own Zoho token on the call and forwards it; the answer comes back unchanged, or sealed in
a HybridCryptoEnvelope when the workspace asks for that (``docs/envelope.md``). So SQL, DB-API,
DuckDB attach, migrations, syncs and writes work as they do against Zoho, and this process never
sees a client secret, refresh token, access token or Zoho Authorization header.

``BrokerKeyFile`` is the JSON ``zohocrm broker key new --out FILE`` writes (0600): the key and,
for sealed answers, the workspace's envelope keys and the broker's ML-DSA-65 public key.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from connector.auth.envelope import EnvelopeError, ReplayGuard, WorkspaceKeys, open_envelope
from connector.config.config import ConnectionConfig
from connector.config.values import Secret
from connector.errors import AuthError, ConfigError
from connector.localfs import reporting_os_errors

#: Content-Type of a sealed answer; its payload is ``struct(">I") meta-length ‖ meta JSON ‖ body``
ENVELOPE_TYPE = "application/vnd.zohocrm.envelope"

_META = struct.Struct(">I")


@dataclass(frozen=True, repr=False)
class WorkspaceCredentials:
    key: Secret
    workspace: str = ""
    envelope: WorkspaceKeys | None = None
    broker_public: bytes | None = None

    def __repr__(self) -> str:
        return f"WorkspaceCredentials(workspace={self.workspace!r}, key='***', sealed={self.envelope is not None})"


def _b64(data: dict[str, Any], name: str, where: str) -> bytes:
    try:
        return base64.b64decode(str(data[name]), validate=True)
    except (KeyError, ValueError):
        raise ConfigError(f"{where} has no valid {name!r}", hint="write it again with `zohocrm broker key new "
                                                                 "--out FILE`") from None


def load_credentials(config: ConnectionConfig) -> WorkspaceCredentials:
    """The workspace key (and envelope keys) from BrokerKey or BrokerKeyFile."""
    if config.broker_key_file is None:
        assert config.broker_key is not None  # the config's consistency rules require one of them
        return WorkspaceCredentials(config.broker_key)
    path = config.broker_key_file.expanduser()
    with reporting_os_errors(path, "broker key file", setting="BrokerKeyFile", writing=False):
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        key = Secret(str(data["key"]))
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"the broker key file {path} (BrokerKeyFile) is not the JSON `zohocrm broker key new "
                          "--out` writes") from None
    sealed = data.get("envelope")
    if not isinstance(sealed, dict):
        return WorkspaceCredentials(config.broker_key or key, str(data.get("workspace", "")))
    where = f"the broker key file {path}"
    keys = WorkspaceKeys.from_secrets(_b64(sealed, "mlkem_seed", where), _b64(sealed, "x25519_private", where),
                                      _b64(sealed, "hmac_key", where))
    return WorkspaceCredentials(config.broker_key or key, str(data.get("workspace", "")), keys,
                                _b64(sealed, "broker_public", where))


class BrokerTokens:
    """The TokenProvider of a broker connection: the workspace key stands where the token would."""

    refreshes = 0
    seconds_obtaining = 0.0

    def __init__(self, credentials: WorkspaceCredentials) -> None:
        self.credentials = credentials

    def __repr__(self) -> str:
        return "BrokerTokens(key='***')"

    @property
    def api_domain(self) -> str | None:
        return None  # the config's Broker is the API host

    def access_token(self) -> Secret:
        return self.credentials.key

    def __getattr__(self, name: str) -> Any:
        # OAuth commands (auth login/status/logout, check's scope report) on a broker connection.
        if name.startswith("__"):
            raise AttributeError(name)
        raise ConfigError(f"this is a broker connection: the broker holds the Zoho connection, so {name!r} of "
                          "its OAuth tokens is not available here", hint="run it against the broker's own "
                                                                         "connection string, on the broker's host")

    def invalidate(self, token: Secret) -> None:
        raise AuthError("the broker does not accept this workspace key (mistyped, revoked, or another broker's)",
                        hint="ask the broker's operator for a new key: zohocrm broker key new WORKSPACE")


def seal_payload(status: int, headers: dict[str, str], body: bytes) -> bytes:
    """What the broker seals: the answer's status, headers and body."""
    meta = json.dumps({"status": status, "headers": headers}).encode()
    return _META.pack(len(meta)) + meta + body


class EnvelopeOpener:
    """A requests response hook: opens sealed answers in place; refuses unsealed ones once sealed."""

    def __init__(self, credentials: WorkspaceCredentials) -> None:
        self.keys = credentials.envelope
        self.broker_public = credentials.broker_public or b""
        self.replay = ReplayGuard()

    def __call__(self, r: requests.Response, *args: Any, **kw: Any) -> requests.Response:
        sealed = r.headers.get("Content-Type", "").startswith(ENVELOPE_TYPE)
        if self.keys is None:
            if sealed:
                raise AuthError("the broker seals this workspace's answers, and this connection has no envelope keys",
                                hint="connect with BrokerKeyFile=<the file `zohocrm broker key new --out` wrote>")
            return r
        if not sealed:
            if r.status_code == 401:  # the broker could not tell the workspace: it cannot seal for it
                return r
            raise EnvelopeError("unsealed", f"the broker answered HTTP {r.status_code} without an envelope, but "
                                            "this workspace's answers are sealed: refused (a downgrade?)")
        payload = open_envelope(r.content, keys=self.keys, broker_public=self.broker_public, replay=self.replay)
        (size,) = _META.unpack_from(payload)
        meta = json.loads(payload[_META.size:_META.size + size])
        r.status_code = int(meta["status"])
        r.headers = CaseInsensitiveDict(meta["headers"])
        r._content = payload[_META.size + size:]
        r._content_consumed = True
        r.raw = None
        return r

