"""The tools a broker workspace offers an AI agent: their input schemas and the shape of their answers.

Pure functions (no MCP, no network), so they are tested on their own: :func:`tool_specs` turns
what the broker says of a workspace (its allowed operations and modules) and the modules' fields
into tool definitions; an operation the policy leaves out gives no tool at all, so an agent is
never offered what would be refused. :func:`check_arguments` validates a call's arguments
against its schema and says what was wrong in words; :func:`rows_answer` and :func:`fit` shape
rows as JSON with any truncation said explicitly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

#: Zoho's own limits: 200 records a page, 100 records a write call, 50 fields a list call.
MAX_PAGE = 200
MAX_WRITE = 100
MAX_FIELDS = 50
#: Rows an answer may carry at most (a query's max_rows is capped here), and its JSON size.
MAX_ROWS = 1000
DEFAULT_ROWS = 100
MAX_CHARS = 200_000

ID = {"type": "string", "pattern": "^[0-9]{1,25}$", "description": "a Zoho record id (digits)"}
_FIELD = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_$]{0,99}$"}
DRY_RUN = {"type": "boolean", "default": True,
           "description": "true (the default): validate every row against the module's fields and say what "
                          "would be written, sending nothing; false: write to Zoho"}


@dataclass(frozen=True)
class ModuleFields:
    """What the schemas need of one module's fields (from its field metadata)."""

    readable: tuple[str, ...]
    writable: tuple[str, ...]
    mandatory: tuple[str, ...] = ()

    @classmethod
    def from_metadata(cls, fields: Sequence[Mapping[str, Any]]) -> ModuleFields:
        names = [str(f["api_name"]) for f in fields if f.get("api_name")]
        writable = [str(f["api_name"]) for f in fields if f.get("api_name") and not f.get("read_only")
                    and not f.get("field_read_only") and f.get("data_type") not in ("formula", "autonumber")]
        mandatory = [str(f["api_name"]) for f in fields if f.get("system_mandatory") and f.get("api_name")]
        return cls(tuple(dict.fromkeys(["id", *names])), tuple(writable), tuple(mandatory))


@dataclass(frozen=True)
class ToolSpec:
    name: str
    operation: str  # the policy's operation name the tool is for
    description: str
    schema: dict[str, Any]
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True
    hints: tuple[str, ...] = field(default=())


def _module(modules: Sequence[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(modules), "description": "the module's API name"}


def _per_module(fields: Mapping[str, ModuleFields], build: Any) -> list[dict[str, Any]]:
    """JSON Schema if/then rules: with module M, the field names are M's own."""
    return [{"if": {"properties": {"module": {"const": m}}, "required": ["module"]}, "then": build(m, f)}
            for m, f in fields.items()]


def _object(props: dict[str, Any], required: Sequence[str], rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": list(required),
                              "additionalProperties": False}
    if rules:
        schema["allOf"] = rules
    return schema


def _records(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_WRITE,
            "description": f"the records, 1 to {MAX_WRITE} (one Zoho call); each row is reported on its own"}


def tool_specs(operations: Sequence[str], modules: Sequence[str], fields: Mapping[str, ModuleFields], *,
               dry_run_only: bool = False, max_rows: int = MAX_ROWS) -> list[ToolSpec]:
    """The tools for a workspace allowed ``operations`` on ``modules`` (``fields``: per module, when known)."""
    ops = set(operations)
    mod = _module(modules)
    names = ", ".join(modules)
    specs: list[ToolSpec] = []
    if "query" in ops:
        specs.append(ToolSpec("query", "query", (
            "Run one read-only SQL statement (DuckDB SQL: SELECT with joins, GROUP BY, window functions; SHOW "
            f"TABLES; DESCRIBE <module>) over the CRM. Tables are the module API names ({names}); columns are "
            "field API names (a lookup field X is X_Id and X_Name). Filters on Zoho fields are pushed down to "
            "Zoho. Rows come back as JSON; at most max_rows of them, and the answer says when it was cut."),
            _object({"sql": {"type": "string", "minLength": 1, "maxLength": 20000,
                             "description": "one SELECT, SHOW, DESCRIBE or EXPLAIN statement"},
                     "max_rows": {"type": "integer", "minimum": 1, "maximum": max_rows,
                                  "default": min(DEFAULT_ROWS, max_rows),
                                  "description": "rows to return at most (more are cut, and the answer says so)"}},
                    ["sql"])))
    if "get_record" in ops:
        specs.append(ToolSpec("get_record", "get_record", "One record by its id, with all its fields.",
                              _object({"module": mod, "id": ID}, ["module", "id"])))
    if "list_records" in ops:
        def list_fields(_: str, f: ModuleFields) -> dict[str, Any]:
            return {"properties": {"fields": {"items": {"enum": list(f.readable)}}}}

        specs.append(ToolSpec("list_records", "list_records", (
            "One page of a module's records with the fields asked for, in Zoho's default order. When the "
            "answer has next_page_token, pass it back for the next page."),
            _object({"module": mod,
                     "fields": {"type": "array", "items": _FIELD, "minItems": 1, "maxItems": MAX_FIELDS,
                                "uniqueItems": True, "description": "field API names to return (id always comes)"},
                     "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                     "page_token": {"type": "string", "maxLength": 2000,
                                    "description": "next_page_token of the previous answer"}},
                    ["module", "fields"], _per_module(fields, list_fields))))
    if "search_records" in ops:
        specs.append(ToolSpec("search_records", "search_records", (
            "Records matching Zoho search criteria, e.g. (Email:equals:ann@acme.example) or "
            "((Last_Name:starts_with:Sm)and(City:equals:Boston)); operators equals, not_equal, starts_with, "
            "in, greater_than, less_than, between. One page per call."),
            _object({"module": mod,
                     "criteria": {"type": "string", "minLength": 3, "maxLength": 2000, "pattern": r"^\(.*\)$"},
                     "page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
                     "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50}},
                    ["module", "criteria"])))
    specs.extend(_write_specs(ops, modules, fields, dry_run_only))
    return specs


def _write_specs(ops: set[str], modules: Sequence[str], fields: Mapping[str, ModuleFields],
                 dry_run_only: bool) -> list[ToolSpec]:
    mod = _module(modules)
    dry = dict(DRY_RUN, const=True) if dry_run_only else DRY_RUN
    only = " This workspace is dry-run only: dry_run must stay true." if dry_run_only else ""
    specs = []

    def names(extra: Sequence[str] = ()) -> Any:
        def build(_: str, f: ModuleFields) -> dict[str, Any]:
            return {"properties": {"records": {"items": {"propertyNames": {"enum": [*extra, *f.writable]}}}}}
        return build

    record = {"type": "object", "minProperties": 1, "propertyNames": _FIELD,
              "description": "field API name -> value (a lookup as {\"id\": \"...\"})"}
    if "create_record" in ops:
        specs.append(ToolSpec("create_record", "create_record",
                              "Create records; the answer reports every row (created, or why not)." + only,
                              _object({"module": mod, "records": _records(record), "dry_run": dry},
                                      ["module", "records"], _per_module(fields, names())),
                              read_only=False, idempotent=False))
    if "update_record" in ops:
        specs.append(ToolSpec("update_record", "update_record",
                              "Update records by id (only the fields given change)." + only,
                              _object({"module": mod, "records": _records(dict(record, required=["id"])),
                                       "dry_run": dry}, ["module", "records"], _per_module(fields, names(["id"]))),
                              read_only=False))
    if "upsert_record" in ops:
        specs.append(ToolSpec("upsert_record", "upsert_record",
                              "Insert or update records, matched on the key field (e.g. Email)." + only,
                              _object({"module": mod, "records": _records(record),
                                       "key": dict(_FIELD, description="the field that identifies a record"),
                                       "dry_run": dry}, ["module", "records", "key"], _per_module(fields, names())),
                              read_only=False, idempotent=False))
    if "delete_record" in ops:
        specs.append(ToolSpec("delete_record", "delete_record",
                              "Delete records by id (they go to Zoho's recycle bin)." + only,
                              _object({"module": mod, "ids": {"type": "array", "items": ID, "minItems": 1,
                                                              "maxItems": MAX_WRITE, "uniqueItems": True},
                                       "dry_run": dry}, ["module", "ids"]),
                              read_only=False, destructive=True))
    return specs


def check_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str:
    """'' when ``arguments`` fit ``schema``; else what is wrong, where, in one or a few lines."""
    from jsonschema import Draft202012Validator  # a dependency of the mcp SDK, so present with it

    errors = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda e: list(e.absolute_path))
    lines = []
    for err in errors[:5]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
        lines.append(f"{where or 'arguments'}: {_said(err)}")
    if len(errors) > 5:
        lines.append(f"... and {len(errors) - 5} more")
    return "; ".join(lines)


def _said(err: Any) -> str:
    """jsonschema's message, without quoting a whole (maybe long) value back."""
    if err.validator == "enum":
        allowed = list(err.validator_value)
        shown = ", ".join(map(str, allowed[:30])) + (" ..." if len(allowed) > 30 else "")
        return f"{_short(err.instance)} is not one of {shown}"
    if err.validator == "additionalProperties":
        return f"unknown argument(s) {err.message.split('(', 1)[-1].rstrip(')')}"
    if err.validator == "propertyNames" or (err.validator == "pattern" and err.path and err.validator_value
                                            == _FIELD["pattern"]):
        return f"{_short(err.instance)} is not a field API name this tool can use"
    if err.validator == "maxItems":
        return f"has {len(err.instance)} items; at most {err.validator_value} in one call"
    if err.validator == "maxLength":
        return f"is {len(err.instance)} characters long; at most {err.validator_value}"
    text = str(err.message)
    return text if len(text) <= 300 else f"{_short(err.instance)} fails {err.validator} {_short(err.validator_value)}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def jsonable(value: Any) -> Any:
    """Arrow's Python values as JSON: times as ISO 8601, decimals as text (no float rounding)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def fit(answer: dict[str, Any], key: str, limit: int = MAX_CHARS) -> tuple[dict[str, Any], str]:
    """``answer`` and its JSON text, its ``key`` list cut until the text fits ``limit`` characters."""
    text = json.dumps(answer, ensure_ascii=False)
    rows = answer.get(key)
    if len(text) <= limit or not isinstance(rows, list) or not rows:
        return answer, text
    keep = len(rows)
    while keep > 0 and len(text) > limit:
        keep = keep * limit // len(text) if keep > 1 else 0
        cut = dict(answer, **{key: rows[:keep]}, truncated=True)
        cut["note"] = (f"cut to {keep} of {len(rows)} rows to keep the answer under {limit} characters; "
                       "ask for fewer columns or rows")
        text = json.dumps(cut, ensure_ascii=False)
        answer = cut
    return answer, text


def rows_answer(rows: list[dict[str, Any]], *, max_rows: int, more: bool, columns: Sequence[str] = ()) -> dict[str, Any]:
    """Query rows: at most ``max_rows``; ``more`` says the result had further rows that were cut."""
    out: dict[str, Any] = {}
    if columns:
        out["columns"] = list(columns)
    out.update(rows=[jsonable(r) for r in rows[:max_rows]], row_count=min(len(rows), max_rows),
               truncated=more)
    if more:
        out["note"] = (f"only the first {max_rows} rows are shown; the result has more: add a LIMIT, a WHERE or "
                       "an aggregate, or raise max_rows")
    return out
