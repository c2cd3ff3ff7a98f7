"""``df.write.format("zohocrm")``: each Spark task writes its rows through the connector's writers.

    (df.write.format("zohocrm").option("connection", conn).option("module", "Leads")
       .option("reportDir", "/dbfs/zoho/reports/leads-2026-12").mode("append").save())

Options: ``module``; ``operation`` insert (default) or ``upsert`` with
``key`` (the duplicate-check field, e.g. Email); ``update`` needs an ``id``
column; ``api`` rest / bulk / auto (default: the cheaper in credits for the
task's rows); ``reportDir`` (required): one per-row report per task,
``part-<partition>.parquet``, on storage every executor can reach;
``reportWait`` (seconds, default 900): how long a task waits for another
attempt of itself still holding its report — a speculative copy, or a
cancelled attempt's Python worker writing on until Spark kills it — before
failing (a task never writes its part while another attempt does).

The driver checks AllowedOperations/AllowedModules before any task starts
(DryRun, too, is the connection's: a dry run reports what it would do and
writes nothing). Each task writes its part with ``resume_from`` its own
report, so a task Spark retries — or the whole job run again over the same
DataFrame after a kill — skips the rows its report marks done and looks up
rows whose answer was lost before sending them again: nothing twice. When
the job ends the driver adds the tasks' summaries up; rows Zoho refused fail
the job with the count and where their reports are (fix them and run the
same job again: only those rows are sent).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSourceArrowWriter, WriterCommitMessage

from connector.config.config import ConnectionConfig
from connector.errors import ConfigError, ConnectorError
from connector.http.guard import require_write
from connector.localfs import private_dir

from .session import driver_session, executor_config, executor_session

OPERATIONS = ("insert", "upsert", "update")
#: how long a task waits for another attempt of itself to let go of its report (``reportWait``)
REPORT_WAIT_S = 900.0


@dataclass(frozen=True)
class WriteSettings:
    module: str
    operation: str
    key: str | None
    api: str
    report_dir: str
    report_wait_s: float = REPORT_WAIT_S

    @classmethod
    def of(cls, options: Any, overwrite: bool) -> WriteSettings:
        if overwrite:
            raise ConfigError("mode('overwrite') would have to delete the module's records first; the zohocrm "
                              "writer does not do that", hint="use mode('append') (insert, or upsert with "
                                                              ".option('operation', 'upsert').option('key', ...))")
        module = options.get("module") or options.get("path")
        if not module:
            raise ConfigError("the zohocrm writer needs the module: .option('module', 'Leads') or .save('Leads')")
        op = str(options.get("operation") or "insert").lower()
        if op not in OPERATIONS:
            raise ConfigError(f"option operation={op!r} is not a Spark write operation",
                              hint="use insert, upsert (with key) or update (rows carry id)")
        key = options.get("key") or None
        if op == "upsert" and not key:
            raise ConfigError("operation=upsert needs .option('key', '<field>'): the field Zoho matches records on")
        api = str(options.get("api") or "auto").lower()
        if api not in ("auto", "rest", "bulk"):
            raise ConfigError(f"option api={api!r} is not a write API", hint="use auto, rest or bulk")
        report_dir = options.get("reportDir") or options.get("reportdir")
        if not report_dir:
            raise ConfigError("the zohocrm writer needs .option('reportDir', '<folder every executor can reach>')",
                              hint="each task keeps its per-row report there; a re-run resumes from it, so "
                                   "nothing is written twice")
        wait = options.get("reportWait") or options.get("reportwait")
        try:
            wait_s = REPORT_WAIT_S if wait is None else float(wait)
        except ValueError:
            wait_s = -1.0
        if not 0 <= wait_s < float("inf"):
            raise ConfigError(f"option reportWait={wait!r} is not a number of seconds",
                              hint="e.g. .option('reportWait', '900'); 0 fails a task at once when another attempt "
                                   "of it holds its report")
        return cls(str(module), op, str(key) if key else None, api, str(report_dir), wait_s)


@dataclass
class TaskResult(WriterCommitMessage):
    partition: int
    report: str
    summary: dict[str, int] = field(default_factory=dict)


class ZohoWriter(DataSourceArrowWriter):
    """Made on the driver (permission checked there), pickled to the executors that run ``write``."""

    def __init__(self, connection: str, settings: WriteSettings) -> None:
        session = driver_session(connection)
        module = session.catalog.resolve(settings.module)
        require_write(session.config, settings.operation, module)  # before any task starts
        self.settings = WriteSettings(module, settings.operation, settings.key, settings.api, settings.report_dir,
                                      settings.report_wait_s)
        self.executor: ConnectionConfig = executor_config(session)
        private_dir(Path(settings.report_dir), "the Spark write reports")

    def write(self, iterator: Iterator[pa.RecordBatch]) -> TaskResult:
        from pyspark import TaskContext

        from connector.writers import write

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx is not None else 0
        batches = list(iterator)
        report = Path(self.settings.report_dir) / f"part-{partition:05d}.parquet"
        if not batches:
            return TaskResult(partition, str(report), {"total": 0})
        table = pa.Table.from_batches(batches)
        with executor_session(self.executor) as session:
            done = write(session, self.settings.module, table, self.settings.operation, self.settings.key,
                         api=self.settings.api, report_path=report,
                         resume_if_there=True, report_wait_s=self.settings.report_wait_s)
        return TaskResult(partition, str(report), done.summary())

    def commit(self, messages: list[Any]) -> None:
        results = [m for m in messages if isinstance(m, TaskResult)]
        totals: dict[str, int] = {}
        for r in results:
            for k, v in r.summary.items():
                totals[k] = totals.get(k, 0) + v
        bad = sum(totals.get(k, 0) for k in ("failed", "unknown", "unprocessed"))
        if bad:
            raise ConnectorError(f"{bad} of {totals.get('total', 0)} rows were not written to "
                                 f"{self.settings.module} ({totals})",
                                 hint=f"the per-row reports in {self.settings.report_dir} say why; fix the rows "
                                      "and run the same job again: rows already written are skipped")

    def abort(self, messages: list[Any]) -> None:
        return None  # each task's report already says, row by row, what reached Zoho
