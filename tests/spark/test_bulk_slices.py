"""Bulk slices cost the jobs of one read: whole pages a slice, ties at a cut never spilling, one COUNT.

Runs the source's driver and executor halves in this process (no JVM): ``ZohoReader.partitions`` as
Spark's planner calls it, then ``read`` of each partition, against an emulator whose Bulk page is 100
rows (the strategy is told the same page) and whose Leads share Created_Time seconds across page
boundaries.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.readers.bulk import BulkReader
from connector.readers.strategies import BULK
from connector.session import ZohoSession
from connector.spark.options import Settings
from connector.spark.source import ZohoPartition, ZohoReader

PAGE = 100
#: (records, second): positions 0-49 share s0, 50-149 s1, 150-199 s2, 200-299 s3 — a cut at row 100 falls
#: inside a second, the cut at row 200 between two
GROUPS = ((50, 0), (100, 1), (50, 2), (100, 3))


@pytest.fixture
def tied(make_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    emu: Emulator = make_emulator(org="classic", records=0, sizes={"Leads": 0}, bulk_page_size=PAGE, seed=5)
    monkeypatch.setattr(BULK, "limits", replace(BULK.limits, rows_per_call=PAGE))
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for count, second in GROUPS:
        at = (start + timedelta(seconds=second)).isoformat()
        emu.admin("POST", "mutate", {"module": "Leads", "creates": count, "modified_time": at})
    return emu


def calls(emu: Emulator) -> dict[str, int]:
    return dict(emu.stats()["calls"])


def test_slices_with_ties_at_a_page_boundary_cost_the_jobs_of_one_read(tied: Emulator) -> None:
    created = sorted(r["Created_Time"] for r in tied.export("Leads"))
    assert len(created) == 300 and created[99] == created[100] != created[199]  # the layout took
    reader = ZohoReader(tied.connection_string + ";MaxConcurrency=8", Settings("Leads", None, "Bulk", 3))
    before = calls(tied)
    parts = reader.partitions()
    planned = calls(tied)
    ids: list[str] = []
    for part in parts:
        assert isinstance(part, ZohoPartition)
        for batch in reader.read(part):
            ids.extend(batch.column("id").to_pylist())
    after = calls(tied)
    assert sorted(ids) == sorted(r["id"] for r in tied.export("Leads"))  # every record once
    # 300 rows are three 100-row jobs in one read; a slice cut at row 100 (inside a second) would end short
    # and push its ties into a slice that then needs a job more: the cut is taken at row 200 instead
    assert after.get("create_read_job", 0) - before.get("create_read_job", 0) == 3
    assert len(parts) == 2
    # each slice's first job was made as the read was planned (Zoho runs it while Spark starts the tasks)
    assert planned.get("create_read_job", 0) - before.get("create_read_job", 0) == len(parts)
    assert all(isinstance(p, ZohoPartition) and p.job for p in parts)
    # one COUNT (not one for the slice count and another for the bounds), then one call per cut looked at
    assert planned.get("coql_query", 0) - before.get("coql_query", 0) == 3


class Recording(BulkReader):
    """The Bulk reader, noting how many jobs this read had created when each page's download began."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.jobs_at_download: list[int] = []

    def download(self, job_id: str, path: Path, cancel: threading.Event) -> None:
        self.jobs_at_download.append(int(self.ctx.stats.get("bulk_jobs", 0)))
        super().download(job_id, path, cancel)


def test_the_next_pages_job_is_created_before_this_page_downloads(tied: Emulator) -> None:
    with ZohoSession(tied.connection_string) as s:
        reader = Recording(s.reader_context(), poll_initial=0.05)
        ids = [i for b in reader.batches("Leads", ["id"]) for i in b.column("id").to_pylist()]
    assert sorted(ids) == sorted(r["id"] for r in tied.export("Leads"))
    # three 100-row pages: page 2's job exists when page 1 downloads, page 3's when page 2 does
    assert reader.jobs_at_download == [2, 3, 3]


def test_a_planned_job_gone_by_the_time_its_task_runs_is_made_again(tied: Emulator) -> None:
    reader = ZohoReader(tied.connection_string, Settings("Leads", None, "Bulk", 1))
    (part,) = reader.partitions()
    assert isinstance(part, ZohoPartition) and part.job
    part.job = "5843104980000099999"  # no such job (a task run again after Zoho dropped the result)
    before = calls(tied).get("create_read_job", 0)
    ids = [i for b in reader.read(part) for i in b.column("id").to_pylist()]
    assert sorted(ids) == sorted(r["id"] for r in tied.export("Leads"))
    assert calls(tied).get("create_read_job", 0) - before == 3  # the first page's job again, then two more
