"""Zoho modules as tables of your own DuckDB: ``attach(con, "<connection string>", schema="zoho")``.

::

    import duckdb, connector.duckdb
    con = duckdb.connect("warehouse.duckdb")
    connector.duckdb.attach(con, "Region=EU;OAuthClientId=...;...")
    con.sql("SELECT Email FROM zoho.Leads WHERE Lead_Source = 'Web' AND Annual_Revenue > 1e6")

How (DuckDB 2.0, tested with 2.0.1): every module is registered on the
connection through DuckDB's Arrow scan *source* protocol
(``duckdb._sources.ArrowScanSource``, ``connection._register_arrow_source``),
and ``zoho.<Module>`` is a view over it in an in-memory database attached as
``zoho``. When DuckDB scans a module it hands the source the projected columns
and asks it, predicate by predicate, whether it will apply a filter itself:

* the source accepts a predicate only when ``duckdb._sources.to_arrow`` turns it
  into a ``pyarrow.compute`` expression that DuckDB documents as evaluating
  exactly like the engine (DuckDB never re-checks an accepted predicate);
* the accepted predicates are handed to the planner as a WHERE clause, which
  picks the API (Search, COQL, Bulk, REST) and pushes what Zoho can filter —
  always a superset of the rows, never a subset;
* the source applies the exact predicates to every batch with pyarrow and
  returns only the projected columns.

What DuckDB offers a source (and so what can reach Zoho): comparisons
(``= <> < <= > >=``) of a column with a constant, ``IS [NOT] NULL``, ``IN``
lists, ``BETWEEN`` (as two comparisons), and AND/OR/NOT trees of those on one
table. Not offered, so filtered by DuckDB after a read without that filter:
``LIKE``/``ILIKE``/``starts_with`` and other functions, expressions over
columns, predicates across two tables (join conditions), OR across columns
DuckDB keeps as one filter it cannot split, and LIMIT/ORDER BY (a LIMIT still
stops the read early: batches are pulled lazily). For those, or for COUNT(*)
via COQL and pushed LIKE prefixes, use ``connector.connect`` / ``zohocrm
query``, whose planner sees the whole statement.

Rows without columns: when a statement needs only how many rows match
(``count(*)``, ``EXISTS``, ``SELECT 1 FROM``), DuckDB asks a source for its
first column alone. Each module's source therefore declares a first column of
its own, ``__zoho_rows`` (all NULL), which the ``zoho.<Module>`` view never
selects: a scan that asks for it alone is answered by one COQL ``COUNT`` (with
the accepted filters, when COQL takes them exactly) and that many empty rows,
not by reading the module.

Limits: the registrations belong to this connection (DuckDB keeps registered
Python objects per connection; ``con.cursor()`` does not see them). Each scan
reads Zoho afresh (no caching between statements). Field metadata is read at
attach time (one call per module). On DuckDB versions without the source
protocol, ``attach`` falls back to registering each module as an object that
exports a fresh, lazily read Arrow stream per scan (the PyCapsule interface,
DuckDB >= 1.1): correct, but no projection or filter reaches Zoho, so every
scan reads every column of every record. ``pushdown=False`` forces that path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from connector.engine.executor import Engine, engine_for
from connector.engine.feeds import source_protocol
from connector.errors import ConfigError, ConnectorError
from connector.schema.types import TableSchema

log = logging.getLogger("connector.duckdb")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: the source's first column, never in a view: asked for alone, it means "how many rows"
ROWS = "__zoho_rows"
_ROW_BATCH = 65_536


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Attachment:
    """What ``attach`` set up: the session (close it when done) and the modules it registered."""

    engine: Engine
    session: Any
    schema: str
    modules: list[str]
    pushdown: bool
    owns_session: bool = True
    #: per module, the plans the sources ran (the newest last): what was pushed, for tests and debugging
    scans: dict[str, list[Any]] = field(default_factory=dict)

    def close(self) -> None:
        if self.owns_session:
            self.session.close()


def _column_refs(node: Any) -> set[str]:
    from duckdb._sources import nodes

    out: set[str] = set()
    pending = [node]
    while pending:
        n = pending.pop()
        if isinstance(n, nodes.Col):
            out.add(n.parts[0])
        pending.extend(n._children())
    return out


def _scan_sql(module: str, columns: Sequence[str], where: Sequence[str]) -> str:
    sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(module)}"
    return sql + (" WHERE " + " AND ".join(where) if where else "")


def _counted_rows(att: Attachment, ts: TableSchema, filters: Sequence[Any], schema: pa.Schema
                  ) -> Iterator[pa.RecordBatch]:
    """As many all-NULL rows as match the filters: one COQL ``COUNT`` when COQL takes the filters exactly."""
    where = [f.fragment() for f in filters]
    try:
        plan = att.engine.plan(f"SELECT COUNT(*) FROM {_quote(ts.module)}"
                               + (" WHERE " + " AND ".join(where) if where else ""))
    except ConnectorError as exc:  # a fragment the planner cannot read: count what a read returns
        log.info("zoho.%s: filters %s not planned (%s); counting a read", ts.module, filters, exc)
        plan = None
    if plan is not None and plan.count_via_coql:
        att.scans.setdefault(ts.module, []).append(plan.scans[0])
        n = att.engine.count_rows(plan.scans[0])
    else:
        n = sum(b.num_rows for b in _module_batches(att, ts, ["id"], filters, pa.schema([ts.arrow_schema.field("id")])))
    while n > 0:
        size = min(n, _ROW_BATCH)
        yield pa.RecordBatch.from_arrays([pa.nulls(size, pa.null())], schema=schema)
        n -= size


def _module_batches(att: Attachment, ts: TableSchema, columns: Sequence[str], filters: Sequence[Any],
                    schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Plan with the accepted predicates, read, apply them exactly, project."""
    from duckdb._sources.to_arrow import to_arrow

    needed = list(dict.fromkeys([*columns, *(c for f in filters for c in _column_refs(f))])) or ["id"]
    try:
        plan = att.engine.plan(_scan_sql(ts.module, needed, [f.fragment() for f in filters]))
    except ConnectorError as exc:  # a fragment the planner cannot read: still correct, only dearer
        log.info("zoho.%s: filters %s not planned (%s); reading without them", ts.module, filters, exc)
        plan = att.engine.plan(_scan_sql(ts.module, needed, []))
    scan = plan.scans[0]
    att.scans.setdefault(ts.module, []).append(scan)
    mask = None
    for f in filters:
        term = to_arrow(f, ts.arrow_schema)
        mask = term if mask is None else mask & term
    for batch in att.engine.scan_batches(scan):
        table = pa.Table.from_batches([batch])
        if mask is not None:
            table = table.filter(mask)
        table = table.select(list(columns)).cast(schema)
        yield from table.combine_chunks().to_batches() if table.num_rows else []


def _source_class() -> type | None:
    base = source_protocol()
    if base is None:
        return None

    class ZohoModuleSource(base):  # type: ignore[valid-type, misc]
        """One module behind DuckDB's Arrow scan: projection and exact filters, pushed to Zoho by the planner."""

        schema_is_stable = True

        def __init__(self, att: Attachment, ts: TableSchema) -> None:
            super().__init__(ts)
            self.att, self.ts = att, ts
            self.schema = source_schema(ts)

        def __arrow_c_schema__(self) -> object:
            return self.schema.__arrow_c_schema__()

        def accepts(self, predicate: Any) -> bool:
            from duckdb._sources.to_arrow import to_arrow

            try:
                to_arrow(predicate, self.ts.arrow_schema)
            except Exception:  # Untranslatable, or anything newer this code does not know: DuckDB filters
                return False
            return True

        def stream(self, columns: Sequence[int] | None, filters: Sequence[Any]) -> tuple[object, bool]:
            names = self.schema.names
            chosen = names if columns is None else [names[i] for i in columns]
            schema = pa.schema([self.schema.field(n) for n in chosen])
            if chosen == [ROWS]:  # only how many rows: count them
                batches = _counted_rows(self.att, self.ts, list(filters), schema)
            else:
                real = [n for n in chosen if n != ROWS]
                read = pa.schema([self.ts.arrow_schema.field(n) for n in real])
                batches = _with_rows(_module_batches(self.att, self.ts, real, list(filters), read), schema)
            return pa.RecordBatchReader.from_batches(schema, batches).__arrow_c_stream__(), True

    return ZohoModuleSource


def source_schema(ts: TableSchema) -> pa.Schema:
    """The module's columns after :data:`ROWS`, the all-NULL column a row count is asked through."""
    return pa.schema([pa.field(ROWS, pa.null()), *ts.arrow_schema])


def _with_rows(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The batches in ``schema``'s order, :data:`ROWS` filled with NULLs where it is asked for."""
    for batch in batches:
        yield pa.RecordBatch.from_arrays(
            [pa.nulls(batch.num_rows, pa.null()) if f.name == ROWS else batch.column(f.name) for f in schema],
            schema=schema)


class LazyModuleStream:
    """The no-pushdown fallback: every scan exports a fresh stream of the whole module (read lazily)."""

    def __init__(self, att: Attachment, ts: TableSchema) -> None:
        self.att, self.ts = att, ts
        self.schema = ts.arrow_schema

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        batches = _module_batches(self.att, self.ts, self.schema.names, [], self.schema)
        return pa.RecordBatchReader.from_batches(self.schema, batches).__arrow_c_stream__()


def _attach_catalog(con: Any, schema: str) -> None:
    """An in-memory database named ``schema`` to hold the views (never the user's own files)."""
    rows = con.sql("SELECT database_name, path FROM duckdb_databases()").fetchall()
    existing = {str(name).lower(): path for name, path in rows}
    if schema.lower() in existing:
        if existing[schema.lower()]:
            raise ConfigError(f"a database named {schema!r} is already attached ({existing[schema.lower()]})",
                              hint="pass another schema= to attach()")
        return  # ours from an earlier attach (or an empty in-memory one): the views are replaced
    con.execute(f"ATTACH ':memory:' AS {_quote(schema)}")


def attach(con: Any, connection: Any, schema: str = "zoho", *, modules: Sequence[str] | None = None,
           pushdown: bool | None = None) -> Attachment:
    """Make every module (or ``modules``) of a Zoho connection a table ``<schema>.<Module>`` of ``con``.

    ``connection``: a connection string, ConnectionConfig or ZohoSession. ``pushdown``: None uses
    projection and filter pushdown when this DuckDB offers it, False never does. Returns an
    :class:`Attachment`; ``close()`` it (or let it go with the connection) to release the HTTP session.
    """
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"schema must be a plain SQL name, not {schema!r}")
    engine, session = engine_for(connection)
    owns = session is not connection
    cls = _source_class() if pushdown is not False else None
    if pushdown and cls is None:
        raise ConfigError("this DuckDB has no Arrow scan source protocol, so nothing can be pushed down",
                          hint="call attach(..., pushdown=None) to fall back to full reads")
    try:
        names = list(modules) if modules is not None else sorted(session.catalog.modules())
        tables = [session.catalog.table(n) for n in names]
        att = Attachment(engine, session, schema, [t.module for t in tables], cls is not None, owns)
        _attach_catalog(con, schema)
        for ts in tables:
            hidden = f"__zoho_{schema}_{ts.module}"
            if cls is not None:
                con._register_arrow_source(hidden, cls(att, ts))
            else:
                con.register(hidden, LazyModuleStream(att, ts))
            listed = ", ".join(_quote(n) for n in ts.arrow_schema.names)  # never ROWS
            con.execute(f"CREATE OR REPLACE VIEW {_quote(schema)}.main.{_quote(ts.module)} AS "
                        f"SELECT {listed} FROM temp.main.{_quote(hidden)}")
    except BaseException:
        if owns:
            session.close()
        raise
    return att


__all__ = ["Attachment", "LazyModuleStream", "attach"]
