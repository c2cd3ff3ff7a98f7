"""ConnectionConfig: overrides, cross-property rules, permissions, replace, round-trips."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import connector
from connector.config import PROPERTIES, ConnectionConfig, Secret, parse_connection_string
from connector.errors import ConfigError, PermissionDenied
from connector.http.guard import require_write


def test_lazy_package_export() -> None:
    assert connector.parse_connection_string is parse_connection_string


def test_frozen() -> None:
    config = parse_connection_string("Region=EU")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.region = "US"  # type: ignore[misc]


def test_emulator_overrides() -> None:
    config = parse_connection_string("AccountsServer=http://127.0.0.1:8765;APIServer=http://127.0.0.1:8765/")
    assert config.accounts_server == "http://127.0.0.1:8765"
    assert config.api_domain == "http://127.0.0.1:8765"
    assert config.api_base == "http://127.0.0.1:8765/crm/v8"
    assert config.bulk_base == "http://127.0.0.1:8765/crm/bulk/v8"
    assert config.content_server == "http://127.0.0.1:8765"  # uploads follow APIServer
    assert config.region == "US"


def test_content_server_override_wins() -> None:
    config = parse_connection_string("APIServer=http://127.0.0.1:1;ContentServer=http://127.0.0.1:2")
    assert config.content_server == "http://127.0.0.1:2"
    assert parse_connection_string("Region=EU;APIVersion=7").api_base == "https://www.zohoapis.eu/crm/v7"


def test_region_and_domain() -> None:
    assert parse_connection_string("Domain=eu;Region=Europe").region == "EU"
    assert parse_connection_string("Region=;Domain=crm.zoho.in").region == "IN"
    with pytest.raises(ConfigError, match="Region=US and Domain=eu name different data centers"):
        parse_connection_string("Region=US;Domain=eu")
    assert parse_connection_string("Domain=crm.zoho.eu").to_connection_string() == "Region=EU"
    assert parse_connection_string("Domain=com").to_connection_string() == ""
    assert parse_connection_string("Domain=eu").domain == "eu"


def test_region_inferred_from_a_zoho_override() -> None:
    assert parse_connection_string("AccountsServer=https://accounts.zoho.eu").region == "EU"
    assert parse_connection_string("APIServer=https://sandbox.zohoapis.com.au").region == "AU"


@pytest.mark.parametrize(
    "text",
    ["Region=US;AccountsServer=https://accounts.zoho.eu", "Domain=eu;APIServer=https://www.zohoapis.com",
     "Region=CA;ContentServer=https://content.zohoapis.com"],
)
def test_override_in_another_data_center_is_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="data center but Region is"):
        parse_connection_string(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [("FirewallType=SOCKS5", "needs FirewallServer and FirewallPort"),
     ("FirewallType=TUNNEL;FirewallServer=fw", "needs FirewallServer and FirewallPort"),
     ("FirewallServer=fw;FirewallPort=1080", "FirewallType is NONE"),
     ("OAuthGrantType=client_credentials", "needs OrgId")],
)
def test_cross_property_rules(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_connection_string(text)


def test_write_permissions_are_default_deny() -> None:
    config = parse_connection_string("")
    assert config.is_write_allowed("read", "Leads")
    for op in ("insert", "update", "upsert", "delete"):
        assert not config.is_write_allowed(op, "Leads")
    with pytest.raises(PermissionDenied, match=r"insert on Leads: not allowed .*`;AllowedOperations=read,insert;"
                                               r"AllowedModules=Leads`"):
        require_write(config, "insert", "Leads")


def test_write_permissions_need_operation_and_module() -> None:
    config = parse_connection_string("AllowedOperations=read,insert,upsert;AllowedModules=Leads,Contacts")
    assert config.is_write_allowed("insert", "Leads")
    assert config.is_write_allowed("UPSERT", "contacts")
    assert not config.is_write_allowed("insert", "Deals")
    assert not config.is_write_allowed("delete", "Leads")
    assert not config.is_write_allowed("read", "Deals")  # AllowedModules limits reads too
    with pytest.raises(PermissionDenied, match=r"insert on Deals: not allowed .*`;AllowedModules=Leads,Contacts,Deals`"):
        require_write(config, "insert", "Deals")
    require_write(config, "insert", "Leads")
    with pytest.raises(ConfigError, match="unknown operation"):
        config.is_write_allowed("drop", "Leads")


def test_operations_without_modules_still_deny_writes() -> None:
    config = parse_connection_string("AllowedOperations=read,insert,update,upsert,delete")
    assert not config.is_write_allowed("insert", "Leads")
    assert config.is_write_allowed("read", "Leads")


def test_replace_normalizes_and_revalidates() -> None:
    config = parse_connection_string("Region=EU")
    changed = config.replace(region="Japan", timeout="30", instance_type="Development", dry_run="yes")
    assert (changed.region, changed.timeout, changed.instance_type, changed.dry_run) == ("JP", 30, "Developer", True)
    assert config.region == "EU"  # the original is untouched
    assert config.replace(domain="crm.zoho.in").region == "IN"
    assert config.replace(oauth_client_secret="x").oauth_client_secret == Secret("x")
    with pytest.raises(ConfigError, match="did you mean timeout"):
        config.replace(timout=3)
    with pytest.raises(ConfigError, match="integer from 1 to 200"):
        config.replace(page_size=500)
    with pytest.raises(ConfigError, match="data center"):
        config.replace(accounts_server_override="https://accounts.zoho.com")


def test_direct_construction_normalizes() -> None:
    assert ConnectionConfig(region="europe", scope="a.b c.d") == parse_connection_string("Region=EU;Scope=a.b,c.d")  # type: ignore[arg-type]


def test_dict_form_accepts_typed_values() -> None:
    config = parse_connection_string(
        {"region": "EU", "timeout": 30, "dry_run": True, "allowed_operations": ["read", "insert"],
         "OAuthRefreshToken": Secret("r"), "oauth_settings_location": None}
    )
    assert (config.timeout, config.dry_run, config.allowed_operations) == (30, True, ("read", "insert"))
    assert config.oauth_refresh_token == Secret("r") and config.oauth_settings_location is None
    with pytest.raises(ConfigError, match="must be text"):
        parse_connection_string({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="connection string or a mapping"):
        parse_connection_string(42)  # type: ignore[arg-type]


def test_canonical_connection_string() -> None:
    config = parse_connection_string(
        "region=europe;instancetype=Development;scope=ZohoCRM.modules.READ ZohoCRM.org.READ;usecoql=YES;"
        "oauthclientid=1000.X;SSLServerCert='a;b'"
    )
    assert config.to_connection_string() == (
        "Region=EU;InstanceType=Developer;OAuthClientId=1000.X;Scope=ZohoCRM.modules.READ,ZohoCRM.org.READ;"
        "UseCOQL=true;SSLServerCert='a;b'"
    )
    full = config.to_connection_string(include_defaults=True)
    assert parse_connection_string(full) == config
    assert full.count("=") >= len([p for p in PROPERTIES if p.alias_of is None])


def test_pickle_round_trip() -> None:
    config = parse_connection_string("Region=EU;OAuthClientSecret=s;AuditLog=a.jsonl")
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(config) == hash(parse_connection_string("Region=EU;OAuthClientSecret=s;AuditLog=a.jsonl"))


# Any valid config written with revealed secrets parses back to an equal config.
# Control characters are refused in values (test_config_controls.py); these stay on one line.
_one_line = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp")))
_configs = st.fixed_dictionaries(
    {},
    optional={
        "Region": st.sampled_from(["US", "EU", "Europe", "com.au", "Canada"]),
        "InstanceType": st.sampled_from(["Production", "Sandbox", "Development"]),
        "OAuthClientId": _one_line,
        "OAuthClientSecret": _one_line,
        "OAuthRefreshToken": _one_line,
        "OAuthSettingsLocation": _one_line,
        "Scope": st.lists(st.from_regex(r"[A-Za-z]{1,5}\.[a-z]{1,5}", fullmatch=True), max_size=4).map(" ".join),
        "Timeout": st.integers(0, 10_000).map(str),
        "DryRun": st.sampled_from(["yes", "no", "1", "0", "true"]),
        "AllowedModules": st.lists(st.from_regex(r"[A-Z][a-z_0-9]{0,8}", fullmatch=True), max_size=3).map(",".join),
        "SSLServerCert": _one_line,
        "ProxyPassword": _one_line,
    },
)


@given(_configs)
@settings(max_examples=300)
def test_to_connection_string_round_trips(pairs: dict[str, str]) -> None:
    config = parse_connection_string(pairs)
    assert parse_connection_string(config.to_connection_string(reveal_secrets=True)) == config
    assert parse_connection_string(config.to_connection_string(True, include_defaults=True)) == config
