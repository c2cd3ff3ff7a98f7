"""Zoho as a target: emulator A -> Parquet -> emulator B (a fresh org) -> DuckDB equals A, relationships intact.

Plus: a re-run writes nothing twice, changes flow through incrementally (deletes
too, found by comparing ids since files keep no deletion log), bad rows are
reported per row while the others load, upsert by key finds existing records,
and a lost insert answer is reconciled instead of duplicated.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from connector.emulator import Emulator
from connector.sync import migrate

from .helpers import ALLOW, MODULES, NO_SLOW_FAULTS, duckdb_table, export, mutate, source, truth
from .roundtrip import assert_copied, clear_org, id_maps


def check_copy(a: Emulator, b: Emulator, state: Path, tmp: Path, name: str) -> None:
    """B, read into DuckDB, equals A's ground truth (through the id map, lookups followed); records only,
    as the comparison reads no file (files into Zoho are tests/sync/test_zoho_files.py's)."""
    db = tmp / f"{name}.duckdb"
    assert migrate(b.connection_string, f"duckdb:{db}", files=False).ok
    maps = id_maps(state)
    src = source(a)
    tables = {}
    for m in MODULES:
        ts = src.session.catalog.table(m)
        tables[m] = (ts, truth(a, ts), duckdb_table(str(db), m, ts.arrow_schema))
    live_a = {m: set(t[1].column("id").to_pylist()) for m, t in tables.items()}
    live_b = {m: set(t[2].column("id").to_pylist()) for m, t in tables.items()}
    for ts, original, copy in tables.values():
        assert_copied(ts, original, copy, maps, live_a, live_b)
    src.close()


@pytest.mark.parametrize("write_api", ["rest", "bulk"])
def test_round_trip_through_parquet_into_a_fresh_org(write_api, tmp_path):
    with Emulator(org="classic", records=300, seed=31) as a, Emulator(org="classic", records=0, seed=32) as b:
        clear_org(b)
        pq_dir, state = tmp_path / "pq", tmp_path / "state.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}").ok
        first = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state),
                        write_api=write_api)
        assert first.ok, (first.as_rows(), first.notes)
        assert first.notes == []  # every deferred lookup (Reporting_To, Parent_Account) was set
        check_copy(a, b, state, tmp_path, "b1")
        # The same run again: rows are ours already, so they are updated, never inserted twice.
        before = {m: len(export(b, m)) for m in MODULES}
        again = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state),
                        write_api=write_api)
        assert again.ok and {m: len(export(b, m)) for m in MODULES} == before
        # Changes in A flow A -> Parquet -> B incrementally, deletions included.
        for module in ("Accounts", "Contacts", "Deals", "Tasks"):
            mutate(a, module, creates=3, updates=4, deletes=2, seed=9)
        a.advance_clock(2)
        assert migrate(a.connection_string, f"parquet:{pq_dir}", incremental=True).ok
        inc = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), incremental=True,
                      write_api=write_api)
        assert inc.ok, inc.as_rows()
        by = {m.module: m for m in inc.modules}
        assert by["Accounts"].rows_deleted == 2 and by["Contacts"].rows_written >= 7
        check_copy(a, b, state, tmp_path, "b2")


def _csv(path: Path, rows: list[dict]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "Leads.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_bad_rows_are_reported_per_row_and_the_others_load(tmp_path):
    good = [{"id": str(9000 + i), "Last_Name": f"Good {i}", "Email": f"good{i}@bad-rows.test", "Company": "BadRowsCo",
             "Lead_Status": "Contacted", "No_of_Employees": str(10 + i)} for i in range(5)]
    bad = [
        {"id": "9100", "Last_Name": "", "Email": "m@bad-rows.test", "Company": "BadRowsCo", "Lead_Status": "Contacted",
         "No_of_Employees": "1"},  # mandatory Last_Name missing
        {"id": "9101", "Last_Name": "P", "Email": "p@bad-rows.test", "Company": "BadRowsCo", "Lead_Status": "Bogus",
         "No_of_Employees": "1"},  # not a picklist value
        {"id": "9102", "Last_Name": "L", "Email": "l@bad-rows.test", "Company": "X" * 300, "Lead_Status": "Contacted",
         "No_of_Employees": "1"},  # longer than the field allows
        {"id": "9103", "Last_Name": "T", "Email": "t@bad-rows.test", "Company": "BadRowsCo",
         "Lead_Status": "Contacted", "No_of_Employees": "lots"},  # not an integer
    ]
    src = tmp_path / "in"
    _csv(src, good + bad)
    state = tmp_path / "state.duckdb"
    with Emulator(org="classic", records=0, seed=41) as b:
        args = ["migrate", "--source", f"csv:{src}", "--target", b.connection_string + ALLOW, "--modules", "Leads",
                "--state", str(state), "--report-dir", str(tmp_path / "reports")]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1, res.output
        assert "4 rows were not written" in res.output and "report" in res.output
        loaded = [r for r in export(b, "Leads") if r.get("Company") == "BadRowsCo"]
        assert sorted(r["Last_Name"] for r in loaded) == [f"Good {i}" for i in range(5)]
        report = next((tmp_path / "reports").glob("*.csv"))
        rows = {r["source_id"]: r for r in csv.DictReader(open(report, encoding="utf-8"))}
        assert set(rows) == {"9100", "9101", "9102", "9103"}
        assert rows["9100"]["code"] == "MANDATORY_NOT_FOUND" and rows["9101"]["code"] == "INVALID_DATA"
        assert "maximum_length" in rows["9102"]["message"] and "integer" in rows["9103"]["message"]
        # Fixed and run again: only the four missing rows are written, nothing twice.
        fixed = good + [dict(r, Last_Name="Fixed", Lead_Status="Contacted", Company="BadRowsCo",
                             No_of_Employees="3") for r in bad]
        _csv(src, fixed)
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        loaded = [r for r in export(b, "Leads") if r.get("Company") == "BadRowsCo"]
        assert len(loaded) == 9 and sum(r["Last_Name"] == "Fixed" for r in loaded) == 4


def test_upsert_by_key_updates_the_record_the_target_already_has(tmp_path):
    with Emulator(org="classic", records=0, seed=43) as b:
        existing = next(r for r in export(b, "Leads") if r.get("Email"))
        src = tmp_path / "in"
        _csv(src, [{"id": "1", "Last_Name": "Upserted", "Email": existing["Email"], "Company": "UpsertCo"},
                   {"id": "2", "Last_Name": "New", "Email": "new@upsert.test", "Company": "UpsertCo"}])
        before = len(export(b, "Leads"))
        res = migrate(f"csv:{src}", b.connection_string + ALLOW, modules=["Leads"], mode="upsert", key="Email",
                      state_path=str(tmp_path / "s.duckdb"))
        assert res.ok, res.as_rows()
        after = {r["id"]: r for r in export(b, "Leads")}
        assert len(after) == before + 1
        assert after[existing["id"]]["Last_Name"] == "Upserted" and after[existing["id"]]["Company"] == "UpsertCo"
        assert id_maps(tmp_path / "s.duckdb")["Leads"]["1"] == existing["id"]


def test_lost_insert_answers_and_faults_are_reconciled_not_duplicated(tmp_path):
    with Emulator(org="classic", records=200, seed=51) as a, Emulator(org="classic", records=0, seed=52) as b:
        clear_org(b)
        pq_dir, state = tmp_path / "pq", tmp_path / "state.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}").ok
        # Writes land but their answers are lost (drop_after), among the usual 5xx/429/drops.
        import requests

        requests.post(f"{b.origin}/__emulator/config", json={
            "fault_rate": 0.08, "fault_kinds": [*NO_SLOW_FAULTS, "drop_after"]}, timeout=30).raise_for_status()
        res = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW + ";MaxRetries=8", state_path=str(state),
                      write_api="rest", batch_rows=60)
        requests.post(f"{b.origin}/__emulator/config", json={"fault_rate": 0.0}, timeout=30).raise_for_status()
        if not res.ok:  # an answer lost beyond every retry: the next run settles it (looked up, not resent)
            res = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), write_api="rest")
        assert res.ok, (res.as_rows(), res.report_path)
        assert b.stats()["faults_injected"]
        check_copy(a, b, state, tmp_path, "faulty")
