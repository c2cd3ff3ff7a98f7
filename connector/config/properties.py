"""The property table: every connection property, its type, default, values and doc.

This tuple is the single source of truth: ``ConnectionConfig`` has one attribute
per entry (checked by a test), ``connection_strings/README.md`` is generated from
it (checked by a test), and key lookup with did-you-mean reads it.

Spellings users bring from other Zoho tools (``Domain=eu``, ``Region=Europe``,
``InstanceType=Development``, space-separated ``Scope``) are synonyms here, so a
pasted string parses and ``to_connection_string()`` shows the canonical form.
"""

from __future__ import annotations

import difflib
from typing import Any

from connector.config.regions import (
    INSTANCE_TYPE_SYNONYMS,
    INSTANCE_TYPES,
    REGIONS,
    region_by_name,
    region_for_domain,
)
from connector.config.values import Property, PropType
from connector.errors import ConfigError

READ_ONLY_SCOPES: tuple[str, ...] = (
    "ZohoCRM.modules.READ",
    "ZohoCRM.settings.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.users.READ",
    "ZohoCRM.coql.READ",
    "ZohoCRM.bulk.READ",
)
#: The finer read operations; ``read`` in AllowedOperations stands for all of them. Named as the
#: QuantaSeal policy names them (get_record, list_records, search_records), plus ``query`` (SQL and
#: COQL) and ``bulk_read`` (Bulk Read jobs).
READ_OPERATIONS: tuple[str, ...] = ("get_record", "list_records", "search_records", "query", "bulk_read")
WRITE_OPERATIONS: tuple[str, ...] = ("insert", "update", "upsert", "delete")
OPERATIONS: tuple[str, ...] = ("read", *READ_OPERATIONS, *WRITE_OPERATIONS)
#: Other tools' names for the write operations (QuantaSeal's policy names), accepted in AllowedOperations.
OPERATION_SYNONYMS: dict[str, str] = {"create_record": "insert", "update_record": "update",
                                      "upsert_record": "upsert", "delete_record": "delete"}


def _region_code(text: str) -> str | None:
    # Region accepts codes and long names, and forgives a Domain-style value too.
    region = region_by_name(text) or region_for_domain(text)
    return region.code if region is not None else None


def _domain_region_code(text: str) -> str | None:
    region = region_for_domain(text)
    return region.code if region is not None else None


def _enum(name: str, default: str | None, allowed: tuple[str, ...], doc: str, **extra: Any) -> Property:
    return Property(name, PropType.ENUM, default, doc, allowed=allowed, **extra)


def _int(name: str, default: int | None, doc: str, minimum: int | None = 0, maximum: int | None = None) -> Property:
    return Property(name, PropType.INT, default, doc, minimum=minimum, maximum=maximum)


def _bool(name: str, default: bool, doc: str) -> Property:
    return Property(name, PropType.BOOL, default, doc)


def _typed(kind: PropType) -> Any:
    def make(name: str, doc: str, default: Any = None, **extra: Any) -> Property:
        return Property(name, kind, default, doc, **extra)

    return make


_str, _secret, _path, _url = (_typed(k) for k in (PropType.STR, PropType.SECRET, PropType.PATH, PropType.URL))

_REGION_VALUES = (
    ", ".join(REGIONS) + " (UK and AE unconfirmed for CRM); or a long name: "
    + ", ".join(r.name for r in REGIONS.values())
    + " (also " + ", ".join(s for r in REGIONS.values() for s in r.synonyms) + ")"
)
_PORT = {"minimum": 1, "maximum": 65535}

PROPERTIES: tuple[Property, ...] = (
    # ---- where: data center, environment, hosts --------------------------------
    _enum("Region", "US", tuple(REGIONS), "Zoho data center of the account; tokens only work in their own.",
          resolve=_region_code, values_doc=_REGION_VALUES),
    # No fixed `allowed`: every spelling goes through the resolver, which returns a Region code.
    _enum("Domain", None, (),
          "Other drivers' way to pick the data center (eu = crm.zoho.eu); sets Region, never shown back.",
          alias_of="Region", resolve=_domain_region_code,
          values_doc="com, eu, in, com.au, jp, com.cn, zohocloud.ca, sa, uk, ae, or a host such as crm.zoho.eu"),
    _enum("InstanceType", "Production", INSTANCE_TYPES,
          "CRM environment: picks www., sandbox. or developer.zohoapis; tokens are bound to one.",
          synonyms=dict(INSTANCE_TYPE_SYNONYMS)),
    _enum("APIVersion", "v8", ("v8", "v7"), "CRM API version in the URL path (/crm/v8/...).",
          synonyms={"8": "v8", "7": "v7", "v8.0": "v8", "v7.0": "v7"}),
    _url("AccountsServer", "Override the accounts server (e.g. the local emulator http://127.0.0.1:8765).",
         attr="accounts_server_override"),
    _url("APIServer", "Override the CRM API origin (e.g. the local emulator); Region/InstanceType then ignored.",
         attr="api_server_override"),
    _url("ContentServer", "Override the bulk-write upload host; defaults to APIServer when that is set.",
         attr="content_server_override"),
    # ---- through a broker -----------------------------------------------------------
    _url("Broker", "A zohocrm broker (zohocrm broker serve) that holds the Zoho connection: every call goes through "
         "it, with BrokerKey instead of any Zoho secret."),
    _secret("BrokerKey", "The workspace key the broker printed once (zb_...)."),
    _path("BrokerKeyFile", "A file holding the workspace key (and, for sealed answers, the workspace's envelope "
          "keys), as `zohocrm broker key new --out` wrote it."),
    # ---- OAuth ---------------------------------------------------------------------
    _enum("InitiateOAuth", "GETANDREFRESH", ("OFF", "GETANDREFRESH", "REFRESH"),
          "OFF: use OAuthAccessToken as is; GETANDREFRESH: log in when no token, refresh when expired; "
          "REFRESH: only refresh."),
    _str("OAuthClientId", "Client ID from Zoho's API console (1000.XXXX...)."),
    _secret("OAuthClientSecret", "Client secret from Zoho's API console."),
    _secret("OAuthAccessToken", "An access token to start with (used as is when InitiateOAuth=OFF)."),
    _secret("OAuthRefreshToken", "Long-lived refresh token (from a self-client or an earlier login)."),
    _path("OAuthSettingsLocation", "Sealed token store file; empty = one per client under "
          "~/.config/zohocrm/tokens (runs reuse tokens); 'memory' keeps them in memory only."),
    _path("OAuthKeyLocation", "Key file of the sealed token store; empty lets the auth layer derive it."),
    _enum("OAuthGrantType", "authorization_code", ("authorization_code", "refresh_token", "client_credentials"),
          "How tokens are obtained; client_credentials needs OrgId.",
          synonyms={"code": "authorization_code", "refresh": "refresh_token", "client": "client_credentials"}),
    _str("OrgId", "Zoho org id, sent as soid=ZohoCRM.{OrgId} for the client_credentials grant.",
         item_pattern=r"[0-9]{1,30}", values_doc="the numeric org id (Setup > Company Details)"),
    _url("CallbackURL", "Redirect URI registered for the client; the desktop login listens on it.",
         default="http://localhost:33333"),
    Property("Scope", PropType.LIST, READ_ONLY_SCOPES, "OAuth scopes to request, comma- or space-separated.",
             split_on_space=True, item_pattern=r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)+",
             values_doc="scopes such as ZohoCRM.modules.READ"),
    # ---- reading -----------------------------------------------------------------------
    _enum("APIType", "Auto", ("Auto", "REST", "COQL", "Bulk", "Search"),
          "Which Zoho API reads records; Auto lets the planner choose per query."),
    _bool("UseCOQL", False, "Prefer COQL for filtered reads when APIType=Auto."),
    _bool("UseServerSideFiltering", True,
          "Push = and LIKE 'x%' filters to Zoho; the SQL engine re-checks rows, so it only narrows."),
    _int("SearchIndexLag", 240,
         "Seconds Zoho's search index may trail edits (typically 3-4 minutes); search filters are not trusted "
         "for rows modified more recently."),
    # ---- least privilege and audit ------------------------------------------------
    Property("AllowedOperations", PropType.LIST, ("read",), "Operations this connection may perform; anything "
             "not listed is refused before any call, reads included (read = every read operation; the default "
             "allows reads only).", allowed=OPERATIONS, synonyms=OPERATION_SYNONYMS),
    Property("AllowedModules", PropType.LIST, (), "Module api_names this connection may read or write; empty means "
             "every module for reads and none for writes.", item_pattern=r"[A-Za-z][A-Za-z0-9_]*",
             values_doc="module api_names such as Leads,Contacts"),
    _bool("DryRun", False, "Validate and report writes without sending them."),
    _path("AuditLog", "Append one hash-chained JSON line per API call to this file."),
    # ---- diagnostics and limits -------------------------------------------------------
    _path("Logfile", "Append the connector's log to this file (created 0600); - writes it to stderr."),
    _int("Verbosity", 1, "What the Logfile gets: 0 errors; 1 + warnings and a summary per session (calls, "
         "credits, records, seconds); 2 + each call's timing and where the time went; 3 + request lines; "
         "4 + headers (masked) and body shapes; 5 + bodies (secrets masked).", 0, 5),
    _enum("LogFormat", "text", ("text", "json"),
          "Logfile format: text lines, or json (one object per line: time, level, logger, message, "
          "and fields such as call, credits, seconds) for schedulers and log collectors."),
    _int("Timeout", 60, "Seconds to wait for a response; 0 waits forever."),
    _int("MaxRetries", 5, "Retries on 429, 5xx, throttling and dropped connections (not on nothing listening "
         "at a local address that never answered: a broker or emulator not started)."),
    _int("MaxConcurrency", 4, "Parallel requests per connection (Zoho limits concurrency per org).", 1, 25),
    _int("CallsPerMinute", 0, "At most this many calls start in any minute (a sliding window; calls wait their "
         "turn); 0 = no limit.", 0, 100_000),
    _int("CreditBudget", 0, "Credits one run (one connection) may spend; the call that would pass it is not sent "
         "and the run stops, resumably, with exit status 75; 0 = no budget.", 0, None),
    _int("CreditBudgetPerDay", 0, "Credits all runs of this API host and client may spend per UTC day, kept in a "
         "private ledger file (BudgetLocation); 0 = no budget.", 0, None),
    _path("BudgetLocation", "Ledger file of CreditBudgetPerDay; empty = one per API host and client under "
          "~/.config/zohocrm/budgets."),
    _int("PageSize", 200, "Records per page for REST reads (Zoho's maximum is 200).", 1, 200),
    # ---- HTTP proxy --------------------------------------------------------------------------------
    _str("ProxyServer", "HTTP proxy host name or IP address."),
    _int("ProxyPort", 80, "HTTP proxy port.", **_PORT),
    _str("ProxyUser", "User name for the HTTP proxy."),
    _secret("ProxyPassword", "Password for the HTTP proxy."),
    _enum("ProxyAuthScheme", "BASIC", ("BASIC", "DIGEST", "NONE", "NTLM", "NEGOTIATE"),
          "How to authenticate to the HTTP proxy."),
    _bool("ProxyAutoDetect", False, "Use the system proxy settings (HTTP_PROXY/HTTPS_PROXY) instead of ProxyServer."),
    _str("SSLServerCert", "Trust this server certificate: a PEM file path or PEM text; * accepts ANY "
         "certificate (no protection against interception; for local testing only).", multiline=True),
    # ---- other firewalls ------------------------------------------------------------------------------
    _enum("FirewallType", "NONE", ("NONE", "TUNNEL", "SOCKS4", "SOCKS5"),
          "Proxy-based firewall; SOCKS needs the optional 'socks' extra (pip install zohocrm-connector[socks])."),
    _str("FirewallServer", "Firewall/SOCKS proxy host name or IP address."),
    _int("FirewallPort", None, "Firewall/SOCKS proxy port.", **_PORT),
    _str("FirewallUser", "User name for the firewall."),
    _secret("FirewallPassword", "Password for the firewall."),
)

PROPERTIES_BY_NAME: dict[str, Property] = {prop.name: prop for prop in PROPERTIES}
PROPERTIES_BY_ATTR: dict[str, Property] = {prop.attr: prop for prop in PROPERTIES if prop.alias_of is None}


def normalize_key(key: str) -> str:
    """Case, spaces, underscores and hyphens do not matter: ``oauth_client_id`` is OAuthClientId."""
    return "".join(ch for ch in key.casefold() if ch not in " _-\t")


def _build_key_index() -> dict[str, Property]:
    index: dict[str, Property] = {}
    for prop in PROPERTIES:
        for spelling in {normalize_key(prop.name), normalize_key(prop.attr)}:
            if spelling in index and index[spelling] is not prop:  # a table bug; fail at import
                raise AssertionError(f"{spelling!r} names both {index[spelling].name} and {prop.name}")
            index[spelling] = prop
    return index


_BY_KEY = _build_key_index()


def lookup_property(key: str) -> Property:
    """The property for a key as a user wrote it; ConfigError with a did-you-mean if unknown."""
    prop = _BY_KEY.get(normalize_key(key))
    if prop is not None:
        return prop
    shown = repr(key if len(key) <= 60 else key[:57] + "...")
    suggestions = did_you_mean(key)
    guess = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
    raise ConfigError(
        f"unknown connection property {shown}{guess}",
        hint="property names are case-insensitive; connection_strings/README.md lists every property",
    )


def did_you_mean(key: str, limit: int = 3) -> list[str]:
    """Canonical names of the properties closest to ``key`` (difflib ratio >= 0.6)."""
    names = {normalize_key(prop.name): prop.name for prop in PROPERTIES}
    matches = difflib.get_close_matches(normalize_key(key), list(names), n=limit, cutoff=0.6)
    return [names[match] for match in matches]
