"""One JSON value -> one stored column value, per field data type (metadata-and-types.md section 5).

Pure functions with no store access: text lengths and formats, integer/bigint/
double/currency ranges and rounding, booleans, dates and datetimes (offset
required), JSON-document types. A bad value raises :class:`FieldError`, which
carries the per-record error entry Zoho answers with (``INVALID_DATA`` with
``expected_data_type``, ``maximum_length`` or ``supported_values`` details).
Record-level checks (mandatory fields, unique values, lookups, subforms) live in
:mod:`.values`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import schema
from .schema import FieldDef
from .zoho_errors import record_error

MAX_ID = 2**63 - 1  # ids live in BIGINT columns
INTEGER_MAX = 999_999_999  # "integer, max 9 digits"
BIGINT_DIGITS = 18
NUMBER_LIMIT = 10**16  # double / currency: up to 16 digits
# Default maximum lengths when a field declares none (metadata-and-types.md section 5).
TEXT_LIMITS = {"text": 255, "phone": 30, "email": 100, "website": 255, "picklist": 255, "event_reminder": 255}
TEXTAREA_LIMITS = {"small": 2_000, "large": 32_000, "rich_text": 50_000}
STRING_TYPES = frozenset(TEXT_LIMITS) | {"textarea"}
# Types compared case-insensitively by unique checks and duplicate-check matching.
TEXT_LIKE = STRING_TYPES | {"autonumber"}
# Not writable through the records API: the photo has its own API (metadata-and-types.md section 5).
NOT_SETTABLE = frozenset({"profileimage", "formula", "autonumber", "rollup_summary"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# yyyy-MM-ddTHH:mm:ss±HH:mm; the offset is required (an offset-less datetime is INVALID_DATA).
# "Z" is accepted as +00:00 (unconfirmed; ISO 8601 allows it). Fractions are refused: Zoho
# documents second precision.
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
BIGINT_RE = re.compile(r"^-?\d+$")


class FieldError(Exception):
    """One invalid value; turned into the record's error entry."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(code)
        self.error = record_error(code, message, details)


def invalid(api_name: str, path: str, **extra: Any) -> FieldError:
    return FieldError("INVALID_DATA", "invalid data", {**extra, "api_name": api_name, "json_path": path})


def mandatory(api_name: str, path: str) -> FieldError:
    return FieldError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": api_name, "json_path": path})


def as_id(value: Any) -> int | None:
    """A record/user id given as a digit string or a JSON number (the SDK sends numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    if isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit() \
            and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def text_value(f: FieldDef, raw: Any, path: str, expected: str = "text") -> str:
    """A JSON string that can be stored (UTF-8 encodable)."""
    if not isinstance(raw, str):
        raise invalid(f.api_name, path, expected_data_type=expected)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800 escapes cannot be stored
        raise invalid(f.api_name, path, expected_data_type=expected) from None
    return raw


def max_length(f: FieldDef) -> int:
    """The field's length, else the default limit of its type."""
    if f.length:
        return f.length
    if f.data_type == "textarea":
        return TEXTAREA_LIMITS.get(f.textarea_type or "small", 2_000)
    return TEXT_LIMITS.get(f.data_type, 255)


def number_value(f: FieldDef, raw: Any, path: str, expected: str) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (
            isinstance(raw, float) and not math.isfinite(raw)):
        raise invalid(f.api_name, path, expected_data_type=expected)
    return raw


def datetime_value(f: FieldDef, raw: Any, path: str) -> datetime:
    s = text_value(f, raw, path, "datetime")
    if not DATETIME_RE.match(s):
        raise invalid(f.api_name, path, expected_data_type="datetime")
    try:
        value = datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise invalid(f.api_name, path, expected_data_type="datetime") from None
    if not 1000 <= value.year <= 9998:  # keeps rendering in any user offset in range (Zoho's range unconfirmed)
        raise invalid(f.api_name, path, expected_data_type="datetime")
    return value


def date_value(f: FieldDef, raw: Any, path: str) -> date:
    s = text_value(f, raw, path, "date")
    try:
        if DATE_RE.match(s):
            return date.fromisoformat(s)
    except ValueError:
        pass
    raise invalid(f.api_name, path, expected_data_type="date")


def scalar_value(f: FieldDef, raw: Any, path: str) -> Any:
    """The stored value of a scalar field's JSON value (not lookups, multi-selects or related rows).

    Raises :class:`FieldError`. ``""`` clears a text field as ``null`` does.
    """
    dt = f.data_type
    if dt in STRING_TYPES:
        s = text_value(f, raw, path)
        limit = max_length(f)
        if len(s) > limit:
            raise invalid(f.api_name, path, maximum_length=limit)
        if dt == "email" and s and not EMAIL_RE.match(s):
            raise invalid(f.api_name, path)
        if dt == "picklist" and s and s not in f.picklist:
            # Every emulated picklist is restricted (unrestricted picklists unconfirmed).
            raise invalid(f.api_name, path, supported_values=list(f.picklist))
        return s if s != "" else None  # "" clears a field, as null does
    if dt == "integer":
        n = number_value(f, raw, path, "integer")
        if isinstance(n, float) and not n.is_integer():
            raise invalid(f.api_name, path, expected_data_type="integer")
        if abs(int(n)) > INTEGER_MAX:
            raise invalid(f.api_name, path, maximum_length=9)
        return int(n)
    if dt == "bigint":
        # Long integers travel as strings (JSON numbers lose precision past 2^53); both accepted.
        if isinstance(raw, str) and BIGINT_RE.match(raw) and raw.isascii():
            if len(raw.lstrip("-")) > BIGINT_DIGITS:
                raise invalid(f.api_name, path, maximum_length=BIGINT_DIGITS)
            v = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            v = raw
        else:
            raise invalid(f.api_name, path, expected_data_type="bigint")
        if abs(v) >= 10**BIGINT_DIGITS:
            raise invalid(f.api_name, path, maximum_length=BIGINT_DIGITS)
        return v
    if dt in ("double", "percent"):
        x = float(number_value(f, raw, path, "double"))
        if abs(x) >= NUMBER_LIMIT:
            raise invalid(f.api_name, path, maximum_length=16)
        return round(x, f.decimal_place) if f.decimal_place is not None else x
    if dt == "currency":
        x = number_value(f, raw, path, "double")
        if abs(x) >= NUMBER_LIMIT:
            raise invalid(f.api_name, path, maximum_length=16)
        # currency.rounding_option "normal" with precision 2: half up to cents.
        cents = Decimal(repr(x) if isinstance(x, float) else x).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if abs(cents) >= NUMBER_LIMIT:  # 9999999999999999.995 rounds up past 16 digits
            raise invalid(f.api_name, path, maximum_length=16)
        return cents
    if dt == "boolean":
        if not isinstance(raw, bool):
            raise invalid(f.api_name, path, expected_data_type="boolean")
        return raw
    if dt == "date":
        return date_value(f, raw, path)
    if dt == "datetime":
        return datetime_value(f, raw, path)
    if dt in schema.JSON_DOCUMENT_TYPES or dt in ("fileupload", "imageupload"):
        expected = f.json_type
        if not isinstance(raw, dict if expected == "jsonobject" else list):
            raise invalid(f.api_name, path, expected_data_type=expected)
        try:  # NaN is not JSON, and lone surrogates cannot be stored
            text = json.dumps(raw, ensure_ascii=False, allow_nan=False)
            text.encode("utf-8")
        except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            raise invalid(f.api_name, path, expected_data_type=expected) from None
        return text  # JSON documents are kept as Zoho sent them
    raise invalid(f.api_name, path)
