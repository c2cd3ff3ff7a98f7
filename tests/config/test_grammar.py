"""The connection-string grammar: table-driven cases plus hypothesis round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import parse_connection_string
from connector.config.grammar import ConnectionStringSyntaxError, format_connection_string, parse_pairs
from connector.errors import ConfigError

GOOD_CASES: list[tuple[str, dict[str, str]]] = [
    ("", {}),
    ("   ", {}),
    (";;;", {}),
    ("Region=EU", {"Region": "EU"}),
    ("Region=EU;", {"Region": "EU"}),
    ("Region=EU;;InstanceType=Sandbox;", {"Region": "EU", "InstanceType": "Sandbox"}),
    ("  Region  =  EU  ;  InstanceType = Sandbox  ", {"Region": "EU", "InstanceType": "Sandbox"}),
    ("Region=EU;\n  InstanceType=Sandbox;\n", {"Region": "EU", "InstanceType": "Sandbox"}),
    ("Key='a;b'", {"Key": "a;b"}),
    ('Key="a;b=c"', {"Key": "a;b=c"}),
    ("Key='x=y'", {"Key": "x=y"}),
    ('Key3="x""y"', {"Key3": 'x"y'}),
    ("Key='it''s'", {"Key": "it's"}),
    ("Key=\"it's\"", {"Key": "it's"}),
    ("Key='say \"hi\"'", {"Key": 'say "hi"'}),
    ("Key=''", {"Key": ""}),
    ('Key=""""', {"Key": '"'}),
    ("Key=", {"Key": ""}),
    ("Key=  ;Other=1", {"Key": "", "Other": "1"}),
    ("Key='  padded  '", {"Key": "  padded  "}),
    ("Key = 'a' ; Other = 'b' ", {"Key": "a", "Other": "b"}),
    ("Token=abc==", {"Token": "abc=="}),
    ("Url=http://h/p?a=1&b=2", {"Url": "http://h/p?a=1&b=2"}),
    ("Key=it's", {"Key": "it's"}),
    ("Key=a b c", {"Key": "a b c"}),
    ("Scope=a,\n   b", {"Scope": "a,\n   b"}),
    ("'Odd;Key'=1", {"Odd;Key": "1"}),
    ("'a=b' = 'c'", {"a=b": "c"}),
    ("Region=EU;Key2='a;b';Key3=\"x\"\"y\"", {"Region": "EU", "Key2": "a;b", "Key3": 'x"y'}),
]


@pytest.mark.parametrize(("text", "expected"), GOOD_CASES)
def test_parse_pairs(text: str, expected: dict[str, str]) -> None:
    result = parse_pairs(text)
    assert result == expected
    assert list(result) == list(expected)  # order is kept


# (text, 1-based position the message must name, words the message must contain)
BAD_CASES: list[tuple[str, int, str]] = [
    ("Region", 7, "expected '='"),
    ("Region;InstanceType=Sandbox", 7, "expected '='"),
    ("=EU", 1, "expected a property name"),
    ("Region=EU; =x", 12, "expected a property name"),
    ("Key='abc", 5, "never closed"),
    ('Key="abc""', 5, "never closed"),
    ("Key='abc'def", 10, "expected ';'"),
    ("Key='abc' 'def'", 11, "expected ';'"),
    ("''=x", 1, "empty quoted property name"),
    ("'Key' x", 7, "expected '='"),
    ("'Key", 1, "never closed"),
    ("Region=EU;region=US", 11, "already given at position 1"),
    ("Region=EU;REGION=US", 11, "case-insensitive"),
]


@pytest.mark.parametrize(("text", "position", "words"), BAD_CASES)
def test_parse_pairs_errors_name_position(text: str, position: int, words: str) -> None:
    with pytest.raises(ConnectionStringSyntaxError) as info:
        parse_pairs(text)
    message = str(info.value)
    assert words in message
    assert f"position {position}" in message
    assert isinstance(info.value, ConfigError)


def test_syntax_error_does_not_quote_the_text() -> None:
    # The text around a syntax error may be a secret pasted in the wrong place.
    with pytest.raises(ConfigError) as info:
        parse_pairs("OAuthClientSecret='S3CRET-VALUE-XYZ")
    assert "S3CRET" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_pairs("Region=EU;S3CRET-VALUE-XYZ")
    assert "S3CRET" not in str(info.value)


def test_parse_pairs_rejects_non_text() -> None:
    with pytest.raises(ConfigError):
        parse_pairs(b"Region=EU")  # type: ignore[arg-type]


FORMAT_CASES: list[tuple[dict[str, str], str]] = [
    ({"Region": "EU"}, "Region=EU"),
    ({"A": "1", "B": "2"}, "A=1;B=2"),
    ({"Key": "a;b"}, "Key='a;b'"),
    ({"Key": "x=y"}, "Key=x=y"),
    ({"Key": " lead"}, "Key=' lead'"),
    ({"Key": "it's"}, "Key=it's"),
    ({"Key": "'q"}, "Key=\"'q\""),
    ({"Key": "'\"both;"}, "Key='''\"both;'"),
    ({"a=b": "c"}, "'a=b'=c"),
    ({"Key": ""}, "Key="),
]


@pytest.mark.parametrize(("mapping", "expected"), FORMAT_CASES)
def test_format_connection_string(mapping: dict[str, str], expected: str) -> None:
    assert format_connection_string(mapping) == expected
    assert parse_pairs(expected) == mapping


@pytest.mark.parametrize("mapping", [{"": "x"}, {"Key": "1", "KEY": "2"}, {"Key": 1}])
def test_format_rejects_what_cannot_round_trip(mapping: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        format_connection_string(mapping)  # type: ignore[arg-type]


_keys = st.text(min_size=1)
_mappings = st.dictionaries(_keys, st.text(), max_size=8).filter(
    lambda m: len({k.casefold() for k in m}) == len(m)
)


@given(_mappings)
@settings(max_examples=400)
def test_format_then_parse_round_trips(mapping: dict[str, str]) -> None:
    assert parse_pairs(format_connection_string(mapping)) == mapping


@given(st.text())
@settings(max_examples=500)
def test_parse_pairs_only_raises_config_error(text: str) -> None:
    try:
        parse_pairs(text)
    except ConfigError:
        pass


_alphabet = st.sampled_from(list("ab=;'\" \n\tR") + ["Region", "EU", "OAuthClientSecret", "Timeout", "1"])


@given(st.one_of(st.text(), st.lists(_alphabet, max_size=30).map("".join)))
@settings(max_examples=1000)
def test_parse_connection_string_only_raises_config_error(text: str) -> None:
    try:
        parse_connection_string(text)
    except ConfigError:
        pass
