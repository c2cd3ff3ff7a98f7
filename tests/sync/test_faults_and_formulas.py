"""Reading through faults and an expiring token; formulas that change without Modified_Time moving."""

from __future__ import annotations

from datetime import timedelta

import requests

from connector.emulator import Emulator
from connector.sync import open_target, run
from connector.sync.runner import _formulas_due
from connector.sync.state import ModuleState

from .helpers import MODULES, NO_SLOW_FAULTS, assert_same, duckdb_table, mutate, source, truth


def test_faults_and_a_token_expiring_mid_run_still_give_an_exact_copy(tmp_path):
    # 5% of calls fail (5xx, 429, Zoho's error-in-200, dropped connections); the access token lives
    # 10 minutes and the emulator's clock jumps past that in the middle of the run.
    with Emulator(org="classic", records=300, seed=61, fault_rate=0.05, fault_kinds=NO_SLOW_FAULTS, token_ttl_s=600) as emu:
        db = tmp_path / "crm.duckdb"
        jumped = []

        def progress(module: str, phase: str, rows: int) -> None:
            if module == "Leads" and not jumped:
                jumped.append(module)
                emu.advance_clock(700)  # the token we hold is now expired on Zoho's side

        src, tgt = source(emu, api_type="REST"), open_target(f"duckdb:{db}")
        assert run(src, tgt, progress=progress).ok
        for module in ("Leads", "Contacts"):
            mutate(emu, module, creates=5, updates=5, deletes=2, seed=4)
        emu.advance_clock(700)
        inc = run(src, tgt, incremental=True, refresh_formulas=True)
        tgt.close()
        assert inc.ok, inc.as_rows()
        stats = emu.stats()
        assert sum(stats["faults_injected"].values()) > 0 and stats["tokens_minted"] >= 2
        requests.post(f"{emu.origin}/__emulator/config", json={"fault_rate": 0.0}, timeout=30).raise_for_status()
        for m in MODULES:
            ts = src.session.catalog.table(m)
            assert_same(m, duckdb_table(str(db), m, ts.arrow_schema), truth(emu, ts))
        src.close()


def test_formulas_are_refreshed_only_when_asked(tmp_path):
    with Emulator(org="classic", records=200, seed=62) as emu:
        db = tmp_path / "crm.duckdb"
        src, tgt = source(emu), open_target(f"duckdb:{db}")
        assert run(src, tgt, modules=["Leads"]).ok
        emu.advance_clock(10 * 86400)  # Days_Open grows by 10 for every lead; no Modified_Time moves
        plain = run(src, tgt, modules=["Leads"], incremental=True)
        assert plain.modules[0].rows_read == 0 and plain.modules[0].formulas_refreshed == 0
        ts = src.session.catalog.table("Leads")
        stale = tgt.con.sql('SELECT Days_Open FROM "Leads" ORDER BY id').to_arrow_table().column(0).to_pylist()
        fresh = truth(emu, ts).column("Days_Open").to_pylist()
        assert all(b - a > 9.9 for a, b in zip(stale, fresh, strict=True) if a is not None)
        # On a schedule: a refresh older than a day is due; the next run within the day is not.
        due = run(src, tgt, modules=["Leads"], incremental=True, refresh_formulas=timedelta(days=1))
        assert due.modules[0].formulas_refreshed == len(fresh)
        again = run(src, tgt, modules=["Leads"], incremental=True, refresh_formulas=timedelta(days=1))
        assert again.modules[0].formulas_refreshed == 0
        tgt.close()
        assert_same("Leads", duckdb_table(str(db), "Leads", ts.arrow_schema), truth(emu, ts))
        src.close()


def test_formula_schedule_rule():
    from datetime import UTC, datetime

    now = datetime(2025, 1, 2, tzinfo=UTC)
    st = ModuleState("Leads", formulas_refreshed_at=datetime(2025, 1, 1, 12, tzinfo=UTC))
    assert _formulas_due(True, st, now) and not _formulas_due(False, st, now)
    assert not _formulas_due(timedelta(days=1), st, now) and _formulas_due(timedelta(hours=6), st, now)
    assert _formulas_due(timedelta(days=1), None, now)
