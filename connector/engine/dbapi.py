"""PEP 249 (DB-API 2.0) over the engine: ``connector.connect("<connection string>")``.

::

    conn = connector.connect("Region=US;OAuthClientId=...;...")
    cur = conn.cursor()
    cur.execute("SELECT Email, Lead_Source FROM Leads WHERE Lead_Source = ?", ("Web Download",))
    cur.fetchmany(10)          # tuples; also fetchone / fetchall
    cur.fetch_arrow_table()    # the rest as a pyarrow.Table; fetch_record_batch() streams; fetch_df() pandas

* paramstyle ``qmark`` (``?`` with a sequence); ``:name`` with a mapping works
  too (as does DuckDB's own ``$1`` / ``$name``). Values are bound by DuckDB,
  never formatted into SQL.
* Writes happen when the statement runs, one report line per row:
  ``commit()`` does nothing and ``rollback()`` raises NotSupportedError.
  ``cursor.rowcount`` is the number of records written (-1 after a query,
  whose rows stream); ``cursor.write_report`` is the
  :class:`~connector.writers.WriteReport` (its rows are also the cursor's
  result set). Set ``cursor.report_path`` to keep the report in a file.
* ``description`` gives 7-tuples whose type code is the Arrow type's name,
  comparing equal to the module's STRING / NUMBER / DATETIME / BINARY / ROWID.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

import connector
from connector.config.config import ConnectionConfig
from connector.errors import (
    ConfigError,
    ConnectorError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from connector.planning.statement import Params
from connector.session import ZohoSession
from connector.writers.report import WriteReport

from .executor import Engine, engine_for
from .frames import DEFAULT_DTYPE_BACKEND, check_dtype_backend, to_pandas
from .result import Result

apilevel = connector.apilevel  # "2.0": kept on the package so reading them imports nothing
threadsafety = connector.threadsafety  # 1: threads may share the module, not connections
paramstyle = connector.paramstyle  # "qmark"


class Warning(Exception):  # noqa: A001 - the name PEP 249 gives it
    """PEP 249's Warning (the connector reports warnings through ``logging`` and ``warnings``)."""


class DBAPITypeObject:
    """STRING, NUMBER... compare equal to every type code of their kind (PEP 249 type objects)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        kinds = getattr(other, "kinds", None)
        return kinds is not None and self.name in kinds

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name


STRING = DBAPITypeObject("STRING")
BINARY = DBAPITypeObject("BINARY")
NUMBER = DBAPITypeObject("NUMBER")
DATETIME = DBAPITypeObject("DATETIME")
ROWID = DBAPITypeObject("ROWID")


class TypeCode(str):
    """A column's type code: the Arrow type's name, plus the PEP 249 kinds it belongs to."""

    kinds: frozenset[str]
    arrow: pa.DataType

    def __new__(cls, arrow: pa.DataType, kinds: frozenset[str]) -> TypeCode:
        code = super().__new__(cls, str(arrow))
        code.kinds, code.arrow = kinds, arrow
        return code

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return other.name in self.kinds
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def type_code(arrow: pa.DataType, column: str = "") -> TypeCode:
    t = pa.types
    if t.is_integer(arrow) or t.is_floating(arrow) or t.is_decimal(arrow) or t.is_boolean(arrow):
        kinds = {"NUMBER"}
    elif t.is_timestamp(arrow) or t.is_date(arrow) or t.is_time(arrow) or t.is_duration(arrow):
        kinds = {"DATETIME"}
    elif t.is_binary(arrow) or t.is_large_binary(arrow) or t.is_fixed_size_binary(arrow):
        kinds = {"BINARY"}
    else:  # text, JSON text, and lists of picklist values
        kinds = {"STRING"}
    if column == "id" and t.is_string(arrow):
        kinds.add("ROWID")  # Zoho's record id
    return TypeCode(arrow, frozenset(kinds))


# PEP 249 constructors: plain Python values, which DuckDB binds with their own types.
Date, Time, Timestamp = datetime.date, datetime.time, datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249 names
    return datetime.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802
    return datetime.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802
    return datetime.datetime.fromtimestamp(ticks)


def Binary(value: bytes) -> bytes:  # noqa: N802
    return bytes(value)


def _description(schema: pa.Schema) -> list[tuple[Any, ...]]:
    out = []
    for f in schema:
        precision = f.type.precision if pa.types.is_decimal(f.type) else None
        scale = f.type.scale if pa.types.is_decimal(f.type) else None
        out.append((f.name, type_code(f.type, f.name), None, None, precision, scale, f.nullable))
    return out


class Cursor:
    """One statement at a time; its rows are read from Zoho while they are fetched."""

    arraysize: int

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.report_path: str | Path | None = None
        self.write_report: WriteReport | None = None
        self.rowcount = -1
        self.description: list[tuple[Any, ...]] | None = None
        self.result: Result | None = None
        self._reader: pa.RecordBatchReader | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._at = 0
        self._batch: pa.RecordBatch | None = None  # the batch _rows came from (for Arrow fetches)
        self.closed = False

    # -- running ---------------------------------------------------------------------------------

    def _check(self) -> Engine:
        if self.closed:
            raise InterfaceError("this cursor is closed")
        return self.connection._engine()

    def _reset(self) -> None:
        self._reader, self._rows, self._at, self._batch = None, [], 0, None
        self.description, self.rowcount, self.write_report, self.result = None, -1, None, None

    def _take(self, result: Result) -> Cursor:
        self.result = result
        self._reader = result.reader
        self.description = _description(result.reader.schema)
        self.write_report = result.report
        self.rowcount = result.rowcount
        return self

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        engine = self._check()
        self._reset()
        return self._take(engine.run(operation, parameters, report_path=self.report_path))

    def executemany(self, operation: str, seq_of_parameters: Iterable[Params]) -> Cursor:
        engine = self._check()
        self._reset()
        return self._take(engine.run_many(operation, seq_of_parameters, report_path=self.report_path))

    # -- fetching ----------------------------------------------------------------------------------

    def _need_result(self) -> pa.RecordBatchReader:
        self._check()
        if self._reader is None and self.description is None:
            raise ProgrammingError("no result set: call execute() first")
        assert self._reader is not None
        return self._reader

    def _fill(self) -> bool:
        """Load the next batch's rows; False at the end."""
        reader = self._need_result()
        while self._at >= len(self._rows):
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                self._rows, self._at, self._batch = [], 0, None
                return False
            columns = [c.to_pylist() for c in batch.columns]
            self._rows = list(zip(*columns, strict=True)) if columns else [()] * batch.num_rows
            self._at, self._batch = 0, batch
        return True

    def fetchone(self) -> tuple[Any, ...] | None:
        if not self._fill():
            return None
        row = self._rows[self._at]
        self._at += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        want = self.arraysize if size is None else size
        out: list[tuple[Any, ...]] = []
        while len(out) < want and self._fill():
            take = self._rows[self._at:self._at + want - len(out)]
            self._at += len(take)
            out.extend(take)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        while self._fill():
            out.extend(self._rows[self._at:])
            self._at = len(self._rows)
        return out

    def _rest(self) -> Iterator[pa.RecordBatch]:
        reader = self._need_result()
        if self._batch is not None and self._at < len(self._rows):
            yield self._batch.slice(self._at)
        self._rows, self._at, self._batch = [], 0, None
        yield from reader

    def fetch_record_batch(self, rows_per_batch: int | None = None) -> pa.RecordBatchReader:
        """The rows not fetched yet, as a stream of Arrow batches (read from Zoho as they are consumed)."""
        schema = self._need_result().schema
        batches = self._rest()
        if rows_per_batch is not None:
            batches = _rebatch(batches, rows_per_batch)
        return pa.RecordBatchReader.from_batches(schema, batches)

    def fetch_arrow_table(self) -> pa.Table:
        schema = self._need_result().schema
        return pa.Table.from_batches(list(self._rest()), schema=schema)

    def fetch_df(self, dtype_backend: str = DEFAULT_DTYPE_BACKEND) -> Any:
        """The rows not fetched yet as a pandas DataFrame.

        ``dtype_backend``: ``"pyarrow"`` (default: ``pd.ArrowDtype`` columns, decimals and dates exact),
        ``"numpy_nullable"`` (Int64, Float64, boolean, string, datetime64), ``"numpy"`` (int64/float64,
        datetime64[us, UTC]; Int64 for integers with NULLs) or ``"object"`` (Decimal and date objects).
        """
        check_dtype_backend(dtype_backend)  # before the rows are consumed
        return to_pandas(self.fetch_arrow_table(), dtype_backend)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    # -- the rest of PEP 249 -----------------------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Nothing to prepare: DuckDB types the parameters."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """Nothing to prepare: rows stream as Arrow batches."""

    def close(self) -> None:
        self._reset()
        self.closed = True

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    if size < 1:
        raise ProgrammingError("rows_per_batch must be at least 1")
    pending: list[pa.RecordBatch] = []
    held = 0
    for b in batches:
        pending.append(b)
        held += b.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield from table.slice(0, size).to_batches()
            rest = table.slice(size)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


class Connection:
    """A Zoho connection: one session (tokens, HTTP pool, catalog) shared by its cursors."""

    def __init__(self, connection: ZohoSession | ConnectionConfig | str, **engine_options: Any) -> None:
        self.engine, self.session = engine_for(connection, **engine_options)
        self._owns_session = not isinstance(connection, ZohoSession)
        self.closed = False

    def _engine(self) -> Engine:
        if self.closed:
            raise InterfaceError("this connection is closed", hint="open a new one with connector.connect()")
        return self.engine

    def cursor(self) -> Cursor:
        self._engine()
        return Cursor(self)

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        """A shortcut (as sqlite3 and DuckDB have): a new cursor, executed."""
        return self.cursor().execute(operation, parameters)

    def commit(self) -> None:
        """Nothing to do: each write is made when its statement runs, and reported per row."""
        self._engine()

    def rollback(self) -> None:
        self._engine()
        raise NotSupportedError("Zoho has no transactions: writes are made when the statement runs",
                                hint="undo with the record ids in cursor.write_report")

    def interrupt(self) -> None:
        """Stop the statements running on this connection, from any thread (like sqlite3's and DuckDB's).

        Their reads stop within a fraction of a second and the thread consuming the rows gets
        KeyboardInterrupt; the connection stays usable for the next statement.
        """
        self.engine.interrupt()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.engine.close()
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # PEP 249 optional extension: the exceptions as connection attributes
    Error, Warning, InterfaceError, DatabaseError = Error, Warning, InterfaceError, DatabaseError
    DataError, OperationalError, IntegrityError = DataError, OperationalError, IntegrityError
    InternalError, ProgrammingError, NotSupportedError = InternalError, ProgrammingError, NotSupportedError


def connect(connection: ZohoSession | ConnectionConfig | str, **engine_options: Any) -> Connection:
    """Open a DB-API connection from a connection string (or a ConnectionConfig, or a ZohoSession)."""
    if not isinstance(connection, (str, ConnectionConfig, ZohoSession)):
        raise ConfigError("connect() takes a connection string", hint="connector.connect('Region=US;...')")
    return Connection(connection, **engine_options)


def read_sql(sql: str, connection: Connection | ZohoSession | ConnectionConfig | str,
             params: Sequence[Any] | dict[str, Any] | None = None, *,
             dtype_backend: str = DEFAULT_DTYPE_BACKEND) -> Any:
    """Run one query and return a pandas DataFrame (``connection``: a string, config, session or Connection).

    ``dtype_backend`` as in :meth:`Cursor.fetch_df` (default ``"pyarrow"``: exact decimals and dates).
    """
    check_dtype_backend(dtype_backend)  # before any Zoho call
    if isinstance(connection, Connection):
        return connection.cursor().execute(sql, params).fetch_df(dtype_backend)
    with connect(connection) as conn:
        return conn.cursor().execute(sql, params).fetch_df(dtype_backend)


__all__ = ["BINARY", "Binary", "Connection", "ConnectorError", "Cursor", "DATETIME", "DataError", "DatabaseError",
           "Date", "DateFromTicks", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks",
           "Error", "IntegrityError", "InterfaceError", "InternalError", "NUMBER", "NotSupportedError",
           "OperationalError", "ProgrammingError", "ROWID", "STRING", "Warning", "apilevel", "connect",
           "paramstyle", "read_sql", "threadsafety"]
