"""The catalog statements (``SHOW TABLES``, ``DESCRIBE <module>``) and the statement helpers' short names.

A SQL text is read once, by :func:`connector.planning.statement.read_statement`:
its kind, its parameters in DuckDB's form and its tree come from one pass of
DuckDB's tokenizer (see that module). The functions here answer the same
questions for callers that hold only text (the DB-API's tests, the CLI's
checks), through that one reader.

``SHOW TABLES`` and ``DESCRIBE <module>`` are answered from the catalog (no
DuckDB involved), as Arrow tables.
"""

from __future__ import annotations

import re

import pyarrow as pa
from sqlglot import exp

from connector.http.policy import may_query
from connector.planning.statement import Params, Statement, bind_form, read_statement
from connector.schema.catalog import Catalog
from connector.schema.types import TableSchema
from connector.session import ZohoSession


def statement_kind(sql: str) -> str:
    """``query``, ``explain``, ``show``, ``describe``, ``insert``, ``update`` or ``delete``; others refused."""
    return read_statement(sql).kind


def named_to_dollar(sql: str) -> str:
    """``:name`` -> ``$name`` (DuckDB's named parameter form), found from the tokens."""
    return bind_form(sql, {})[0]


def prepare_params(sql: str, params: Params) -> tuple[str, Params]:
    """SQL and parameters in the form DuckDB binds (``$1``/``$name``)."""
    return bind_form(sql, params)


def describe_target(sql: str) -> str:
    """The module ``DESCRIBE [zoho.]<module>`` names."""
    return str(read_statement(sql).target)


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
    if f.label and f.label != f.api_name.replace("_", " ") and col.part in ("value", "id"):
        notes.append(f"label: {f.label}")
    if f.history_tracked and col.part != "name":
        notes.append("history tracked")
    if f.tooltip and col.part in ("value", "id"):
        notes.append(f"help: {f.tooltip}")
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


def refuse_unreadable_tables(session: ZohoSession, statement: Statement) -> None:
    """Refuse a statement that names a module its connection may not query, before any call
    (metadata included): by name, so with AllowedModules, tables are named by api_name."""
    tree = statement.tree
    if tree is None:
        return  # SHOW / DESCRIBE: the catalog's calls are governed by the HTTP layer
    ctes = {cte.alias_or_name.casefold() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        # Only api_name-shaped names: file names are refused by the planner, labels resolve to a
        # module whose calls the HTTP layer governs.
        if _API_NAME.fullmatch(table.name) and table.name.casefold() not in ctes and not table.args.get("db"):
            decision = may_query(session.config, table.name)
            if not decision.allowed:
                session.http.refuse(decision, method="SQL", path=f"/{table.name}", kind="sql")


def preload_tables(session: ZohoSession, statement: Statement) -> None:
    """The metadata of the modules a statement names, asked at once with the module list (one round trip
    for a cold connection's first query, not one per step): :meth:`~connector.schema.catalog.Catalog.preload`."""
    tree = statement.tree
    if tree is None:
        return
    ctes = {cte.alias_or_name.casefold() for cte in tree.find_all(exp.CTE)}
    names = [t.name for t in tree.find_all(exp.Table)
             if _API_NAME.fullmatch(t.name) and t.name.casefold() not in ctes and not t.args.get("db")]
    if names:
        session.catalog.preload(names)
