"""``spark.read.format("zohocrm")``: a PySpark 4 Python data source over the connector's readers.

    spark.dataSource.register(ZohoDataSource)
    df = spark.read.format("zohocrm").option("connection", conn).load("Leads")
    df = spark.read.format("zohocrm").option("connection", conn).option("query", "SELECT ...").load()

Options (case-insensitive): ``connection`` (a connection string; used on the
driver only, see :mod:`.session`), the module as ``load()``'s path or
``module``, ``query`` (a SQL query run by the connector's engine on one
executor), ``api`` (force REST/COQL/Search/Bulk; default the connection's
APIType, Auto: the planner's choice), ``numPartitions`` (default and cap: the
connection's MaxConcurrency — more parallel readers than the org's concurrency
limit only queue at Zoho).

Filters: Spark's conjuncts are written as SQL (:mod:`.filters`) and planned like
any SQL read. When Zoho's answer to all of them together is exact the source
takes them over; otherwise they are still sent to Zoho (to read less) and all
are handed back to Spark, which applies them again — an answer never differs
from an unpushed read.

Partitions: the chosen API's read strategy cuts the read into independent
slices (``partitions(n)``: id ranges, or Created_Time ranges for Bulk), each
read by one executor into Arrow batches. A Bulk slice's first job is created
when the read is planned: an org's Bulk jobs run one after another, and Zoho
works on the first ones while Spark starts the tasks (a plan that never runs,
``df.rdd.getNumPartitions()`` say, has spent those jobs' credits).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

from connector.config.config import ConnectionConfig
from connector.errors import ConfigError
from connector.model import Pushdown
from connector.readers import reader_for
from connector.readers.base import ReaderContext
from connector.readers.concurrent import read_ahead
from connector.readers.strategies import STRATEGIES, Partition, strategy_for
from connector.readers.strategies.bulk import BulkStrategy
from connector.schema.catalog import CatalogSnapshot
from connector.session import ZohoSession

from .filters import condition, quote_name, where_clause
from .options import Settings, changes_option, config_for
from .session import PlannedOnDriver, connection_option, driver_session, executor_config, executor_session
from .types import gathered, spark_arrow_schema, struct_type


class ZohoDataSource(DataSource):
    """Zoho CRM for Spark: batch reads (this module), writes and streams (see the README's Spark section)."""

    @classmethod
    def name(cls) -> str:
        return "zohocrm"

    def _settings(self) -> Settings:
        return Settings.of(self.options)

    def schema(self) -> Any:
        settings = self._settings()
        session = driver_session(config_for(connection_option(self.options), settings))
        schema = _arrow_schema(session, settings)
        # Spark pickles this object to the processes that plan the read: they take the metadata from here
        self._catalog: CatalogSnapshot | None = session.catalog.snapshot()
        if changes_option(self.options):
            from .stream import stream_schema

            # Spark asks the same schema() for batch reads and streams: the change feed says which it is
            return struct_type(stream_schema(schema))
        return struct_type(schema)

    def reader(self, schema: Any) -> DataSourceReader:
        return ZohoReader(connection_option(self.options), self._settings(), self._loaded())

    def streamReader(self, schema: Any) -> Any:  # noqa: N802 - Spark's name
        from .stream import ZohoStreamReader

        settings = self._settings()
        if settings.module is None:
            raise ConfigError("a zohocrm stream reads one module (.load('Leads')), not a query")
        if not changes_option(self.options):
            raise ConfigError("spark.readStream.format('zohocrm') needs .option('changes', 'true')",
                              hint="a stream's rows carry _deleted and _deleted_time beside the module's columns, "
                                   "and Spark takes one schema for batch reads and streams alike")
        return ZohoStreamReader(connection_option(self.options), settings, self._loaded())

    def _loaded(self) -> CatalogSnapshot:
        """The metadata schema() loaded; loaded here when Spark was given a schema and did not ask."""
        catalog: CatalogSnapshot | None = getattr(self, "_catalog", None)
        if catalog is None:
            settings = self._settings()
            session = driver_session(config_for(connection_option(self.options), settings))
            _arrow_schema(session, settings)
            catalog = self._catalog = session.catalog.snapshot()
        return catalog

    def writer(self, schema: Any, overwrite: bool) -> Any:
        from .write import WriteSettings, ZohoWriter

        return ZohoWriter(connection_option(self.options), WriteSettings.of(self.options, overwrite))


def _arrow_schema(session: Any, settings: Settings) -> pa.Schema:
    if settings.module is not None:
        return session.catalog.table(session.catalog.resolve(settings.module)).arrow_schema
    from connector.engine.executor import Engine

    # the query's columns without reading its rows: DuckDB binds it over the modules' empty relations
    return Engine(session).execute(f"SELECT * FROM ({settings.query}) AS q LIMIT 0").read_all().schema


class ZohoPartition(InputPartition):
    """One slice of the read and what its executor needs: a connection holding only an access token."""

    def __init__(self, index: int, slice_: Partition | None, executor: ConnectionConfig, schema: pa.Schema,
                 table: tuple[str, str, Pushdown] | None = None, job: str | None = None) -> None:
        super().__init__(index)
        self.slice = slice_
        self.executor = executor
        self.schema = schema
        #: (api, module, pushdown) of a table its own endpoint serves (metadata, per parent record): read whole
        self.table = table
        #: a Bulk slice's first job, created by the planner (the executor waits for it instead of making one)
        self.job = job


class ZohoReader(PlannedOnDriver, DataSourceReader):
    """Planned on the driver (pushFilters, partitions), pickled to the executors that run ``read``."""

    def __init__(self, connection: str, settings: Settings, catalog: CatalogSnapshot | None = None) -> None:
        super().__init__(connection, settings, catalog)
        self.where = ""  # the SQL conditions of the filters sent to Zoho

    # ---- driver ------------------------------------------------------------------------------

    def _statement(self) -> str:
        assert self.settings.module is not None
        where = f" WHERE {self.where}" if self.where else ""
        return f"SELECT * FROM {quote_name(self.settings.module)}{where}"

    def pushFilters(self, filters: list[Any]) -> Iterator[Any]:  # noqa: N802 - Spark's name
        if self.settings.module is None:
            yield from filters  # a query's filters stay Spark's
            return
        filters = list(filters)
        sent = [f for f in filters if condition(f) is not None]
        if not sent:
            yield from filters
            return
        from connector.engine.executor import Engine

        self.where, _ = where_clause(sent)
        scan = Engine(self._session()).plan(self._statement()).scans[0]
        # Each sent filter is one term of the WHERE's top-level AND, in order; a term Zoho did not apply
        # exactly (sent as a superset, or not at all) goes back to Spark with every filter that has no SQL.
        again = {id(sent[i]) for i in scan.residual_terms if i < len(sent)}
        yield from (f for f in filters if condition(f) is None or id(f) in again)

    def partitions(self) -> Sequence[InputPartition]:
        session = self._session()
        executor = executor_config(session)
        schema = spark_arrow_schema(_arrow_schema(session, self.settings))
        if self.settings.query is not None:
            return [ZohoPartition(0, None, executor, schema)]
        from connector.engine.executor import Engine

        scan = Engine(session).plan(self._statement()).scans[0]
        if scan.empty:
            return [ZohoPartition(0, None, executor, schema)]  # a WHERE no row satisfies: nothing is read
        if scan.api not in STRATEGIES:  # metadata tables, Attachments: their own reader, not sliced
            return [ZohoPartition(0, None, executor, schema, (scan.api, scan.module, scan.pushdown))]
        n = self._slices(session)
        # Bulk cuts no more slices than the read has pages (a slice is a job stream): the strategy counts once
        strategy = strategy_for(scan.api)
        ctx = session.reader_context()
        slices = strategy.partitions(ctx, scan.module, scan.pushdown, n)
        columns = [f.name for f in schema]
        # in slice order: the org's queue runs them in the order they were made, one at a time
        jobs = [strategy.start_partition(ctx, s, columns) if isinstance(strategy, BulkStrategy) else None
                for s in slices]
        return [ZohoPartition(i, s, executor, schema, job=job) for i, (s, job) in enumerate(zip(slices, jobs,
                                                                                                strict=True))]

    # ---- executor ----------------------------------------------------------------------------

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, ZohoPartition)
        with executor_session(partition.executor, self.catalog) as session:
            ctx = session.reader_context()
            try:
                # Read ahead on a thread of its own: the slice's next batches are fetched and decoded while
                # Spark moves the one before into the JVM (row by row, about as long as decoding it), instead
                # of each side waiting for the other in turn.
                yield from read_ahead(lambda: self._batches(partition, session, ctx))
            finally:
                ctx.cancel.set()  # stopped early (a LIMIT met): a reader waiting on Zoho stops waiting too

    def _batches(self, partition: ZohoPartition, session: ZohoSession, ctx: ReaderContext
                 ) -> Iterator[pa.RecordBatch]:
        schema = partition.schema
        if self.settings.query is not None:
            from connector.engine.executor import Engine

            yield from gathered(Engine(session).execute(self.settings.query), schema)
            return
        if partition.table is not None:
            api, module, pushdown = partition.table
            columns = [f.name for f in schema]
            yield from gathered(reader_for(api, ctx).batches(module, columns, pushdown), schema)
            return
        part = partition.slice
        if part is None:
            return
        columns = [f.name for f in schema]
        strategy = strategy_for(part.api)
        rows = (strategy.read_partition(ctx, part, columns, partition.job) if isinstance(strategy, BulkStrategy)
                else strategy.read_partition(ctx, part, columns))
        yield from gathered(rows, schema)
