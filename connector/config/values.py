"""Property values: the :class:`Secret` wrapper, value types, and one :class:`Property`.

A property converts what a user wrote (text from a connection string, or a typed
Python value from a dict or ``replace()``) into one canonical typed value, and
formats it back. Keeping conversion here, next to the type, means the string
parser, the dict form and ``ConnectionConfig.replace`` can never disagree.

Secrets are wrapped in :class:`Secret` as soon as they are read, so a stray
``print(config.oauth_client_secret)`` or a log line shows ``***``; code that needs
the value calls ``.reveal()``, which is easy to grep for.
"""

from __future__ import annotations

import difflib
import hmac
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connector.errors import ConfigError

MASK = "***"

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off"})


class Secret:
    """A secret string that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps text, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret itself; call only where it is sent to Zoho or sealed in the store."""
        return self._value

    def __repr__(self) -> str:
        return repr(MASK)

    def __str__(self) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # Constant-time, so comparing configs cannot be used as a timing oracle. surrogatepass:
        # pasted text may hold lone surrogates; never crash on them. (Encoded inline: no plain
        # copy of the secret in a helper's frame locals.)
        return hmac.compare_digest(self._value.encode("utf-8", "surrogatepass"),
                                   other._value.encode("utf-8", "surrogatepass"))

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


class PropType(StrEnum):
    """The value type of a property, as shown in the README table."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    ENUM = "enum"
    LIST = "list"
    SECRET = "secret"
    PATH = "path"
    URL = "url"


def _snake_case(name: str) -> str:
    # OAuthClientId -> oauth_client_id, APIServer -> api_server, UseCOQL -> use_coql
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.replace("OAuth", "Oauth"))
    return spaced.lower()


@dataclass(frozen=True)
class Property:
    """One connection property: its type, default, allowed values and doc line."""

    name: str
    type: PropType
    default: Any
    doc: str
    allowed: tuple[str, ...] = ()
    """Canonical values (enums, and the items of an enum-valued list)."""
    synonyms: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Other spellings -> canonical value (``Development`` -> ``Developer``)."""
    minimum: int | None = None
    maximum: int | None = None
    attr: str = ""
    """Attribute name on ``ConnectionConfig``; snake_case of ``name`` unless given."""
    alias_of: str | None = None
    """Set for a property that only sets another one (``Domain`` sets ``Region``)."""
    resolve: Callable[[str], str | None] | None = field(default=None, hash=False, compare=False)
    """For enums with open-ended spellings (Region): text -> canonical value or None."""
    item_pattern: str | None = None
    """For lists without fixed values: a regex each item must match."""
    split_on_space: bool = False
    """Lists are comma-separated; Scope also accepts spaces, as Zoho prints it."""
    values_doc: str = ""
    """What the README shows as the allowed values when they are not a fixed list."""
    multiline: bool = False
    """Line breaks allowed inside the value (SSLServerCert may hold PEM text); other controls never."""

    def __post_init__(self) -> None:
        if not self.attr:
            object.__setattr__(self, "attr", _snake_case(self.name))

    @property
    def is_secret(self) -> bool:
        return self.type is PropType.SECRET

    # ---- conversion ------------------------------------------------------------

    def convert(self, value: object) -> Any:
        """Text or a typed value -> the canonical typed value; ConfigError if invalid.

        None, empty or blank text means "not set", i.e. the default.
        """
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return self.default
        if self.type is not PropType.LIST:  # list items are checked one by one, after splitting
            _refuse_control_characters(self, value)
        converter = _CONVERTERS[self.type]
        return converter(self, value)

    def format(self, value: Any, *, reveal: bool = False) -> str:
        """Canonical text for a canonical value, as ``to_connection_string`` writes it."""
        if value is None:
            return ""
        if isinstance(value, Secret):
            return value.reveal() if reveal else MASK
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ",".join(value)
        return str(value)

    def error(self, value: object, expected: str) -> ConfigError:
        """A ConfigError that names the property and what it expects, masking secrets."""
        return ConfigError(f"{self.name} must be {expected}, got {self.show(value)}")

    def show(self, value: object) -> str:
        """How a user-supplied value appears in messages: masked for secrets, cut if long."""
        if self.is_secret:
            return repr(MASK)
        if not isinstance(value, str):
            return f"a {type(value).__name__}"
        return repr(value if len(value) <= 60 else value[:57] + "...")

    def expected_values(self) -> str:
        """Human list of allowed values for an enum, with its synonyms."""
        text = ", ".join(self.allowed)
        if self.synonyms:
            text += " (also " + ", ".join(f"{k} for {v}" for k, v in self.synonyms.items()) + ")"
        return text

    def lookup_enum(self, text: str) -> str | None:
        folded = text.strip().casefold()
        for choice in self.allowed:
            if choice.casefold() == folded:
                return choice
        for synonym, choice in self.synonyms.items():
            if synonym.casefold() == folded:
                return choice
        return self.resolve(text) if self.resolve is not None else None


# C0 controls but TAB, DEL, C1 controls and the Unicode line/paragraph separators. A CR or LF
# in a value could split an HTTP header or a log line; a NUL truncates paths and C strings.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {"\x00": "NUL", "\r": "CR", "\n": "LF"}


def _refuse_control_characters(prop: Property, value: object) -> None:
    """A value with a control character is refused; the message never quotes the value."""
    if isinstance(value, Secret):
        text = value.reveal()
    elif isinstance(value, os.PathLike):
        text = os.fspath(value)
    elif isinstance(value, str):
        text = value
    else:
        return
    if not isinstance(text, str):
        return
    stripped = text.strip()
    if prop.multiline:
        stripped = stripped.replace("\r", "").replace("\n", "")
    found = _CONTROL.search(stripped)
    if found is None:
        return
    char = found.group()
    name = _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")
    # A secret's error says nothing that depends on the secret, not even where the character is.
    where = "" if prop.is_secret else f" at position {found.start() + 1} of its value"
    raise ConfigError(
        f"{prop.name} contains a control character ({name}){where}; the value is not shown, as it may be "
        "a secret",
        hint="connection-string values are one line of plain text: remove the character")


def _convert_str(prop: Property, value: object) -> str:
    if not isinstance(value, str):
        raise prop.error(value, "text")
    if prop.item_pattern is not None and not re.fullmatch(prop.item_pattern, value.strip()):
        raise prop.error(value, prop.values_doc or f"text matching {prop.item_pattern}")
    return value.strip() if prop.item_pattern is not None else value


def _convert_secret(prop: Property, value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise prop.error(value, "text")
    return Secret(value)


def _convert_path(prop: Property, value: object) -> Path:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise prop.error(value, "a file path")
    # Not expanded or resolved here: '~' and relative paths keep their meaning for
    # whoever opens the file, and to_connection_string() gives back what was written.
    return Path(value.strip())


def _convert_url(prop: Property, value: object) -> str:
    if not isinstance(value, str):
        raise prop.error(value, "an http:// or https:// URL")
    text = value.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise prop.error(value, "an http:// or https:// URL such as http://127.0.0.1:8765") from None
    if parts.username is not None or parts.password is not None:
        # Do not echo it: the part before '@' is a password.
        raise ConfigError(f"{prop.name} must not contain user credentials (user:password@); remove them")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise prop.error(value, "an http:// or https:// URL such as http://127.0.0.1:8765, without ?query")
    return text.rstrip("/")


def _convert_int(prop: Property, value: object) -> int:
    expected = _int_expectation(prop)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise prop.error(value, expected)
    if isinstance(value, str):
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
            raise prop.error(value, expected)
        number = int(value.strip())
    else:
        number = value
    if (prop.minimum is not None and number < prop.minimum) or (
        prop.maximum is not None and number > prop.maximum
    ):
        raise prop.error(str(value), expected)
    return number


def _int_expectation(prop: Property) -> str:
    if prop.minimum is not None and prop.maximum is not None:
        return f"an integer from {prop.minimum} to {prop.maximum}"
    if prop.minimum is not None:
        return f"an integer >= {prop.minimum}"
    return "an integer"


def _convert_float(prop: Property, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise prop.error(value, "a number")
    try:
        number = float(value)
    except ValueError:
        raise prop.error(value, "a number") from None
    if not math.isfinite(number):
        raise prop.error(str(value), "a finite number")
    if (prop.minimum is not None and number < prop.minimum) or (
        prop.maximum is not None and number > prop.maximum
    ):
        raise prop.error(str(value), f"a number from {prop.minimum} to {prop.maximum}")
    return number


def _convert_bool(prop: Property, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in TRUE_WORDS:
            return True
        if folded in FALSE_WORDS:
            return False
    raise prop.error(value, "true or false (also yes/no, 1/0, on/off)")


def _convert_enum(prop: Property, value: object) -> str:
    if isinstance(value, str):
        found = prop.lookup_enum(value)
        if found is not None:
            return found
    error = prop.error(value, "one of " + (prop.values_doc or prop.expected_values()))
    guess = _closest_choice(prop, value) if isinstance(value, str) else None
    if guess is not None:
        error = ConfigError(f"{error.message}; did you mean {guess}?")
    raise error


def _closest_choice(prop: Property, text: str) -> str | None:
    """``prod`` -> Production: a unique prefix match, else difflib's closest allowed value."""
    folded = text.strip().casefold()
    choices = {c.casefold(): c for c in (*prop.allowed, *prop.synonyms)}
    prefixed = {prop.lookup_enum(c) for f, c in choices.items() if folded and f.startswith(folded)}
    if len(prefixed) == 1:
        return prefixed.pop()
    close = difflib.get_close_matches(folded, list(choices), n=1, cutoff=0.6)
    return prop.lookup_enum(choices[close[0]]) if close else None


def _convert_list(prop: Property, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        separators = r"[,\s]+" if prop.split_on_space else r","
        items = [item.strip() for item in re.split(separators, value)]
    elif isinstance(value, list | tuple | set | frozenset) and all(isinstance(i, str) for i in value):
        items = [item.strip() for item in value]
    else:
        raise prop.error(value, "a comma-separated list")
    result: list[str] = []
    for item in items:
        if not item:
            continue
        _refuse_control_characters(prop, item)
        if prop.allowed:
            canonical = prop.lookup_enum(item)
            if canonical is None:
                raise prop.error(item, "a comma-separated list of " + prop.expected_values())
            item = canonical
        elif prop.item_pattern is not None and not re.fullmatch(prop.item_pattern, item):
            raise prop.error(item, "a comma-separated list of " + prop.values_doc)
        if item not in result:  # duplicates are harmless; keep the first
            result.append(item)
    return tuple(result) if result else prop.default


_CONVERTERS: dict[PropType, Callable[[Property, object], Any]] = {
    PropType.STR: _convert_str,
    PropType.SECRET: _convert_secret,
    PropType.PATH: _convert_path,
    PropType.URL: _convert_url,
    PropType.INT: _convert_int,
    PropType.FLOAT: _convert_float,
    PropType.BOOL: _convert_bool,
    PropType.ENUM: _convert_enum,
    PropType.LIST: _convert_list,
}
