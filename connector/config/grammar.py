"""Connection-string grammar: ``Key=Value;Key2='a;b';Key3="x""y"``.

The grammar is the ODBC/ADO.NET one users already write for other Zoho drivers
(see ``shared/seeds/002`` and ``003``), so strings pasted from those tools parse:

* segments are separated by ``;``; empty segments (``;;``, a trailing ``;``) are ignored;
* a segment is ``Key=Value``; whitespace (including newlines, so multi-line pastes
  work) around keys, values and separators is ignored;
* a value may be quoted with ``'`` or ``"``; inside quotes ``;`` and ``=`` are
  literal and the quote character is written twice to include it (``"x""y"`` is
  ``x"y``); whitespace inside quotes is kept;
* an unquoted value runs to the next ``;``, so it may contain ``=`` (base64
  padding, URLs with query strings) but not ``;``;
* a key may be quoted the same way (rarely needed, but it makes
  :func:`format_connection_string` total: any non-empty text can be a key);
* keys are case-insensitive, so ``Region=US;region=EU`` is a duplicate and an error.

This module knows nothing about which keys exist; :mod:`connector.config.properties`
does. Error messages give the 1-based position and what was expected, and never
quote the text around the error: it may be a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.errors import ConfigError

_QUOTES = ("'", '"')
_GRAMMAR_HINT = "expected Key=Value pairs separated by ';', e.g. Region=EU;InstanceType=Sandbox"


class ConnectionStringSyntaxError(ConfigError):
    """The text is not ``Key=Value;...``; ``offset`` is the 0-based index of the problem."""

    def __init__(self, message: str, *, offset: int, hint: str | None = _GRAMMAR_HINT) -> None:
        self.offset = offset
        super().__init__(message, hint=hint)


def parse_pairs(text: str) -> dict[str, str]:
    """Split a connection string into an ordered mapping of raw key -> raw value.

    Keys come back as written (trimmed, unquoted); values are unquoted, and
    trimmed unless they were quoted. Nothing is validated beyond the grammar.
    """
    if not isinstance(text, str):
        raise ConfigError(f"a connection string must be text (str), got {type(text).__name__}")
    pairs: dict[str, str] = {}
    first_position: dict[str, int] = {}
    index = 0
    length = len(text)
    while True:
        index = _skip_space(text, index)
        if index >= length:
            return pairs
        if text[index] == ";":
            index += 1
            continue
        key_start = index
        key, index = _read_key(text, index)
        value, index = _read_value(text, _skip_space(text, index + 1))
        folded = key.casefold()
        if folded in first_position:
            raise ConnectionStringSyntaxError(
                f"the property {_show_key(key)} at position {key_start + 1} was already given at "
                f"position {first_position[folded] + 1}; keys are case-insensitive, give each once",
                offset=key_start,
                hint=None,
            )
        first_position[folded] = key_start
        pairs[key] = value
        index += 1  # past the ';' (or past the end, which ends the loop)


def format_connection_string(mapping: Mapping[str, str]) -> str:
    """Write ``mapping`` as a connection string that :func:`parse_pairs` reads back exactly.

    Values (and keys) are quoted only when they need it: leading or trailing
    whitespace, a ``;``, an opening quote, or (keys only) an ``=``.
    """
    seen: set[str] = set()
    segments: list[str] = []
    for key, value in mapping.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError("format_connection_string needs text keys and text values")
        if key == "":
            raise ConfigError("a connection-string key cannot be empty")
        if key.casefold() in seen:
            raise ConfigError(f"the key {_show_key(key)} appears twice (keys are case-insensitive)")
        seen.add(key.casefold())
        segments.append(f"{_quote_if_needed(key, is_key=True)}={_quote_if_needed(value, is_key=False)}")
    return ";".join(segments)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _read_key(text: str, index: int) -> tuple[str, int]:
    """Read a key starting at ``index``; return it and the index of its ``=``."""
    if text[index] in _QUOTES:
        key, after = _read_quoted(text, index)
        if key == "":
            raise ConnectionStringSyntaxError(
                f"empty quoted property name at position {index + 1}; expected a name such as Region",
                offset=index,
            )
        equals = _skip_space(text, after)
        if equals >= len(text) or text[equals] != "=":
            raise ConnectionStringSyntaxError(
                f"expected '=' after the quoted property name ending at position {after}, found "
                f"{'the end of the text' if equals >= len(text) else 'other text'} at position {equals + 1}",
                offset=min(equals, len(text)),
            )
        return key, equals
    end = index
    while end < len(text) and text[end] not in "=;":
        end += 1
    if end == index:  # the segment starts with '='
        raise ConnectionStringSyntaxError(
            f"expected a property name before '=' at position {index + 1}", offset=index
        )
    if end >= len(text) or text[end] == ";":
        raise ConnectionStringSyntaxError(
            f"expected '=' after the property name starting at position {index + 1}, "
            f"found {'the end of the text' if end >= len(text) else ';'} at position {end + 1}",
            offset=end,
        )
    return text[index:end].rstrip(), end


def _read_value(text: str, index: int) -> tuple[str, int]:
    """Read a value starting at ``index``; return it and the index of the ``;`` (or the end)."""
    if index < len(text) and text[index] in _QUOTES:
        value, after = _read_quoted(text, index)
        end = _skip_space(text, after)
        if end < len(text) and text[end] != ";":
            raise ConnectionStringSyntaxError(
                f"expected ';' or the end of the text after the quoted value closed at position {after}, "
                f"found more text at position {end + 1}; to put a quote inside a quoted value, write it twice",
                offset=end,
            )
        return value, end
    end = text.find(";", index)
    if end == -1:
        end = len(text)
    return text[index:end].rstrip(), end


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted token at ``start``; return its content and the index after the closing quote."""
    quote = text[start]
    parts: list[str] = []
    index = start + 1
    while True:
        close = text.find(quote, index)
        if close == -1:
            raise ConnectionStringSyntaxError(
                f"the quote {quote} opened at position {start + 1} is never closed; expected a closing "
                f"{quote} (write it twice, {quote}{quote}, to include it in the value)",
                offset=start,
                hint=None,
            )
        parts.append(text[index:close])
        if close + 1 < len(text) and text[close + 1] == quote:
            parts.append(quote)
            index = close + 2
            continue
        return "".join(parts), close + 1


def _quote_if_needed(token: str, *, is_key: bool) -> str:
    needs_quotes = (
        token != token.strip()
        or ";" in token
        or token[:1] in _QUOTES
        or (is_key and "=" in token)
    )
    if not needs_quotes:
        return token
    # Prefer the quote character that does not occur, so the result stays readable.
    quote = '"' if "'" in token and '"' not in token else "'"
    return quote + token.replace(quote, quote * 2) + quote


def _show_key(key: str) -> str:
    """A key as shown in messages: quoted, and cut short (a garbled paste can be long)."""
    return repr(key if len(key) <= 60 else key[:57] + "...")
