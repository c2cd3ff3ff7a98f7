"""A migration chooses its read API by the planner's policy: one set of numbers for SQL and sync.

50,000 Leads cost 76 credits in COQL keyset pages (and 750 in list pages joined
by id) against 55 for a Bulk Read job and its user and layout names (the cost
models are held to the emulator's meter in tests/readers/test_cost_models.py):
the planner reads ``SELECT * FROM Leads`` with Bulk, so the full load must too.
A small delta goes to COQL; a delta of tens of thousands of records to Bulk, as
the planner would read ``WHERE Modified_Time >= ...`` of that many rows.
The counts are the emulator's calls; the rows must equal the ground truth.
"""

from __future__ import annotations

from pathlib import Path

from connector.emulator import Emulator
from connector.engine import Engine
from connector.sync import open_target, run

from .helpers import assert_same, duckdb_table, mutate, session, source, truth

READS = ("coql_query", "list_records", "search_records", "create_read_job")


def _migrate(emu: Emulator, db: Path, incremental: bool = False) -> dict[str, int]:
    before = emu.stats()["calls"]
    src, tgt = source(emu), open_target(f"duckdb:{db}")
    try:
        # records only: the API choice is the subject, not the 5,000 record photos a full load would fetch
        result = run(src, tgt, modules=["Leads"], incremental=incremental, files=False)
    finally:
        tgt.close()
        src.close()
    assert result.ok, result.as_rows()
    after = emu.stats()["calls"]
    return {k: after.get(k, 0) - before.get(k, 0) for k in READS if after.get(k, 0) != before.get(k, 0)}


def test_full_loads_and_deltas_read_with_the_api_the_planner_would_choose(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    with Emulator(org="classic", records=8_000, seed=91, sizes={"Leads": 50_000}) as emu:
        with session(emu) as s:
            assert [scan.api for scan in Engine(s).plan("SELECT * FROM Leads").scans] == ["Bulk"]
            ts = s.catalog.table("Leads")
        assert "create_read_job" in _migrate(emu, db)

        mutate(emu, "Leads", updates=20, seed=3)
        emu.advance_clock(2)
        small = _migrate(emu, db, incremental=True)
        assert "create_read_job" not in small and small.get("coql_query"), small

        mutate(emu, "Leads", updates=45_000, seed=4)
        emu.advance_clock(2)
        big = _migrate(emu, db, incremental=True)
        assert big.get("create_read_job"), big
        assert_same("Leads", duckdb_table(str(db), "Leads", ts.arrow_schema), truth(emu, ts))
