"""Secrets never show: not in repr, str, errors, or the default to_connection_string()."""

from __future__ import annotations

import copy
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import PROPERTIES, Secret, parse_connection_string
from connector.errors import ConfigError

SECRET = "Zq7-DISTINCTIVE-S3CRET-9xK"
SECRET_PROPERTIES = [p for p in PROPERTIES if p.is_secret]


def _visible_forms(obj: object) -> list[str]:
    return [repr(obj), str(obj), f"{obj}", f"{obj!r}", f"{obj}"]


def _assert_hidden(text: str) -> None:
    assert SECRET not in text
    # Not even a prefix or a suffix of it.
    assert SECRET[:6] not in text and SECRET[-6:] not in text


def test_secret_properties_are_the_expected_ones() -> None:
    assert [p.name for p in SECRET_PROPERTIES] == [
        "BrokerKey", "OAuthClientSecret", "OAuthAccessToken", "OAuthRefreshToken", "ProxyPassword",
        "FirewallPassword",
    ]


@pytest.mark.parametrize("prop", SECRET_PROPERTIES, ids=lambda p: p.name)
def test_secret_hidden_in_repr_str_and_output(prop: object) -> None:
    name = prop.name  # type: ignore[attr-defined]
    extra = ";FirewallType=SOCKS5;FirewallServer=fw;FirewallPort=1" if name == "FirewallPassword" else ""
    config = parse_connection_string(f"{name}={SECRET}{extra}")
    value = getattr(config, prop.attr)  # type: ignore[attr-defined]
    assert isinstance(value, Secret) and value.reveal() == SECRET
    for text in (*_visible_forms(config), *_visible_forms(value), config.to_connection_string()):
        _assert_hidden(text)
    assert f"{prop.attr}='***'" in repr(config)  # type: ignore[attr-defined]
    assert f"{name}=***" in str(config)
    assert SECRET in config.to_connection_string(reveal_secrets=True)
    _assert_hidden(repr(copy.deepcopy(config)))


@pytest.mark.parametrize("prop", SECRET_PROPERTIES, ids=lambda p: p.name)
def test_secret_hidden_in_errors(prop: object) -> None:
    name = prop.name  # type: ignore[attr-defined]
    texts = [
        f"{name}={SECRET};Region=Mars",  # another property is bad
        f"{name}={SECRET};Regoin=EU",  # unknown key after it
        f"{name}={SECRET};{name.lower()}={SECRET}",  # duplicate
        f"{name}='{SECRET}",  # unterminated quote
        f"{name}='{SECRET}'x",  # junk after the quote
        f"{name}={SECRET};FirewallType=SOCKS5",  # cross-property rule
        f"Region=US;Domain=eu;{name}={SECRET}",
        f"{name[:-2]}={SECRET}",  # misspelt key: its value must not be echoed either
    ]
    for text in texts:
        with pytest.raises(ConfigError) as info:
            parse_connection_string(text)
        _assert_hidden(str(info.value))
        _assert_hidden(repr(info.value))
        _assert_hidden("".join(traceback.format_exception(info.value)))


def test_secret_wrong_type_error_is_masked() -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string({"OAuthClientSecret": 123456789})
    assert "123456789" not in str(info.value)
    assert "'***'" in str(info.value)


def test_non_secret_bad_value_is_shown() -> None:
    with pytest.raises(ConfigError, match="ProxyPort must be an integer from 1 to 65535, got 'abc'"):
        parse_connection_string("ProxyPort=abc")


def test_url_credentials_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_connection_string(f"APIServer=https://user:{SECRET}@example.test")
    _assert_hidden(str(info.value))


def test_secret_object() -> None:
    secret = Secret(SECRET)
    assert secret == Secret(SECRET) and secret != Secret("other") and secret != SECRET
    assert hash(secret) == hash(Secret(SECRET))
    assert bool(secret) and not bool(Secret(""))
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Secret(5)  # type: ignore[arg-type]
    assert Secret("\ud800") == Secret("\ud800")  # lone surrogates compare without crashing


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp"))).filter(lambda s: s.strip() != ""))
@settings(max_examples=200)
def test_output_does_not_depend_on_the_secret(secret: str) -> None:
    # Stronger than "not a substring": what is shown is identical whatever the secret is.
    config = parse_connection_string({"OAuthRefreshToken": secret, "ProxyPassword": secret})
    other = parse_connection_string({"OAuthRefreshToken": "other", "ProxyPassword": "other"})
    assert repr(config) == repr(other)
    assert str(config) == str(other)
    assert config.to_connection_string(include_defaults=True) == other.to_connection_string(include_defaults=True)
