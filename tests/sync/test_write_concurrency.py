"""Writes into Zoho at the org's concurrency: a module's insert chunks share the connection's slots.

Against emulators that answer after a latency (so calls sent together overlap and the emulator's
counters see how many were in flight); nothing here asserts a duration.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import copy_context
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from connector.emulator import Emulator
from connector.http.retry import CallCancelled, cancellable
from connector.session import ZohoSession
from connector.sync import migrate
from connector.writers import RestWriter, WriteReport

from .helpers import export

ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Leads"
ROWS = 1_200


@pytest.fixture(scope="module")
def leads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 Leads in a parquet folder (External_Ref is unique: a fresh org's samples may hold the first values)."""
    folder = tmp_path_factory.mktemp("leads")
    with Emulator(records=0, sizes={"Leads": ROWS}, seed=21, org="classic") as a:
        # records only: the subject is the insert chunks, not the record photos a full load would upload
        assert migrate(a.connection_string, f"parquet:{folder}", modules=["Leads"], files=False).ok
    table = pq.read_table(folder / "Leads.parquet")
    i = table.schema.get_field_index("External_Ref")
    pq.write_table(table.set_column(i, "External_Ref", pa.nulls(table.num_rows, pa.string())), folder / "Leads.parquet")
    return folder


def load(leads: Path, tmp: Path, concurrency: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Insert the Leads into a fresh org that answers after 150 ms, in chunks of 200 rows (two 100-record
    batches each); what the emulator counted, and the records it holds."""
    with Emulator(records=0, seed=22, org="classic", latency_ms=150) as b:
        requests.post(f"{b.origin}/__emulator/stats", headers=b.admin_headers(), timeout=30)  # peaks start now
        before = b.stats()
        result = migrate(f"parquet:{leads}", b.connection_string + ALLOW + f";MaxConcurrency={concurrency}",
                         modules=["Leads"], write_api="rest", batch_rows=200, state_path=str(tmp / "s.duckdb"),
                         source_id_field=None)
        assert result.ok and result.rows_written == ROWS, result.as_rows()
        after = b.stats()
        seen = {"credits": after["credits_used"] - before["credits_used"], "peak": after["concurrency"]["peak"],
                "peak_heavy": after["concurrency"]["peak_heavy"], "rejected": after["rejected_429"],
                "inserts": after["calls"].get("insert", 0) - before["calls"].get("insert", 0),
                "calls": {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()
                          if v != before["calls"].get(k, 0)}}
        return seen, export(b, "Leads")


def test_insert_chunks_share_the_slots_and_cost_what_a_serial_load_costs(leads: Path, tmp_path: Path) -> None:
    one, serial = load(leads, tmp_path / "serial", 1)
    seen, records = load(leads, tmp_path / "concurrent", 4)
    # A chunk holds two batches: more than two in flight means the next chunk was sent before the last landed.
    assert one["peak"] == 1 and 2 < seen["peak_heavy"] <= 4 and seen["peak"] <= 4
    assert one["rejected"] == seen["rejected"] == 0
    assert seen["inserts"] == one["inserts"] == ROWS // 100 and seen["credits"] == one["credits"]
    # The metadata asked together before the first write is what a serial load asks, each once: who the
    # connection is (which also sets the clock the writes stamp) and the org's users, one call each.
    assert seen["calls"] == one["calls"] and one["calls"]["users"] == 2
    # Every row once: the same records as the serial load (a fresh org's few sample leads beside them), none twice.
    names = sorted((r["Last_Name"], r.get("Email") or "") for r in records)
    assert len(records) == len(serial) >= ROWS and names == sorted((r["Last_Name"], r.get("Email") or "")
                                                                  for r in serial)


def test_a_write_on_a_worker_thread_stops_when_its_owner_stops(make_emulator: Any, tmp_path: Path) -> None:
    emu = make_emulator(records=0, latency_ms=200)
    rows = [{"Last_Name": f"Stopped {i}", "Company": "StopCo"} for i in range(2_000)]  # 20 batches
    stop = threading.Event()
    outcome: dict[str, BaseException] = {}
    report_path = tmp_path / "report.csv"
    with ZohoSession(emu.connection_string + ALLOW + ";MaxConcurrency=2") as session:

        def write() -> None:
            try:
                RestWriter(session).write("Leads", rows, report_path=report_path,
                                          progress=lambda p: stop.set())  # the owner stops after the first batch
            except BaseException as exc:  # noqa: BLE001 - what the worker ended with is the subject
                outcome["exc"] = exc

        worker = threading.Thread(target=copy_context().run, args=(cancellable, stop, write))
        worker.start()
        worker.join(timeout=300)
        assert not worker.is_alive()
    assert isinstance(outcome.get("exc"), CallCancelled)
    report = WriteReport.read(report_path)
    summary = report.summary()
    assert summary["total"] == len(rows) and summary.get("unprocessed", 0) > 0
    # What the report calls inserted is in Zoho; the rest were never sent or are marked for a look-up.
    stored = [r for r in emu_records(emu) if r.get("Company") == "StopCo"]
    assert summary.get("inserted", 0) <= len(stored) <= summary.get("inserted", 0) + summary.get("unknown", 0)
    assert len(stored) < len(rows)


def emu_records(emu: Emulator) -> Iterator[dict[str, Any]]:
    r = requests.get(f"{emu.origin}/__emulator/export/Leads", headers=emu.admin_headers(), timeout=60)
    assert r.status_code == 200, r.text
    yield from r.json()["data"]
