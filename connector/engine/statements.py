"""What kind of statement a SQL text is, its parameters in DuckDB's form, and the catalog statements.

Parameters are never formatted into SQL text: ``?`` (qmark, the DB-API
paramstyle) is renumbered ``$1, $2...`` in text order and ``:name`` becomes
``$name``, both from sqlglot's tokens (so a ``?`` or ``:x`` inside a string
literal or a ``::`` cast is left alone); DuckDB binds the values, and the
planner reads them only to push predicates.

``SHOW TABLES`` and ``DESCRIBE <module>`` are answered from the catalog (no
DuckDB involved), as Arrow tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from sqlglot import exp

from connector.errors import NotSupportedError, PlanningError, ProgrammingError
from connector.http.policy import may_query
from connector.planning.params import number_placeholders, splice, tokens_with
from connector.planning.syntax import empty_statement, parse_statement
from connector.schema.catalog import Catalog
from connector.schema.types import TableSchema
from connector.session import ZohoSession

Params = Sequence[Any] | Mapping[str, Any] | None

_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOW_TABLES = re.compile(r"^\s*SHOW\s+(?:ALL\s+)?TABLES\s*;?\s*$", re.IGNORECASE)
_DESCRIBE = re.compile(r"^\s*(?:DESCRIBE|DESC)\s+(?:(?:\"?zoho\"?)\.)?(\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$",
                       re.IGNORECASE)
_KINDS = {"select": "query", "with": "query", "from": "query", "values": "query", "table": "query",
          "explain": "explain", "show": "show", "describe": "describe", "desc": "describe", "insert": "insert",
          "update": "update", "delete": "delete"}
# Statements that reach files, the network, extensions or the engine's settings: refused by name.
_OUTSIDE = {"install", "load", "attach", "detach", "copy", "export", "import", "set", "reset", "pragma", "call",
            "use", "checkpoint", "vacuum", "force"}
# Other statements of DuckDB's SQL: "not supported here" (the rest is not a statement at all).
_OTHER_STATEMENTS = {"create", "drop", "alter", "truncate", "merge", "summarize", "begin", "commit", "rollback",
                     "abort", "start", "end", "transaction", "grant", "revoke", "prepare", "execute", "deallocate",
                     "comment", "analyze", "update_extensions", "unpivot", "pivot", "upsert", "replace"}
_WITH_BODY = {"SELECT": "query", "VALUES": "query", "FROM": "query", "TABLE": "query", "INSERT": "insert",
              "UPDATE": "update", "DELETE": "delete"}
# Tokens after which ``:name`` is a value (an operand), not a parameter: ``list[a:b]`` slices.
_OPERAND_TOKENS = {"VAR", "IDENTIFIER", "NUMBER", "R_BRACKET", "R_PAREN", "STRING"}


def strip_leading(sql: str) -> str:
    """The statement without leading blanks, comments and parentheses."""
    return sql[_LEADING_NOISE.match(sql).end():]  # type: ignore[union-attr]


def statement_kind(sql: str) -> str:
    """``query``, ``explain``, ``show``, ``describe``, ``insert``, ``update`` or ``delete``."""
    body = strip_leading(sql)
    m = _FIRST_WORD.match(body)
    word = m.group(0).lower() if m else ""
    if not word and not body.strip(" \t\r\n;"):
        raise empty_statement()
    kind = _KINDS.get(word)
    if kind == "query" and word == "with":
        kind = _with_body_kind(body)
    if kind == "explain" and re.match(r"(?i)\s*EXPLAIN\s+ANALY[SZ]E\b", body):
        raise NotSupportedError("EXPLAIN ANALYZE is not supported", hint="EXPLAIN <query> shows the plan and "
                                                                       "the estimated calls and credits")
    if kind is None and word in _OUTSIDE:
        raise NotSupportedError(f"{word.upper()} statements are refused: SQL over Zoho does not reach files, the "
                                "network, DuckDB extensions or the engine's settings",
                                hint="for anything else attach Zoho to your own DuckDB (connector.duckdb.attach)")
    if kind is None and word in _OTHER_STATEMENTS:
        raise NotSupportedError(f"{word.upper()} statements are not supported here",
                                hint="use SELECT/WITH, EXPLAIN, SHOW TABLES, DESCRIBE <module>, INSERT, UPDATE "
                                     "or DELETE; for anything else attach Zoho to your own DuckDB with "
                                     "connector.duckdb.attach")
    if kind is None:
        start = len(sql) - len(body)
        line, col = sql.count("\n", 0, start) + 1, start - (sql.rfind("\n", 0, start) + 1) + 1
        near = " ".join(body.split())[:30]
        raise PlanningError(f"syntax error at line {line}, column {col} near {near!r}: a statement starts with "
                            "SELECT, WITH, FROM, VALUES, EXPLAIN, SHOW, DESCRIBE, INSERT, UPDATE or DELETE")
    return kind


def _with_body_kind(sql: str) -> str:
    """What ``WITH ... AS (...) <statement>`` runs: the first statement keyword outside the CTEs."""
    depth = 0
    for tok in tokens_with(sql, "("):
        name = tok.token_type.name
        if name == "L_PAREN":
            depth += 1
        elif name == "R_PAREN":
            depth -= 1
        elif depth == 0 and name in _WITH_BODY:
            return _WITH_BODY[name]
    return "query"  # no parentheses or no tokens: the planner reports what is wrong


def named_to_dollar(sql: str) -> str:
    """``:name`` -> ``$name`` (DuckDB's named parameter form), found from the tokens."""
    tokens = tokens_with(sql, ":")
    edits = []
    for i, tok in enumerate(tokens):
        if tok.token_type.name != "COLON" or i + 1 >= len(tokens):
            continue
        nxt, prev = tokens[i + 1], tokens[i - 1] if i else None
        if nxt.token_type.name not in ("VAR", "IDENTIFIER") or nxt.start != tok.end + 1:
            continue
        if prev is not None and prev.end + 1 == tok.start and prev.token_type.name in _OPERAND_TOKENS:
            continue  # x[a:b]: a slice, not a parameter
        edits.append((tok, "$"))
    return splice(sql, edits)


def prepare_params(sql: str, params: Params) -> tuple[str, Params]:
    """SQL and parameters in the form both the planner and DuckDB bind (``$1``/``$name``)."""
    if params is None:
        return sql, None
    if isinstance(params, Mapping):
        return named_to_dollar(sql), {str(k).lstrip(":$"): v for k, v in params.items()}
    if isinstance(params, (str, bytes)):
        raise ProgrammingError("parameters must be a sequence or a mapping, not a string",
                               hint="wrap a single value in a tuple: (value,)")
    return number_placeholders(sql), list(params)


def describe_target(sql: str) -> str:
    m = _DESCRIBE.match(sql)
    if m is None:
        raise NotSupportedError("DESCRIBE takes one module name", hint="DESCRIBE Leads")
    return m.group(1).strip('"')


def is_show_tables(sql: str) -> bool:
    return bool(_SHOW_TABLES.match(sql))


# ---- catalog statements -------------------------------------------------------------------------

SHOW_TABLES_SCHEMA = pa.schema([("table", pa.string()), ("singular_label", pa.string()),
                                ("plural_label", pa.string()), ("generated_type", pa.string())])
DESCRIBE_SCHEMA = pa.schema([("column", pa.string()), ("arrow_type", pa.string()), ("zoho_field", pa.string()),
                             ("data_type", pa.string()), ("notes", pa.string())])


def show_tables(catalog: Catalog) -> pa.Table:
    rows = [{"table": m.api_name, "singular_label": m.singular_label, "plural_label": m.plural_label,
             "generated_type": m.generated_type} for m in sorted(catalog.modules().values(), key=lambda m: m.api_name)]
    return pa.Table.from_pylist(rows, schema=SHOW_TABLES_SCHEMA)


def _notes(ts: TableSchema, column: str) -> str:
    col = ts.by_name[column]
    if col.field == "id":
        return "record id (18-19 digits, exact text)"
    f = ts.fields.get(col.field)
    if f is None:
        return ""
    notes: list[str] = []
    target = f.lookup_module or "several modules"
    if col.part == "id":
        notes.append(f"lookup id -> {target}")
    elif col.part == "name":
        notes.append(f"lookup name ({target}); read only, writes go by {f.api_name}_Id")
    elif col.part == "module":
        notes.append("module the lookup points at")
    if f.data_type in ("formula", "rollup_summary"):
        notes.append(f"{f.data_type} returning {f.value_type}")
    if col.value_type == "json":
        notes.append("JSON text")
    if f.data_type == "multiselectpicklist":
        notes.append("list of picklist values")
    if f.mandatory:
        notes.append("mandatory")
    if f.unique:
        notes.append("unique")
    if not f.writable and col.part != "name":
        notes.append("read-only")
    if f.picklist and f.data_type in ("picklist", "multiselectpicklist"):
        shown = ", ".join(f.picklist[:8]) + (", ..." if len(f.picklist) > 8 else "")
        notes.append(f"values: {shown}")
    return "; ".join(notes)


def describe(ts: TableSchema) -> pa.Table:
    rows = []
    for c in ts.columns:
        f = ts.fields.get(c.field)
        rows.append({"column": c.name, "arrow_type": str(c.arrow), "zoho_field": c.field,
                     "data_type": f.data_type if f is not None else ("id" if c.field == "id" else None),
                     "notes": _notes(ts, c.name)})
    return pa.Table.from_pylist(rows, schema=DESCRIBE_SCHEMA)


_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_EXPLAIN = re.compile(r"^\s*explain\b", re.IGNORECASE)


def refuse_unreadable_tables(session: ZohoSession, sql: str) -> None:
    """Refuse a statement that names a module its connection may not query, before any call
    (metadata included): by name, so with AllowedModules, tables are named by api_name."""
    try:
        tree = parse_statement(_EXPLAIN.sub("", sql, count=1))
    except PlanningError:
        return  # the planner says what is wrong with it
    ctes = {cte.alias_or_name.casefold() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        # Only api_name-shaped names: file names are refused by the planner, labels resolve to a
        # module whose calls the HTTP layer governs.
        if _API_NAME.fullmatch(table.name) and table.name.casefold() not in ctes and not table.args.get("db"):
            decision = may_query(session.config, table.name)
            if not decision.allowed:
                session.http.refuse(decision, method="SQL", path=f"/{table.name}", kind="sql")
