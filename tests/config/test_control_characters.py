"""NUL, CR, LF and other control characters in connection-string values are refused, and the
error never echoes the value (issue 11, item 5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import parse_connection_string
from connector.config.properties import PROPERTIES
from connector.errors import ConfigError

CONTROLS = ["\x00", "\r", "\n", "\r\n", "\x1b", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize("text, prop, char", [
    ("OAuthClientId=X\r\nEvil: 1", "OAuthClientId", "CR"),
    ("OAuthClientSecret='abc\x00def'", "OAuthClientSecret", "NUL"),
    ("OAuthRefreshToken=\"1000.a\nInjected: yes\"", "OAuthRefreshToken", "LF"),
    ("Logfile=/tmp/log\x00.txt", "Logfile", "NUL"),
    ("AuditLog='/tmp/a\nb.jsonl'", "AuditLog", "LF"),
    ("ProxyUser=ops\r\nX-Evil: 1;ProxyServer=proxy.local", "ProxyUser", "CR"),
    ("AllowedModules='Leads,Con\ntacts'", "AllowedModules", "LF"),
    ("CallbackURL=http://localhost:3333/\r\nx", "CallbackURL", "CR"),
])
def test_control_characters_are_refused_without_echo(text, prop, char):
    with pytest.raises(ConfigError) as info:
        parse_connection_string(text)
    message = str(info.value)
    assert message.startswith(f"{prop} contains a control character ({char})")
    for fragment in ("Evil", "abc", "def", "Injected", "ops", "tacts", "/tmp"):
        assert fragment not in message
    assert not any(c in message for c in "\x00\r\n")


def test_line_breaks_between_list_items_and_pem_text_still_work():
    config = parse_connection_string("Scope='ZohoCRM.modules.READ,\n  ZohoCRM.org.READ';"
                                     "SSLServerCert='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'")
    assert config.scope == ("ZohoCRM.modules.READ", "ZohoCRM.org.READ")
    assert config.ssl_server_cert is not None and "\n" in config.ssl_server_cert
    with pytest.raises(ConfigError, match="SSLServerCert contains a control character \\(NUL\\)"):
        parse_connection_string("SSLServerCert='-----BEGIN\x00'")


def test_a_secrets_error_does_not_even_say_where_the_character_is():
    first = str(pytest.raises(ConfigError, parse_connection_string, "OAuthClientSecret='a\nbcdef'").value)
    second = str(pytest.raises(ConfigError, parse_connection_string, "OAuthClientSecret='abcde\nf'").value)
    assert first == second and "position" not in first
    assert "position 2" in str(pytest.raises(ConfigError, parse_connection_string, "OrgId='1\n2'").value)


def test_control_characters_in_a_property_name_are_refused():
    with pytest.raises(ConfigError, match="property name contains a control character"):
        parse_connection_string({"Reg\x00ion": "EU"})


_NAMES = [p.name for p in PROPERTIES]
_SECRETS = {p.name for p in PROPERTIES if p.is_secret}


@given(st.sampled_from(_NAMES), st.text(alphabet="abcXYZ019._-/:", min_size=1, max_size=12),
       st.sampled_from(CONTROLS), st.text(alphabet="abcXYZ019._-/:", min_size=1, max_size=12))
def test_any_property_with_any_control_character_is_a_config_error_without_the_value(name, before, control, after):
    value = before + control + after
    for form in (f"{name}='{value}'", {name: value}):
        try:
            parse_connection_string(form)
        except ConfigError as exc:
            message = str(exc)
            assert control not in message and value not in message
            if name in _SECRETS:
                assert not any(len(part) >= 4 and part in message for part in (before, after))
        else:  # PEM text may span lines; Scope is split on whitespace, as Zoho's console prints it
            assert name in ("SSLServerCert", "Scope") and control in ("\r", "\n", "\r\n", "\x85", "\u2028")
