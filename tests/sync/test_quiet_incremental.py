"""A quiet incremental run reads nothing, however many rows share the watermark second.

5,000 Leads and 1,500 Contacts modified in one second leave boundary sets far
larger than a COQL query can exclude. A later run with no change must read zero
rows and make at most one read call per module (counted by the emulator), and a
row that does arrive in that second is still found.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.sync import open_target, run
from connector.sync.runner import MigrationResult
from connector.sync.state import BOUNDARY_SETTLE

from .helpers import MODULES, assert_same, duckdb_table, mutate, source, truth
from .test_backends import fingerprint

#: the modules the mass update crowds, at the size it needs; the others at a small org's
CROWDED = {"Leads": 5_600, "Contacts": 2_000}
#: emulator call names that read records (the other calls of a run are metadata and /deleted)
READ_CALLS = ("coql_query", "list_records", "get_records", "search_records", "create_read_job")


def _run(emu: Emulator, db: Path, api_type: str | None, **kw: Any) -> MigrationResult:
    src, tgt = source(emu, api_type=api_type), open_target(f"duckdb:{db}")
    try:
        return run(src, tgt, **kw)
    finally:
        tgt.close()
        src.close()


def _mass_update(emu: Emulator) -> datetime:
    """Thousands of records modified in one second, a few seconds ago (one import, one mass update)."""
    now = datetime.fromtimestamp(emu.app.clock.time(), UTC).replace(microsecond=0)
    second = now - timedelta(seconds=5)
    assert len(mutate(emu, "Leads", updates=5000, modified_time=second.isoformat(), seed=1)["updated"]) == 5000
    assert len(mutate(emu, "Contacts", updates=1500, modified_time=second.isoformat(), seed=2)["updated"]) == 1500
    return second


def _read_calls(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in READ_CALLS if after.get(k, 0) != before.get(k, 0)}


@pytest.mark.parametrize("api_type", [None, "REST"])
def test_a_run_with_nothing_new_reads_nothing_after_a_mass_update(api_type, tmp_path):
    db = tmp_path / "crm.duckdb"
    with Emulator(org="classic", records=2_000, seed=81, sizes=CROWDED) as emu:
        _mass_update(emu)
        assert _run(emu, db, api_type).ok
        # Time passes (nothing changes): the next run confirms the boundary second once ...
        emu.advance_clock(BOUNDARY_SETTLE.total_seconds() + 60)
        first = _run(emu, db, api_type, incremental=True)
        assert first.ok and sum(m.rows_read for m in first.modules) == 0, first.as_rows()
        # ... and every later quiet run reads nothing, one read call per module, target untouched.
        untouched = fingerprint("duckdb", db)
        before = emu.stats()["calls"]
        second = _run(emu, db, api_type, incremental=True)
        calls = _read_calls(before, emu.stats()["calls"])
        assert second.ok and {m.module: m.rows_read for m in second.modules if m.rows_read} == {}
        assert sum(calls.values()) <= len(MODULES), calls
        assert fingerprint("duckdb", db) == untouched


def test_a_row_that_lands_in_a_crowded_boundary_second_is_still_found(tmp_path):
    db = tmp_path / "crm.duckdb"
    with Emulator(org="classic", records=2_000, seed=82, sizes=CROWDED) as emu:
        second = _mass_update(emu)
        assert _run(emu, db, None, modules=["Leads"]).ok
        # Records that show up in the boundary second after the load read it (a write in flight then).
        late = mutate(emu, "Leads", creates=2, modified_time=second.isoformat(), seed=3)["created"]
        emu.advance_clock(2)
        result = _run(emu, db, None, modules=["Leads"], incremental=True)
        assert result.ok and result.modules[0].rows_written == 2, result.as_rows()
        ts = source(emu).session.catalog.table("Leads")
        got = duckdb_table(str(db), "Leads", ts.arrow_schema)
        assert set(late) <= set(got.column("id").to_pylist())
        assert_same("Leads", got, truth(emu, ts))
        # The next quiet run needs the count only: the second's ids are known complete again.
        again = _run(emu, db, None, modules=["Leads"], incremental=True)
        assert again.ok and again.modules[0].rows_read == 0


@pytest.mark.parametrize("kind", ["parquet", "csv", "duckdb"])
def test_a_file_or_duckdb_source_with_nothing_new_reads_no_rows(kind, tmp_path):
    from connector.sync import migrate

    upstream = f"{kind}:{tmp_path / ('src.duckdb' if kind == 'duckdb' else 'src')}"
    target = f"duckdb:{tmp_path / 'copy.duckdb'}"
    with Emulator(org="classic", records=2_000, seed=83) as emu:
        assert migrate(emu.connection_string, upstream).ok
    assert migrate(upstream, target).ok
    quiet = migrate(upstream, target, incremental=True)
    assert quiet.ok and {m.module: m.rows_read for m in quiet.modules if m.rows_read} == {}
