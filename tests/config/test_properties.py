"""Every property: default, good values, synonyms, bad values, and key lookup."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from connector.config import PROPERTIES, ConnectionConfig, Secret, parse_connection_string
from connector.config.properties import PROPERTIES_BY_ATTR, READ_ONLY_SCOPES, did_you_mean, lookup_property
from connector.errors import ConfigError

# (property as written, raw value, attribute, expected canonical value)
GOOD: list[tuple[str, str, str, Any]] = [
    ("Region", "EU", "region", "EU"),
    ("Region", "europe", "region", "EU"),
    ("Region", "United States", "region", "US"),
    ("Region", "uk", "region", "UK"),
    ("Region", "Saudi Arabia", "region", "SA"),
    ("Region", "UAE", "region", "AE"),
    ("Region", "crm.zoho.com.au", "region", "AU"),
    ("Domain", "eu", "region", "EU"),
    ("Domain", "crm.zoho.eu", "region", "EU"),
    ("Domain", "com", "region", "US"),
    ("Domain", "zohocloud.ca", "region", "CA"),
    ("InstanceType", "sandbox", "instance_type", "Sandbox"),
    ("InstanceType", "Development", "instance_type", "Developer"),
    ("InstanceType", "DEVELOPER", "instance_type", "Developer"),
    ("APIVersion", "v7", "api_version", "v7"),
    ("APIVersion", "8", "api_version", "v8"),
    ("AccountsServer", "http://127.0.0.1:8765/", "accounts_server_override", "http://127.0.0.1:8765"),
    ("APIServer", "http://127.0.0.1:8765", "api_server_override", "http://127.0.0.1:8765"),
    ("ContentServer", "https://upload.example.test:8443/x", "content_server_override", "https://upload.example.test:8443/x"),
    ("InitiateOAuth", "off", "initiate_oauth", "OFF"),
    ("InitiateOAuth", "Refresh", "initiate_oauth", "REFRESH"),
    ("OAuthClientId", "1000.EXAMPLECLIENTID", "oauth_client_id", "1000.EXAMPLECLIENTID"),
    ("OAuthClientSecret", "s", "oauth_client_secret", Secret("s")),
    ("OAuthAccessToken", "1000.a.b", "oauth_access_token", Secret("1000.a.b")),
    ("OAuthRefreshToken", "1000.c.d", "oauth_refresh_token", Secret("1000.c.d")),
    ("OAuthSettingsLocation", "~/tokens.sealed", "oauth_settings_location", Path("~/tokens.sealed")),
    ("OAuthKeyLocation", "/etc/key", "oauth_key_location", Path("/etc/key")),
    ("OAuthGrantType", "CLIENT", "oauth_grant_type", "client_credentials"),
    ("OAuthGrantType", "refresh_token", "oauth_grant_type", "refresh_token"),
    ("OrgId", "12345", "org_id", "12345"),
    ("CallbackURL", "https://localhost/callback", "callback_url", "https://localhost/callback"),
    ("Scope", "ZohoCRM.modules.READ ZohoCRM.org.READ", "scope", ("ZohoCRM.modules.READ", "ZohoCRM.org.READ")),
    ("Scope", "ZohoCRM.modules.READ, ZohoCRM.bulk.read,", "scope", ("ZohoCRM.modules.READ", "ZohoCRM.bulk.read")),
    ("Scope", "a.b,\n  c.d", "scope", ("a.b", "c.d")),
    ("APIType", "bulk", "api_type", "Bulk"),
    ("APIType", "Search", "api_type", "Search"),
    ("UseCOQL", "yes", "use_coql", True),
    ("UseCOQL", "ON", "use_coql", True),
    ("UseServerSideFiltering", "0", "use_server_side_filtering", False),
    ("UseServerSideFiltering", "Off", "use_server_side_filtering", False),
    ("SearchIndexLag", "0", "search_index_lag", 0),
    ("AllowedOperations", "read, INSERT,update,read", "allowed_operations", ("read", "insert", "update")),
    ("AllowedOperations", "get_record,Query,create_record", "allowed_operations", ("get_record", "query", "insert")),
    ("AllowedModules", "Leads,Contacts", "allowed_modules", ("Leads", "Contacts")),
    ("DryRun", "true", "dry_run", True),
    ("AuditLog", "audit.jsonl", "audit_log", Path("audit.jsonl")),
    ("Logfile", "/tmp/z.log", "logfile", Path("/tmp/z.log")),
    ("Verbosity", "5", "verbosity", 5),
    ("LogFormat", "JSON", "log_format", "json"),
    ("Timeout", "0", "timeout", 0),
    ("MaxRetries", "+2", "max_retries", 2),
    ("MaxConcurrency", "25", "max_concurrency", 25),
    ("Broker", "http://127.0.0.1:8787", "broker", "http://127.0.0.1:8787"),
    ("BrokerKey", "zb_abc", "broker_key", Secret("zb_abc")),
    ("BrokerKeyFile", "ws.key", "broker_key_file", Path("ws.key")),
    ("CallsPerMinute", "120", "calls_per_minute", 120),
    ("CreditBudget", "5000", "credit_budget", 5000),
    ("CreditBudgetPerDay", "0", "credit_budget_per_day", 0),
    ("BudgetLocation", "budget.json", "budget_location", Path("budget.json")),
    ("PageSize", "1", "page_size", 1),
    ("ProxyServer", "proxy.example.test", "proxy_server", "proxy.example.test"),
    ("ProxyPort", "3128", "proxy_port", 3128),
    ("ProxyUser", "someone", "proxy_user", "someone"),
    ("ProxyPassword", "pw", "proxy_password", Secret("pw")),
    ("ProxyAuthScheme", "ntlm", "proxy_auth_scheme", "NTLM"),
    ("ProxyAutoDetect", "no", "proxy_auto_detect", False),
    ("SSLServerCert", "*", "ssl_server_cert", "*"),
    ("FirewallType", "socks5", "firewall_type", "SOCKS5"),
    ("FirewallServer", "fw.example.test", "firewall_server", "fw.example.test"),
    ("FirewallPort", "1080", "firewall_port", 1080),
    ("FirewallUser", "fwuser", "firewall_user", "fwuser"),
    ("FirewallPassword", "fwpw", "firewall_password", Secret("fwpw")),
]

# Settings a value needs from other properties to be consistent.
_COMPANIONS = {
    "OAuthGrantType": "OrgId=1",
    "FirewallType": "FirewallServer=fw;FirewallPort=1",
    "FirewallServer": "FirewallType=TUNNEL;FirewallPort=1",
    "FirewallPort": "FirewallType=TUNNEL;FirewallServer=fw",
}


@pytest.mark.parametrize(("key", "raw", "attr", "expected"), GOOD)
def test_good_values(key: str, raw: str, attr: str, expected: Any) -> None:
    text = f"{key}='{raw}';{_COMPANIONS.get(key, '')}"
    assert getattr(parse_connection_string(text), attr) == expected
    # Keys are case-insensitive, and attribute names work as keys too (dict form).
    assert getattr(parse_connection_string({key.lower(): raw} | _dict(key)), attr) == expected


def _dict(key: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in _COMPANIONS.get(key, "").split(";") if pair)


# (property, bad value, words the message must contain)
BAD: list[tuple[str, Any, str]] = [
    ("Region", "Mars", "US, EU, IN, AU, JP, CN, CA, SA, UK, AE"),
    ("Domain", "zoho.mars", "com, eu, in, com.au"),
    ("InstanceType", "Prod", "Production, Sandbox, Developer"),
    ("APIVersion", "v9", "v8, v7"),
    ("AccountsServer", "accounts.zoho.eu", "http:// or https:// URL"),
    ("APIServer", "ftp://example.test", "http:// or https:// URL"),
    ("ContentServer", "http://[::1", "http:// or https:// URL"),
    ("CallbackURL", "http://localhost:notaport", "http:// or https:// URL"),
    ("InitiateOAuth", "ALWAYS", "OFF, GETANDREFRESH, REFRESH"),
    ("OAuthClientId", 42, "must be text"),
    ("OAuthClientSecret", 42, "must be text"),
    ("OAuthAccessToken", 42, "must be text"),
    ("OAuthRefreshToken", 42, "must be text"),
    ("OAuthSettingsLocation", 42, "file path"),
    ("OAuthKeyLocation", 42, "file path"),
    ("OAuthGrantType", "password", "authorization_code, refresh_token, client_credentials"),
    ("OrgId", "my-org", "numeric org id"),
    ("Scope", "ZohoCRM", "scopes such as ZohoCRM.modules.READ"),
    ("APIType", "GraphQL", "Auto, REST, COQL, Bulk, Search"),
    ("UseCOQL", "maybe", "true or false"),
    ("UseServerSideFiltering", "2", "true or false"),
    ("SearchIndexLag", "-1", "integer >= 0"),
    ("AllowedOperations", "read,drop", "read, insert, update, upsert, delete"),
    ("AllowedOperations", "read insert", "read, insert, update, upsert, delete"),
    ("AllowedModules", "Leads;x", "module api_names"),
    ("AllowedModules", "Le ads", "module api_names"),
    ("DryRun", "perhaps", "true or false"),
    ("AuditLog", 1, "file path"),
    ("Logfile", 1, "file path"),
    ("Verbosity", "6", "integer from 0 to 5"),
    ("LogFormat", "xml", "one of text, json"),
    ("Timeout", "1.5", "integer >= 0"),
    ("MaxRetries", "many", "integer >= 0"),
    ("MaxConcurrency", "0", "integer from 1 to 25"),
    ("Broker", "ftp://broker", "http:// or https://"),
    ("BrokerKey", 5, "must be text"),
    ("BrokerKeyFile", 1, "file path"),
    ("CallsPerMinute", "-1", "integer from 0 to 100000"),
    ("CreditBudget", "lots", "integer >= 0"),
    ("CreditBudgetPerDay", "1e3", "integer >= 0"),
    ("BudgetLocation", 1, "file path"),
    ("PageSize", "201", "integer from 1 to 200"),
    ("ProxyServer", 1, "must be text"),
    ("ProxyPort", "abc", "integer from 1 to 65535"),
    ("ProxyPort", True, "integer from 1 to 65535"),
    ("ProxyUser", 1, "must be text"),
    ("ProxyPassword", 1, "must be text"),
    ("ProxyAuthScheme", "KERBEROS", "BASIC, DIGEST, NONE, NTLM, NEGOTIATE"),
    ("ProxyAutoDetect", "auto", "true or false"),
    ("SSLServerCert", 1, "must be text"),
    ("FirewallType", "HTTP", "NONE, TUNNEL, SOCKS4, SOCKS5"),
    ("FirewallServer", 1, "must be text"),
    ("FirewallPort", "70000", "integer from 1 to 65535"),
    ("FirewallUser", 1, "must be text"),
    ("FirewallPassword", 1, "must be text"),
]


@pytest.mark.parametrize(("key", "raw", "words"), BAD)
def test_bad_values_list_what_is_allowed(key: str, raw: Any, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string({key: raw})
    message = str(info.value)
    assert message.startswith(key), message
    assert words in message
    if lookup_property(key).is_secret:
        assert str(raw) not in message
    elif isinstance(raw, str):
        # The bad value (for a list: the bad item) is shown for non-secrets.
        assert repr(raw) in message or repr(raw.split(",")[-1]) in message


def test_every_property_has_good_and_bad_cases() -> None:
    names = {p.name for p in PROPERTIES}
    assert {key for key, *_ in GOOD} == names
    assert {key for key, *_ in BAD} == names


@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda p: p.name)
def test_defaults(prop: Any) -> None:
    config = parse_connection_string("")
    if prop.alias_of is None:
        assert getattr(config, prop.attr) == prop.default
    # An empty value means the default too.
    assert parse_connection_string({prop.name: ""}) == config


def test_documented_defaults() -> None:
    config = ConnectionConfig()
    assert (config.region, config.instance_type, config.api_version) == ("US", "Production", "v8")
    assert config.initiate_oauth == "GETANDREFRESH"
    assert config.oauth_grant_type == "authorization_code"
    assert config.callback_url == "http://localhost:33333"
    assert config.scope == READ_ONLY_SCOPES
    assert config.api_type == "Auto" and config.use_coql is False and config.use_server_side_filtering is True
    assert config.search_index_lag == 240
    assert config.allowed_operations == ("read",) and config.allowed_modules == ()
    assert (config.verbosity, config.timeout, config.max_retries) == (1, 60, 5)
    assert (config.max_concurrency, config.page_size) == (4, 200)
    assert config.proxy_auth_scheme == "BASIC" and config.firewall_type == "NONE"
    assert config.oauth_settings_location is None and config.dry_run is False


def test_dataclass_fields_follow_the_property_table() -> None:
    fields = dataclasses.fields(ConnectionConfig)
    assert [f.name for f in fields] == list(PROPERTIES_BY_ATTR)
    for field in fields:
        assert field.default == PROPERTIES_BY_ATTR[field.name].default, field.name


def test_every_property_has_a_one_line_doc() -> None:
    for prop in PROPERTIES:
        assert prop.doc and "\n" not in prop.doc, prop.name


@pytest.mark.parametrize(
    ("key", "expected"),
    [("OAuthClientID", "OAuthClientId"), ("oauthclientid", "OAuthClientId"), ("oauth_client_id", "OAuthClientId"),
     ("Use COQL", "UseCOQL"), ("api-server", "APIServer"), ("accounts_server_override", "AccountsServer")],
)
def test_key_spellings(key: str, expected: str) -> None:
    assert lookup_property(key).name == expected


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("OAuthClinetId", "OAuthClientId"), ("Regoin", "Region"), ("InstanceTyp", "InstanceType"),
     ("UseServerFiltering", "UseServerSideFiltering"), ("ProxyPasword", "ProxyPassword"), ("TimeOut2", "Timeout")],
)
def test_unknown_key_suggests_the_closest(key: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string(f"{key}=1")
    message = str(info.value)
    assert f"unknown connection property {key!r}" in message
    assert f"did you mean {suggestion}" in message
    assert did_you_mean(key)[0] == suggestion


def test_unknown_key_without_a_close_match() -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string("Zzzzzzzz=1")
    assert "did you mean" not in str(info.value)
    assert "README" in str(info.value)


def test_unknown_key_never_echoes_its_value() -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string("OAuthClinetSecret=DISTINCTIVE-VALUE")
    assert "DISTINCTIVE" not in str(info.value)
    assert "OAuthClientSecret" in str(info.value)


def test_enum_value_did_you_mean() -> None:
    with pytest.raises(ConfigError, match="did you mean Production"):
        parse_connection_string("InstanceType=Prod")
    with pytest.raises(ConfigError, match="did you mean Sandbox"):
        parse_connection_string("InstanceType=Sandbx")


def test_duplicate_property_through_different_spellings() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        parse_connection_string("OAuthClientId=a;oauth_client_id=b")
    with pytest.raises(ConfigError, match="already given"):
        parse_connection_string("Region=EU;region=EU")


@pytest.mark.parametrize("word", ["true", "TRUE", "Yes", "1", "on", " on "])
def test_bool_true_words(word: str) -> None:
    assert parse_connection_string({"DryRun": word}).dry_run is True


@pytest.mark.parametrize("word", ["false", "False", "NO", "0", "off"])
def test_bool_false_words(word: str) -> None:
    assert parse_connection_string({"UseServerSideFiltering": word}).use_server_side_filtering is False
