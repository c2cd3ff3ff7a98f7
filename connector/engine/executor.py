"""``Engine``: SQL over Zoho — plan, read each table through its API, let DuckDB answer.

The life of a ``SELECT`` (see ARCHITECTURE.md, "Life of a query"):

1. the planner resolves Zoho tables through the catalog (api names, any case,
   or labels), picks an API per table and renders what Zoho can filter; the
   connection's statistics (record counts and the like, a COQL call each,
   cached a few minutes and bought only when they pay: :mod:`connector.planning.statistics`)
   size the reads;
2. each table scan becomes a lazy relation in a sandboxed DuckDB connection
   (``TimeZone='UTC'``; the engine's statements reuse one, given back empty:
   :class:`.sandbox.SandboxPool`) fed by its reader's Arrow batches (:mod:`.feeds`);
3. DuckDB checks the statement (EXPLAIN, before any Zoho read), learns
   whether it scans a relation twice (then that relation's batches are kept
   and replayed), and runs the planner's SQL with the parameters bound by
   DuckDB. The WHERE clause always runs again in DuckDB: a pushdown only makes
   the read cheaper, never the answer different;
4. the result streams out as a ``pyarrow.RecordBatchReader``; the reads
   happen while it is consumed.

``SELECT COUNT(*) FROM t [WHERE exact filter]`` is one COQL aggregate when the
planner says so. ``EXPLAIN <query>`` returns the plan (one row per table),
``SHOW TABLES`` and ``DESCRIBE <module>`` the catalog, and INSERT / UPDATE /
DELETE / upsert go through the writers (:mod:`.dml`).
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa

from connector.api import coql as coql_api
from connector.config.config import ConnectionConfig
from connector.errors import (
    ConnectorError,
    ConversionError,
    FatalApiError,
    InterfaceError,
    PlanningError,
    ProgrammingError,
)
from connector.http.policy import Purpose, current_purpose, iterate_as, purpose_of, sql_purpose
from connector.planning import Plan, TableScan, explain, explain_table, plan_query
from connector.planning.statement import DML_KINDS, Params, Statement, read_statement
from connector.planning.statistics import CachedOnly, ZohoStatistics
from connector.planning.syntax import too_deep
from connector.readers import reader_for
from connector.readers.base import Reader, ReaderContext
from connector.schema.types import TableSchema
from connector.session import ZohoSession

from . import statements
from .cancel import Cancel, StopReason
from .dml import run_dml
from .feeds import ScanFeed, register_feed, register_placeholder, source_protocol
from .result import Result, table_reader
from .sandbox import SandboxPool, refusal

log = logging.getLogger("connector.engine")

BATCH_ROWS = 65_536
CLOSE_WAIT_S = 1.0  # how long close() lets stopped reader threads finish the step they are in
ReaderFactory = Callable[[str, ReaderContext], Reader]
ProgressCallback = Callable[[str, int], None]


_UNKNOWN_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_UNKNOWN_TABLE = re.compile(r"Table with name ([^ !]+) does not exist")


def duckdb_error(exc: BaseException, columns: Iterable[str] = (), tables: Iterable[str] = ()) -> ConnectorError:
    """A DuckDB error in the connector's tree (PEP 249 names: ProgrammingError, DataError...).

    ``columns``: every column of the Zoho tables in the statement, ``tables``: the org's modules.
    DuckDB only sees the columns the statement uses and none of the modules it does not, so its
    own suggestions for a misspelt name are useless; ours replace them.
    """
    refused = refusal(exc)
    if refused is not None:
        return refused
    text = one_line(str(exc).strip().replace("EXPLAIN ", "", 1))
    unknown = _UNKNOWN_COLUMN.search(text)
    if unknown is not None:
        close = difflib.get_close_matches(unknown.group(1), list(columns), n=1)
        return ProgrammingError(f"no column named {unknown.group(1)!r}",
                                hint=f"did you mean {close[0]}?" if close else "DESCRIBE <module> lists columns")
    missing = _UNKNOWN_TABLE.search(text)
    if missing is not None:
        close = difflib.get_close_matches(missing.group(1), list(tables), n=1, cutoff=0.5)
        return ProgrammingError(f"no table or Zoho module named {missing.group(1)!r}",
                                hint=f"did you mean {close[0]}?" if close else "SHOW TABLES lists the Zoho modules")
    if isinstance(exc, (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.TypeMismatchException)):
        return ConversionError(f"DuckDB: {text}")
    if isinstance(exc, (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException,
                        duckdb.InvalidInputException, duckdb.NotImplementedException)):
        return ProgrammingError(f"DuckDB: {text}")
    return ConnectorError(f"DuckDB: {text}")


_CONTEXT = re.compile(r"\n\s*LINE (\d+): ?(.*)\n( *)\^+")


def one_line(text: str) -> str:
    """DuckDB's message on one line: its ``LINE n: <statement>`` + caret block becomes ``(at line n, column c)``."""
    m = _CONTEXT.search(text)
    if m is not None:
        column = len(m.group(3)) - len(f"LINE {m.group(1)}: ") + 1
        where = f" (at line {m.group(1)}, column {column})" if column > 0 else f" (at line {m.group(1)})"
        text = text[:m.start()].rstrip() + where + text[m.end():]
    return " ".join(text.split())




class Engine:
    """SQL over one Zoho connection. ``Engine(session).execute(sql, params) -> RecordBatchReader``."""

    def __init__(self, session: ZohoSession, *, progress: ProgressCallback | None = None,
                 reader_factory: ReaderFactory | None = None, use_sources: bool = True,
                 batch_rows: int = BATCH_ROWS) -> None:
        self.session = session
        self.progress = progress
        self.reader_factory: ReaderFactory = reader_factory or reader_for
        self.use_sources = use_sources and source_protocol() is not None
        self.batch_rows = batch_rows
        #: what the planner knows of Zoho's data on this connection (counts bought when they pay, cached)
        self.statistics = ZohoStatistics(session.http)
        self._lock = threading.Lock()
        self._running: dict[int, tuple[duckdb.DuckDBPyConnection, Cancel]] = {}  # id(con) -> (DuckDB connection, its stop flag)
        #: the sandboxed DuckDB connections statements run in, reused from one to the next
        self._sandboxes = SandboxPool()
        self.closed = False

    # -- catalog -------------------------------------------------------------------------------

    def resolve(self, name: str) -> TableSchema | None:
        """The table schema of a Zoho module (api name in any case, or its label); None for other names."""
        try:
            api = self.session.catalog.resolve(name)
        except FatalApiError:
            return None
        return self.session.catalog.table(api)

    # -- statements ----------------------------------------------------------------------------

    def plan(self, sql: Statement | str, params: Params = None) -> Plan:
        """How a query (or EXPLAIN) would be read: read the text once, then plan it."""
        statement = sql if isinstance(sql, Statement) else read_statement(sql, params)
        if statement.kind not in ("query", "explain"):
            raise ProgrammingError(f"only queries are planned, not a {statement.kind} statement",
                                   hint="EXPLAIN SELECT ... shows how each Zoho table is read")
        return self._plan(statement)

    def _plan(self, statement: Statement) -> Plan:
        """Plan with the statistics cached; when the planner would buy more, first let DuckDB check the statement.

        A statement DuckDB refuses (a misspelt column...) then costs no credits at all; nor does one naming a
        module this connection may not query (refused by name, before any call).
        """
        statements.refuse_unreadable_tables(self.session, statement)
        statements.preload_tables(self.session, statement)
        try:
            with purpose_of(sql_purpose()):  # the counts it buys are reads for this statement
                cached = CachedOnly(self.statistics)
                plan = plan_query(statement, None, self.resolve, self.session.config, statistics=cached)
                if not cached.wanted:
                    return plan
                self._check(plan)
                return plan_query(statement, None, self.resolve, self.session.config, statistics=self.statistics)
        except RecursionError:  # a tree the parser took but a later pass cannot walk (deep operator chains)
            raise too_deep() from None

    def _check(self, plan: Plan) -> None:
        """DuckDB binds the statement over empty relations of the modules' columns: its errors before any call."""
        with self._sandboxes.lent([scan.relation for scan in plan.scans]) as con:
            try:
                for scan in plan.scans:
                    register_placeholder(con, scan.relation, self.session.catalog.table(scan.module).arrow_schema)
                con.sql("EXPLAIN " + plan.sql, params=plan.params)
            except (duckdb.Error, pa.ArrowException) as exc:
                raise duckdb_error(exc, self._all_columns(plan), self.session.catalog.modules()) from None

    def explain(self, sql: Statement | str, params: Params = None) -> str:
        return explain(self.plan(sql, params))

    def execute(self, sql: Statement | str, params: Params = None) -> pa.RecordBatchReader:
        """Run one statement; its rows stream out (DML: the per-row write report's rows)."""
        return self.run(sql, params).reader

    def run(self, sql: Statement | str, params: Params = None, *, report_path: str | Path | None = None) -> Result:
        """Run one statement and say what it was (rows, plan, write report); text is read once, here."""
        self._check_open()
        statement = sql if isinstance(sql, Statement) else read_statement(sql, params)
        kind = statement.kind
        if kind in DML_KINDS:
            return run_dml(self, statement, [statement.params], report_path=report_path)
        if kind == "show":
            return Result("show", table_reader(statements.show_tables(self.session.catalog)))
        if kind == "describe":
            name = str(statement.target)
            ts = self.resolve(name)
            if ts is None:
                self.session.catalog.resolve(name)  # raises INVALID_MODULE with the nearest name
                raise ProgrammingError(f"no module named {name!r}")
            return Result("describe", table_reader(statements.describe(ts)))
        plan = self._plan(statement)
        if plan.explain:
            return Result("explain", table_reader(explain_table(plan)), plan)
        return Result("query", self.run_plan(plan), plan)

    def run_many(self, sql: Statement | str, seq_of_params: Iterable[Params], *,
                 report_path: str | Path | None = None) -> Result:
        """DML once per parameter set, written in one go (one report); queries are not batched."""
        self._check_open()
        sets = list(seq_of_params)
        statement = sql if isinstance(sql, Statement) else read_statement(sql, sets[0] if sets else None)
        if statement.kind not in DML_KINDS:
            raise ProgrammingError("executemany runs INSERT, UPDATE or DELETE statements",
                                   hint="run queries one at a time with execute()")
        return run_dml(self, statement, sets, report_path=report_path)

    def query_table(self, sql: Statement | str, params: Params = None) -> pa.Table:
        """A query's whole result as a table (DML uses it to compute the rows it writes)."""
        statement = sql if isinstance(sql, Statement) else read_statement(sql, params)
        plan = self._plan(statement)
        if plan.explain:
            raise ProgrammingError("EXPLAIN cannot be the source of rows to write")
        return self.run_plan(plan).read_all()

    # -- reads -----------------------------------------------------------------------------------

    def reader_context(self) -> ReaderContext:
        return self.session.reader_context(progress=self.progress)

    def scan_batches(self, scan: TableScan, ctx: ReaderContext | None = None) -> Iterator[pa.RecordBatch]:
        """The batches of one table scan, through the API the planner chose for it."""
        if scan.empty:
            return  # its WHERE selects no row: nothing to ask Zoho for
        reader = self.reader_factory(scan.api, ctx or self.reader_context())
        # Pulled later, by DuckDB or a hand-over thread: each batch is read as part of this statement.
        purpose = current_purpose()
        yield from iterate_as(purpose if purpose is not None and purpose.sql else sql_purpose(),
                              reader.batches(scan.module, list(scan.columns), scan.pushdown))

    def _scan_as(self, purpose: Purpose, scan: TableScan, ctx: ReaderContext) -> Iterator[pa.RecordBatch]:
        # The statement's purpose, for reads that DuckDB pulls later, outside this frame.
        return iterate_as(purpose, self.scan_batches(scan, ctx))

    def scan_schema(self, scan: TableScan) -> pa.Schema:
        return self.session.catalog.table(scan.module).select(list(scan.columns))

    def run_plan(self, plan: Plan) -> pa.RecordBatchReader:
        """Run a planned SELECT in DuckDB over the scans' batches; the rows stream as they are read."""
        purpose = sql_purpose()
        if plan.count_via_coql:
            with purpose_of(purpose):
                return table_reader(self._count_via_coql(plan))
        ctx = self.reader_context()
        cancel = Cancel()
        ctx.cancel = cancel.event  # readers that wait on Zoho by themselves (Bulk jobs) stop too
        feeds = [ScanFeed(s.relation, self.scan_schema(s), partial(self._scan_as, purpose, s, ctx), cancel=cancel)
                 for s in plan.scans]
        con = self._open(cancel)
        try:
            for feed in feeds:
                if self.use_sources:
                    register_feed(con, feed)
                else:
                    register_placeholder(con, feed.name, feed.schema)
            if feeds and self._scans_twice(con, plan, len(feeds)):
                for feed in feeds:
                    feed.shared = True
            if not self.use_sources:
                for feed in feeds:
                    con.unregister(feed.name)
                    register_feed(con, feed, use_sources=False)
            reader = con.sql(plan.sql, params=plan.params).to_arrow_reader(self.batch_rows)
        except BaseException as exc:
            failure = self._failure(exc, cancel, feeds, plan)
            self._close(con, cancel)
            raise failure from None
        return pa.RecordBatchReader.from_batches(reader.schema, self._stream(reader, con, cancel, feeds))

    def _stream(self, reader: pa.RecordBatchReader, con: duckdb.DuckDBPyConnection, cancel: Cancel,
                feeds: list[ScanFeed]) -> Iterator[pa.RecordBatch]:
        read_all = False
        try:
            yield from reader  # a RecordBatchReader iterates by read_next_batch until StopIteration
            read_all = True
        except GeneratorExit:
            raise
        except BaseException as exc:
            raise self._failure(exc, cancel, feeds) from None
        finally:
            # a result read to its end leaves its connection to the next statement; any other is closed
            self._close(con, cancel, [f.name for f in feeds] if read_all else None)

    def _failure(self, exc: BaseException, cancel: Cancel, feeds: list[ScanFeed],
                 plan: Plan | None = None) -> BaseException:
        """What to raise when a statement fails: the stop it was asked for, the read's own error, or DuckDB's."""
        if isinstance(exc, KeyboardInterrupt):
            cancel.set(type(exc))  # the other readers of the statement stop too
        if cancel.is_set:
            return cancel.error()
        original = self._original(feeds)
        if original is not None:
            return original
        if isinstance(exc, RecursionError):
            return too_deep()
        if isinstance(exc, (duckdb.Error, pa.ArrowException, OSError)):
            if plan is None:
                return duckdb_error(exc)
            return duckdb_error(exc, self._all_columns(plan), self.session.catalog.modules())
        return exc

    def _open(self, cancel: Cancel) -> duckdb.DuckDBPyConnection:
        """A sandboxed DuckDB connection that :meth:`interrupt` can stop."""
        con = self._sandboxes.take()
        with self._lock:
            self._running[id(con)] = (con, cancel)
        return con

    def _close(self, con: duckdb.DuckDBPyConnection, cancel: Cancel, relations: list[str] | None = None) -> None:
        """The statement on ``con`` is over: its readers stop, and the connection is closed, or, given the
        ``relations`` it registered (it ended cleanly), kept for the next statement unless it was stopped."""
        with self._lock:  # never at the same time as interrupt() on the same connection
            stopped = cancel.is_set  # interrupt() sets it under this lock before it interrupts DuckDB
            if not stopped:
                cancel.set(lambda: InterfaceError("the statement's result was closed"))  # stop its readers
            self._running.pop(id(con), None)
            if relations is None or stopped or self.closed:
                con.close()
                return
        self._sandboxes.give_back(con, relations, True)

    def _all_columns(self, plan: Plan) -> list[str]:
        return [c.name for s in plan.scans for c in self.session.catalog.table(s.module).columns]

    @staticmethod
    def _original(feeds: list[ScanFeed]) -> BaseException | None:
        """The error a Zoho read raised inside DuckDB (DuckDB reports it as text)."""
        return next((f.error for f in feeds if f.error is not None), None)

    @staticmethod
    def _scans_twice(con: duckdb.DuckDBPyConnection, plan: Plan, relations: int) -> bool:
        """Whether DuckDB's physical plan reads some relation more than once (checked before any read).

        Fails early (a binder error, an unknown column) before Zoho is asked for anything.
        """
        rows = con.sql("EXPLAIN " + plan.sql, params=plan.params).fetchall()
        text = "\n".join(str(r[-1]) for r in rows)
        recursive = any(word in text.lower() for word in ("rec cte", "recursive"))
        return recursive or text.count("ARROW_SCAN") > relations

    def count_rows(self, scan: TableScan) -> int:
        """The records a ``count_via_coql`` scan counts: its one COQL aggregate."""
        assert scan.coql_count is not None
        rows, _ = coql_api.run(self.session.http, scan.coql_count)
        if not rows:
            return 0
        row = rows[0]
        return int(row.get("COUNT(id)", next((v for k, v in row.items() if k != "id"), 0)) or 0)

    def _count_via_coql(self, plan: Plan) -> pa.Table:
        """COUNT(*) from one COQL aggregate; DuckDB gives the result its column name and type."""
        scan = plan.scans[0]
        n = self.count_rows(scan)
        with self._sandboxes.lent([scan.relation]) as con:
            try:
                # every column: the WHERE may name columns the scan itself does not need
                register_placeholder(con, scan.relation, self.session.catalog.table(scan.module).arrow_schema)
                shape = con.sql(plan.sql, params=plan.params).to_arrow_table()
            except duckdb.Error as exc:
                raise duckdb_error(exc) from None
        if shape.num_rows != 1 or shape.num_columns != 1:
            raise PlanningError("COUNT(*) through COQL expected one value", hint="set APIType to read the rows")
        return pa.table({shape.column_names[0]: pa.array([n], shape.schema.field(0).type)})

    # -- life cycle ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("this connection is closed", hint="open a new one with connector.connect()")

    def interrupt(self, reason: StopReason = KeyboardInterrupt) -> None:
        """Stop every statement running on this engine, from any thread (a signal watcher, a UI).

        Their readers stop within a fraction of a second, DuckDB is interrupted, and whoever
        consumes their rows gets ``reason()`` (KeyboardInterrupt unless told).
        """
        with self._lock:
            for con, cancel in self._running.values():
                cancel.set(reason)
                try:
                    con.interrupt()
                except duckdb.Error:  # closed meanwhile: nothing left to stop
                    pass

    def close(self) -> None:
        """Close the engine: statements still streaming stop now (their consumer gets an InterfaceError).

        Their DuckDB connections are closed here (DuckDB's worker threads end) and their reader
        threads get a moment to leave any library call, so the process can exit cleanly right after.
        """
        self.closed = True
        self.interrupt(lambda: InterfaceError("the connection was closed while the statement ran",
                                              hint="fetch the rows before closing the connection"))
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
            for con, _ in running:
                con.close()
        self._sandboxes.close()
        for _, cancel in running:
            cancel.join(CLOSE_WAIT_S)


def engine_for(connection: ZohoSession | ConnectionConfig | str, *, progress: ProgressCallback | None = None,
               reader_factory: ReaderFactory | None = None, use_sources: bool = True,
               batch_rows: int = BATCH_ROWS) -> tuple[Engine, ZohoSession]:
    """An engine and the session it works through, from a connection string, a ConnectionConfig or a session."""
    session = connection if isinstance(connection, ZohoSession) else ZohoSession(connection)
    return Engine(session, progress=progress, reader_factory=reader_factory, use_sources=use_sources,
                  batch_rows=batch_rows), session
