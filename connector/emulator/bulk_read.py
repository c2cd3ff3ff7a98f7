"""Bulk Read jobs: the job model, its place in the org's job queue, and the CSV page producer.

bulk-read.md sections 2-6. A job moves ``ADDED`` -> ``IN PROGRESS`` -> ``COMPLETED``
(or ``FAILURE``) through the shared queue of :mod:`.job_queue`: jobs of one org run
one after another on the virtual clock, and a job needs
``max(MIN_JOB_S, rows / bulk_rows_per_s)`` virtual seconds. A job takes its data
snapshot at the moment it starts; the CSV itself is produced on a background thread
so the server stays responsive, and a job is never reported ``COMPLETED`` before its
file exists.

Paging: rows are taken in id order, so page *n* is a contiguous id range and
``next_page_token`` is a keyset (the last id exported), bound to the query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .csv_format import select_list, write_zipped_csv
from .job_queue import ADDED, COMPLETED, JobQueue
from .query import Selection
from .schema import ModuleDef

#: rows per result file (bulk-read.md section 6); tests may lower it with app.state["bulk_page_size"]
PAGE_SIZE = 200_000
#: highest ``page`` accepted: the v8 spec's pattern allows 50 pages (another reading gives 500; unconfirmed)
MAX_PAGE = 50
#: results are kept for one day after completion (bulk-read.md section 3)
RESULT_TTL_S = 86_400
#: result zips store the CSV by default: deflate costs ~2.6 CPU-s per 200 MB page and breaks the 2x
#: write_csv budget on a 2-core machine; app.state["bulk_zip_level"] = 1 turns compression on
DEFAULT_ZIP_LEVEL = 0

FAILURE = "FAILURE"  # bulk read's failure state (bulk write says FAILED)


@dataclass
class BulkReadJob:
    id: int
    module: ModuleDef
    #: (CSV header, field path) pairs, ``id`` first
    columns: list[tuple[str, list[str]]]
    #: compiles the criteria over a Selection (alias ``t``) -> (SQL, params); None = every record
    criteria: Callable[[Selection], tuple[str, list[Any]]] | None
    page: int
    after_id: int | None
    binding: str
    user_id: int
    created_at: float
    query_echo: dict[str, Any]
    version: str = "v8"
    callback: dict[str, str] | None = None
    #: mints ``next_page_token`` for a completed job with more records (the handler owns token format)
    make_token: Callable[[BulkReadJob], str] | None = None
    state: str = ADDED
    started_at: float | None = None
    finish_at: float | None = None
    completed_at: float | None = None
    count: int = 0
    more_records: bool = False
    last_id: int | None = None
    next_page_token: str | None = None
    error: str | None = None
    path: Path | None = None
    done: threading.Event = field(default_factory=threading.Event)


class BulkReadQueue(JobQueue[BulkReadJob]):
    """All bulk read jobs of one emulated org, in creation order."""

    state_key = "bulk_read"
    failed = FAILURE

    def work(self, app: Any, job: BulkReadJob) -> None:
        _produce(app, self, job)

    def rows(self, job: BulkReadJob) -> int:
        return job.count

    def on_finish(self, job: BulkReadJob) -> None:
        job.completed_at = job.finish_at
        if job.state == COMPLETED and job.more_records and job.make_token is not None:
            job.next_page_token = job.make_token(job)


def queue_of(app: Any) -> BulkReadQueue:
    return BulkReadQueue.of(app)


def page_size(app: Any) -> int:
    return int(app.state.get("bulk_page_size", getattr(app.settings, "bulk_page_size", PAGE_SIZE)))


def add_job(app: Any, job: BulkReadJob) -> None:
    # Callback payload: the job details plus job_id (exact shape unconfirmed, bulk-read.md section 2).
    queue_of(app).add(app, job, lambda: {"job_id": str(job.id), **job_detail(app, job)})


def get_job(app: Any, job_id: str) -> BulkReadJob | None:
    return queue_of(app).get(app, job_id)


def page_table(app: Any, module: ModuleDef, columns: list[tuple[str, list[str]]],
               criteria: Callable[[Selection], tuple[str, list[Any]]] | None, page: int, after_id: int | None,
               size: int, *, at: datetime | None = None) -> tuple[pa.Table, bool]:
    """The rows of one result page, every cell already in its CSV form, plus whether more rows follow.

    The page is the id range holding rows ``(page-1)*size+1 .. page*size`` (or the ``size`` rows after
    ``after_id``): two id-only queries find its bounds, then one wide query without ORDER BY reads it
    (sorting 200 MB of text would double the cost; the ids are checked and sorted only if a join
    shuffled them). ``at`` (naive UTC) is the instant formulas such as ``Days_Open`` are evaluated
    at; the job passes its start, when Zoho takes the snapshot (default: now).
    """
    sel = Selection(module, at or app.clock.now_naive())
    where, params = criteria(sel) if criteria is not None else ("", [])
    items = select_list(sel, columns, app.clock)
    a = sel.alias
    conds = [f"({where})"] if where else []
    if after_id is not None:
        conds.append(f"{a}.id > {int(after_id)}")
    skip = 0 if after_id is not None else (page - 1) * size
    base = f"FROM {sel.from_clause()}" + (" WHERE " + " AND ".join(conds) if conds else "")
    cur = app.store.con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")  # one snapshot for the bounds and the rows
        # fetchall, not fetchone: DuckDB keeps a half-read result open and refuses the next statement.
        firsts = cur.execute(f"SELECT {a}.id {base} ORDER BY {a}.id LIMIT 1 OFFSET {skip}", params).fetchall()
        nexts = cur.execute(f"SELECT {a}.id {base} ORDER BY {a}.id LIMIT 1 OFFSET {skip + size}",
                            params).fetchall()
        bounds = ["false"] if not firsts else [f"{a}.id >= {int(firsts[0][0])}"]
        if firsts and nexts:
            bounds.append(f"{a}.id < {int(nexts[0][0])}")
        table = cur.sql(f"SELECT {', '.join(items)} FROM {sel.from_clause()} WHERE {' AND '.join(conds + bounds)}",
                        params=params or None).to_arrow_table()
        cur.execute("COMMIT")
    finally:
        cur.close()
    return in_id_order(table), bool(nexts)


#: pieces beyond which moving them is no cheaper than copying the page's rows in order
MAX_RUNS = 256


def in_id_order(table: pa.Table) -> pa.Table:
    """``table`` with its rows in ascending order of its first column (the record id).

    DuckDB's parallel scans hand back a page as a few stretches of rows each in order: the threads' row
    groups, at times out of turn, and for a page cut from a filtered module (a Created_Time slice: its id
    range spans row groups every thread takes a share of) interleaved. Only the ids are sorted; the rows
    are then moved as the stretches the sorted order takes whole from the page, each a slice of it (no
    cell copied), where a ``sort_by`` copies every cell of 200,000 wide rows (as long as the query took).
    Rows in no particular order (more stretches than :data:`MAX_RUNS`) are copied in order."""
    n = table.num_rows
    if n < 2:
        return table
    ids = table.column(0).to_numpy()
    if not (ids[1:] < ids[:-1]).any():
        return table
    order = np.argsort(ids, kind="stable")
    cuts = np.flatnonzero(np.diff(order) != 1) + 1  # where the sorted order leaves one stretch for another
    if cuts.size >= MAX_RUNS:
        return table.take(pa.array(order))
    starts, ends = [0, *cuts.tolist()], [*cuts.tolist(), n]
    return pa.concat_tables([table.slice(int(order[a]), b - a) for a, b in zip(starts, ends, strict=True)])


def _produce(app: Any, q: BulkReadQueue, job: BulkReadJob) -> None:
    """Background thread: take the snapshot, write ``{job_id}.csv`` into ``{job_id}.zip``."""
    try:
        assert job.started_at is not None
        # Formulas read the clock at the job's start (its snapshot instant), not when this thread runs.
        snapshot = datetime.fromtimestamp(job.started_at, UTC).replace(tzinfo=None, microsecond=0)
        table, job.more_records = page_table(app, job.module, job.columns, job.criteria, job.page, job.after_id,
                                             page_size(app), at=snapshot)
        job.count = table.num_rows
        job.last_id = int(pc.max(table.column(0)).as_py()) if table.num_rows else None
        path = q.dir / f"{job.id}.zip"
        write_zipped_csv(table, path, f"{job.id}.csv", level=int(app.state.get("bulk_zip_level", DEFAULT_ZIP_LEVEL)),
                         mtime=app.clock.time())
        job.path = path
    except Exception as exc:  # the job fails; the server carries on (FAILURE state)
        job.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        job.done.set()


def job_detail(app: Any, job: BulkReadJob) -> dict[str, Any]:
    """One ``JobDetail`` as ``GET /read/{id}`` and the callback show it (bulk-read.md section 2)."""
    user = schema.USERS_BY_ID.get(job.user_id, schema.ADMIN_USER)
    out: dict[str, Any] = {
        "id": str(job.id), "operation": "read", "state": job.state,
        "query": job.query_echo,
        "created_by": {"id": str(user.id), "name": user.full_name},
        "created_time": app.clock.render(datetime.fromtimestamp(job.created_at, UTC)),
        "file_type": "csv",
    }
    if job.callback:
        out["callback"] = dict(job.callback)
    if job.state == COMPLETED:
        out["result"] = {
            "page": job.page, "per_page": page_size(app), "count": job.count,
            "download_url": f"/crm/bulk/{job.version}/read/{job.id}/result",
            "more_records": job.more_records,
        }
        if job.next_page_token:
            # A last page has no token: Zoho's v8 sample of a completed last page omits the key (the spec
            # lists it as required; we follow the sample, bulk-read.md section 2).
            out["result"]["next_page_token"] = job.next_page_token
    elif job.state == FAILURE:
        # Shape unconfirmed (bulk-read.md section 2): a code/message pair under result.error_message.
        out["result"] = {"error_message": {"code": "INTERNAL_ERROR", "message": job.error or "job failed"}}
    return out
