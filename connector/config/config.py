"""``ConnectionConfig``: the typed, frozen, validated form of a connection string.

Every other layer reads its settings from here, never from raw text, so a value
is parsed and checked once. The derived helpers (``accounts_server``,
``api_domain``, ``content_server``...) are the only place host names are chosen:
an override wins, otherwise the region and instance type decide.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from connector.config.grammar import format_connection_string, parse_pairs
from connector.config.properties import (
    OPERATIONS,
    PROPERTIES_BY_ATTR,
    READ_ONLY_SCOPES,
    READ_OPERATIONS,
    lookup_property,
)
from connector.config.regions import REGIONS, InstanceTypeName, Region, is_loopback, region_for_host
from connector.config.values import Secret
from connector.errors import ConfigError


@dataclass(frozen=True, repr=False)
class ConnectionConfig:
    """One connection's settings; attributes mirror the property table in the same order.

    Construct it with :func:`parse_connection_string` (text or a dict). Direct
    construction and :meth:`replace` accept the same spellings as the string form
    (``region="Europe"``, ``timeout="30"``) and normalize them. Secrets are
    :class:`~connector.config.values.Secret` objects: call ``.reveal()`` to use one.
    The ``Domain`` property has no field of its own: it sets ``region`` (see ``domain``).
    """

    region: str = "US"
    instance_type: InstanceTypeName = "Production"
    api_version: Literal["v8", "v7"] = "v8"
    accounts_server_override: str | None = None
    api_server_override: str | None = None
    content_server_override: str | None = None
    broker: str | None = None
    broker_key: Secret | None = None
    broker_key_file: Path | None = None
    initiate_oauth: Literal["OFF", "GETANDREFRESH", "REFRESH"] = "GETANDREFRESH"
    oauth_client_id: str | None = None
    oauth_client_secret: Secret | None = None
    oauth_access_token: Secret | None = None
    oauth_refresh_token: Secret | None = None
    oauth_settings_location: Path | None = None
    oauth_key_location: Path | None = None
    oauth_grant_type: Literal["authorization_code", "refresh_token", "client_credentials"] = "authorization_code"
    org_id: str | None = None
    callback_url: str = "http://localhost:33333"
    scope: tuple[str, ...] = READ_ONLY_SCOPES
    api_type: Literal["Auto", "REST", "COQL", "Bulk", "Search"] = "Auto"
    use_coql: bool = False
    use_server_side_filtering: bool = True
    search_index_lag: int = 240
    allowed_operations: tuple[str, ...] = ("read",)
    allowed_modules: tuple[str, ...] = ()
    dry_run: bool = False
    audit_log: Path | None = None
    logfile: Path | None = None
    verbosity: int = 1
    log_format: Literal["text", "json"] = "text"
    timeout: int = 60
    max_retries: int = 5
    max_concurrency: int = 4
    calls_per_minute: int = 0
    credit_budget: int = 0
    credit_budget_per_day: int = 0
    budget_location: Path | None = None
    page_size: int = 200
    proxy_server: str | None = None
    proxy_port: int = 80
    proxy_user: str | None = None
    proxy_password: Secret | None = None
    proxy_auth_scheme: Literal["BASIC", "DIGEST", "NONE", "NTLM", "NEGOTIATE"] = "BASIC"
    proxy_auto_detect: bool = False
    ssl_server_cert: str | None = None
    firewall_type: Literal["NONE", "TUNNEL", "SOCKS4", "SOCKS5"] = "NONE"
    firewall_server: str | None = None
    firewall_port: int | None = None
    firewall_user: str | None = None
    firewall_password: Secret | None = None

    def __post_init__(self) -> None:
        # Normalize every field through its property, so hand-built configs and
        # replace() get the same checks and canonical values as parsed ones.
        for prop in PROPERTIES_BY_ATTR.values():
            object.__setattr__(self, prop.attr, prop.convert(getattr(self, prop.attr)))
        _check_consistency(self)

    # ---- hosts -----------------------------------------------------------------------

    @property
    def region_info(self) -> Region:
        return REGIONS[self.region]

    @property
    def domain(self) -> str:
        """The region as other drivers' ``Domain=`` spells it (``eu``, ``com.au``)."""
        return self.region_info.domain

    @property
    def accounts_server(self) -> str:
        """OAuth server origin: AccountsServer if set, else the region's."""
        return self.accounts_server_override or self.region_info.accounts_server

    @property
    def api_domain(self) -> str:
        """CRM API origin: APIServer if set, else the region's host for the instance type."""
        if self.broker:
            return self.broker.rstrip("/")  # the broker forwards /crm/... to the org's API host
        return self.api_server_override or self.region_info.api_domain(self.instance_type)

    @property
    def content_server(self) -> str:
        """Bulk-write upload origin: ContentServer, else APIServer (the emulator serves both), else the region's."""
        if self.broker:
            return self.broker.rstrip("/")
        return self.content_server_override or self.api_server_override or self.region_info.content_server

    @property
    def api_base(self) -> str:
        return f"{self.api_domain}/crm/{self.api_version}"

    @property
    def bulk_base(self) -> str:
        return f"{self.api_domain}/crm/bulk/{self.api_version}"

    @property
    def upload_url(self) -> str:
        return f"{self.content_server}/crm/{self.api_version}/upload"

    # ---- least privilege --------------------------------------------------------------

    def is_write_allowed(self, operation: str, module: str) -> bool:
        """Whether ``operation`` may touch ``module``: a write (insert, update, upsert, delete), or a
        read (``read`` or one of READ_OPERATIONS, see :meth:`is_read_allowed`).

        Writes are default-deny: the operation must be in AllowedOperations *and*
        the module in AllowedModules. Module names compare case-insensitively, like
        Zoho's api_names in URLs. This is the rule only: writes are refused through
        :mod:`connector.http.guard` and every call through :mod:`connector.http.policy`.
        """
        op = operation.strip().lower()
        if op not in OPERATIONS:
            raise ConfigError(f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
        if op == "read" or op in READ_OPERATIONS:
            return self.is_read_allowed(op, module)
        if op not in self.allowed_operations:
            return False
        return self.is_module_listed(module)

    def is_read_allowed(self, operation: str, module: str) -> bool:
        """Whether the read ``operation`` may read ``module``.

        ``read`` in AllowedOperations allows every read operation; otherwise the finer name
        (get_record, list_records, search_records, query, bulk_read) must be listed, and
        ``read`` asked for here needs ``read`` itself. An AllowedOperations that names no read
        at all (``insert,update``) allows none: reads are governed like writes. AllowedModules,
        when not empty, must list the module (empty: every module may be read).
        """
        op = operation.strip().lower()
        if op != "read" and op not in READ_OPERATIONS:
            raise ConfigError(f"unknown read operation {operation!r}; expected read or one of "
                              f"{', '.join(READ_OPERATIONS)}")
        if "read" not in self.allowed_operations and op not in self.allowed_operations:
            return False
        return not self.allowed_modules or self.is_module_listed(module)

    def is_module_listed(self, module: str) -> bool:
        """Whether AllowedModules names ``module`` (case-insensitively)."""
        return module.casefold() in {m.casefold() for m in self.allowed_modules}

    # ---- output ------------------------------------------------------------------------------

    def to_connection_string(self, reveal_secrets: bool = False, *, include_defaults: bool = False) -> str:
        """Canonical names and values (``Domain=crm.zoho.eu`` comes back as ``Region=EU``).

        Secrets show as ``***`` unless ``reveal_secrets``; only then does the
        result parse back to an equal config. Defaults are left out unless asked.
        """
        pairs: dict[str, str] = {}
        for prop in PROPERTIES_BY_ATTR.values():
            value = getattr(self, prop.attr)
            if include_defaults or value != prop.default:
                pairs[prop.name] = prop.format(value, reveal=reveal_secrets)
        return format_connection_string(pairs)

    def __str__(self) -> str:
        return self.to_connection_string()

    def __repr__(self) -> str:
        changed = (
            f"{prop.attr}={getattr(self, prop.attr)!r}"  # Secret's repr is '***'
            for prop in PROPERTIES_BY_ATTR.values()
            if getattr(self, prop.attr) != prop.default
        )
        return f"ConnectionConfig({', '.join(changed)})"

    def replace(self, **changes: Any) -> ConnectionConfig:
        """A copy with some attributes changed and re-validated; ``domain=`` sets the region."""
        if "domain" in changes:
            domain = lookup_property("Domain").convert(changes.pop("domain"))
            if domain is not None:
                changes.setdefault("region", domain)
        for name in changes:
            if name not in PROPERTIES_BY_ATTR:
                close = difflib.get_close_matches(name, list(PROPERTIES_BY_ATTR), n=1)
                guess = f"; did you mean {close[0]}?" if close else ""
                raise ConfigError(f"ConnectionConfig has no attribute {name!r}{guess}")
        return dataclasses.replace(self, **changes)


def _check_consistency(config: ConnectionConfig) -> None:
    """Rules that involve more than one property."""
    for name, url in (
        ("AccountsServer", config.accounts_server_override),
        ("APIServer", config.api_server_override),
        ("ContentServer", config.content_server_override),
        ("Broker", config.broker),
    ):
        if url and url.lower().startswith("http://") and not is_loopback(url):
            # Tokens and the client secret would cross the network in clear text; oauthlib
            # would refuse too, but only later and with a bare "insecure_transport".
            raise ConfigError(
                f"{name} uses plain http:// on a host that is not this machine; https:// is required "
                "except on loopback (127.0.0.1, ::1, localhost)",
                hint=f"write {name}=https://..., or run the local emulator on 127.0.0.1",
            )
        owner = region_for_host(url) if url else None
        if owner is not None and owner.code != config.region:
            raise ConfigError(
                f"{name} is a host of the {owner.code} data center but Region is {config.region}; "
                f"set Region={owner.code}, or remove {name}",
                hint="tokens, accounts server and API host must all belong to one data center",
            )
    if config.firewall_type != "NONE" and (not config.firewall_server or config.firewall_port is None):
        raise ConfigError(
            f"FirewallType={config.firewall_type} needs FirewallServer and FirewallPort; set both"
        )
    if config.firewall_type == "NONE" and config.firewall_server:
        raise ConfigError("FirewallServer is set but FirewallType is NONE; set FirewallType to TUNNEL, SOCKS4 or SOCKS5")
    if config.broker:
        held = [name for name, value in (("OAuthClientSecret", config.oauth_client_secret),
                                         ("OAuthRefreshToken", config.oauth_refresh_token),
                                         ("OAuthAccessToken", config.oauth_access_token)) if value]
        if held:
            raise ConfigError(f"Broker is set, so this connection holds no Zoho secret, but {', '.join(held)} "
                              "is given; remove it (the broker holds the Zoho connection)")
    if config.oauth_grant_type == "client_credentials" and not config.org_id:
        raise ConfigError("OAuthGrantType=client_credentials needs OrgId (Zoho's soid=ZohoCRM.{OrgId}); set OrgId")


def parse_connection_string(source: str | Mapping[str, object]) -> ConnectionConfig:
    """Parse ``Key=Value;...`` text, or a mapping of property name -> value, into a config.

    Keys are case-insensitive and may be canonical names (``OAuthClientId``) or
    attribute names (``oauth_client_id``); an empty value means the default.
    Raises ConfigError, and only ConfigError, for anything wrong.
    """
    if isinstance(source, str):
        pairs: Mapping[str, object] = parse_pairs(source)
    elif isinstance(source, Mapping):
        pairs = source
    else:
        raise ConfigError(f"expected a connection string or a mapping, got {type(source).__name__}")
    return _build(pairs)


def _build(pairs: Mapping[str, object]) -> ConnectionConfig:
    values: dict[str, object] = {}
    written: dict[str, str] = {}
    explicit: set[str] = set()
    domain_code: str | None = None
    for key, raw in pairs.items():
        if not isinstance(key, str):
            raise ConfigError(f"connection property names must be text, got {type(key).__name__}")
        if any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in key.strip()):
            raise ConfigError("a connection property name contains a control character (NUL, CR, LF or "
                              "another); it is not shown", hint="property names are plain words such as Region")
        prop = lookup_property(key)
        if prop.name in written:
            raise ConfigError(f"{prop.name} is given twice (as {written[prop.name]!r} and {key!r}); give it once")
        written[prop.name] = key
        value = prop.convert(raw)
        if raw is not None and not (isinstance(raw, str) and not raw.strip()):
            explicit.add(prop.name)
        if prop.alias_of is not None:
            domain_code = value
        else:
            values[prop.attr] = value
    if domain_code is not None:
        if "Region" in explicit and values["region"] != domain_code:
            raise ConfigError(
                f"Region={values['region']} and Domain={pairs[written['Domain']]!s} name different data "
                f"centers (that Domain means {domain_code}); give only one of them"
            )
        values["region"] = domain_code
    elif "Region" not in explicit:
        # An AccountsServer/APIServer on a Zoho host says which region is meant.
        for attr in ("accounts_server_override", "api_server_override"):
            url = values.get(attr)
            owner = region_for_host(url) if isinstance(url, str) else None
            if owner is not None:
                values["region"] = owner.code
                break
    return ConnectionConfig(**values)  # type: ignore[arg-type]

