"""``zohocrm migrate`` into Zoho through the real command: permissions asked once, dry runs, resumed counts.

* A target connection that may not write is refused before any write, in one
  message that gives the exact text allowing everything the run needs; the run
  leaves no pending batch nor state behind, exits 4, and the text works at once.
* ``DryRun=true`` reports what it would write per row and exits 0; nothing is
  written and the id map and state do not move.
* A run resumed after a kill reports each source row once, whatever was tried twice.
"""

from __future__ import annotations

import csv
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from connector.emulator import Emulator
from connector.sync import migrate

from .cli_child import sent_without_answer, wait_for, zohocrm, zohocrm_run
from .helpers import ALLOW, export
from .roundtrip import clear_org, id_maps

WRITES = ("insert", "update_many", "update_one", "upsert", "delete_many", "delete_one", "upload_file",
          "create_write_job")


def write_calls(emu: Emulator) -> int:
    return sum(n for k, n in emu.stats()["calls"].items() if k in WRITES)


def report_rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def the_report(folder: Path) -> str:
    """The one report a run left in ``folder`` (the newest, when runs left several)."""
    found = sorted(folder.glob("*.csv"), key=lambda p: p.stat().st_mtime_ns)
    assert found, f"no report in {folder}"
    return str(found[-1])


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Leads and Contacts of an org, as Parquet (Contacts point at themselves through Reporting_To)."""
    where = tmp_path_factory.mktemp("src") / "pq"
    with Emulator(records=300, seed=91) as a:
        assert migrate(a.connection_string, f"parquet:{where}", modules=["Leads", "Contacts"]).ok
    return where


def test_a_denied_migration_says_everything_once_writes_nothing_and_the_text_works(source_dir, tmp_path):
    state = tmp_path / "state.duckdb"
    with Emulator(records=0, seed=92) as b:
        clear_org(b)
        writes = write_calls(b)
        args = ["migrate", "--source", f"parquet:{source_dir}", "--modules", "Leads,Contacts", "--state", str(state)]
        denied = zohocrm_run(*args, "--target", b.connection_string)
        assert denied.returncode == 4, denied.stderr
        # One message: every operation and module, and the text to add.
        text = ";AllowedOperations=read,insert,update;AllowedModules=Contacts,Leads"
        assert f"`{text}`" in denied.stderr, denied.stderr
        assert "insert on Contacts, Leads" in denied.stderr and "update on Contacts" in denied.stderr
        assert denied.stderr.count("error:") == 1 and "Traceback" not in denied.stderr
        assert write_calls(b) == writes and not state.exists()
        assert not state.with_name("state.pending").exists()
        # Following the message is enough: one round trip.
        done = zohocrm_run(*args, "--target", b.connection_string + text)
        assert done.returncode == 0, done.stderr
        assert len(export(b, "Leads")) == len(pq.read_table(source_dir / "Leads.parquet"))
        # A run over rows an earlier run wrote updates them, and the second pass sets Contacts' lookups still
        # waiting (for Accounts): asked for before it starts, like the rest.
        leads_only = ["migrate", "--source", f"parquet:{source_dir}", "--modules", "Leads", "--state", str(state)]
        again = zohocrm_run(*leads_only, "--target", b.connection_string + ";AllowedOperations=read,insert;"
                                                                          "AllowedModules=Leads")
        assert again.returncode == 4 and "update on Leads, Contacts" in again.stderr, again.stderr
        assert "`;AllowedOperations=read,insert,update;AllowedModules=Leads,Contacts`" in again.stderr
        assert not list(state.with_name("state.pending").glob("*"))


def test_a_target_that_may_not_delete_keeps_the_records_and_says_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rows = "id,Last_Name,Company\n" + "".join(f"{i},Keep {i},DelCo\n" for i in range(1, 6))
    (src / "Leads.csv").write_text(rows)
    state = tmp_path / "state.duckdb"
    with Emulator(records=0, seed=99) as b:
        args = ["migrate", "--source", f"csv:{src}", "--modules", "Leads", "--state", str(state)]
        no_delete = b.connection_string + ";AllowedOperations=read,insert,update;AllowedModules=Leads"
        assert zohocrm_run(*args, "--target", no_delete).returncode == 0
        (src / "Leads.csv").write_text("".join(rows.splitlines(keepends=True)[:4]))  # rows 4 and 5 leave
        kept = zohocrm_run(*args, "--target", no_delete)
        assert kept.returncode == 0, kept.stderr
        assert "2 records deleted at the source stay in Zoho" in kept.stderr.replace("\n", " ")
        assert len([r for r in export(b, "Leads") if r.get("Company") == "DelCo"]) == 5
        gone = zohocrm_run(*args, "--target", b.connection_string + ";AllowedOperations=read,insert,update,delete;"
                                                                      "AllowedModules=Leads")
        assert gone.returncode == 0, gone.stderr
        assert sorted(r["Last_Name"] for r in export(b, "Leads") if r.get("Company") == "DelCo") == \
            ["Keep 1", "Keep 2", "Keep 3"]


def test_a_dry_run_reports_what_it_would_write_and_changes_nothing(source_dir, tmp_path):
    state = tmp_path / "state.duckdb"
    leads = len(pq.read_table(source_dir / "Leads.parquet"))
    with Emulator(records=0, seed=93) as b:
        clear_org(b)
        writes = write_calls(b)
        args = ["migrate", "--source", f"parquet:{source_dir}", "--modules", "Leads", "--state", str(state),
                "--report-dir", str(tmp_path / "reports")]
        dry = zohocrm_run(*args, "--target", b.connection_string + ALLOW + ";DryRun=true")
        assert dry.returncode == 0, dry.stderr
        assert f"dry run: nothing was written; would insert {leads:,}" in dry.stderr
        rows = report_rows(the_report(tmp_path / "reports"))
        assert len(rows) == leads and {r["status"] for r in rows} == {"would_insert"}
        assert write_calls(b) == writes and len(export(b, "Leads")) == 0 and not state.exists()
        # Written for real, then dry-run again: every row is ours now, so it would be updated.
        assert zohocrm_run(*args, "--target", b.connection_string + ALLOW).returncode == 0
        before, writes = id_maps(state), write_calls(b)
        dry = zohocrm_run(*args, "--target", b.connection_string + ALLOW + ";DryRun=true")
        assert dry.returncode == 0 and f"would update {leads:,}" in dry.stderr, dry.stderr
        assert {r["status"] for r in report_rows(the_report(tmp_path / "reports"))} == {"would_update"}
        assert id_maps(state) == before and write_calls(b) == writes


def test_a_dry_run_with_rows_that_would_fail_says_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company,Lead_Status\n1,Fine,DryCo,Contacted\n"
                                   "2,Bad,DryCo,Not a status\n")
    with Emulator(records=0, seed=94) as b:
        writes = write_calls(b)
        res = zohocrm_run("migrate", "--source", f"csv:{src}", "--target", b.connection_string + ALLOW + ";DryRun=true",
                          "--state", str(tmp_path / "s.duckdb"), "--report-dir", str(tmp_path / "reports"))
        assert res.returncode == 1, res.stderr
        assert "would insert 1" in res.stderr and "1 rows would not be written" in res.stderr
        assert "fix them and run again" not in res.stderr
        statuses = {r["source_id"]: r["status"] for r in report_rows(the_report(tmp_path / "reports"))}
        assert statuses == {"1": "would_insert", "2": "failed"}
        assert write_calls(b) == writes


def test_a_resumed_run_reports_each_failed_row_once(tmp_path):
    with Emulator(records=3000, seed=95) as a, Emulator(records=0, seed=96) as b:
        taken = [r["Email"] for r in export(b, "Leads") if r.get("Email")]  # someone's records, long before
        rows = [r for r in export(a, "Leads") if r.get("Email")][:400]
        src = tmp_path / "in"
        src.mkdir()
        with open(src / "Leads.csv", "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["id", "Last_Name", "Email", "Company"])
            for i, email in enumerate(taken):  # refused by Zoho: the Email is unique and already taken
                out.writerow([f"90{i}", f"Clash {i}", email, "ClashCo"])
            for r in rows:
                out.writerow([r["id"], r["Last_Name"], r["Email"], r.get("Company") or "X"])
        state = tmp_path / "state.duckdb"
        args = ["migrate", "--source", f"csv:{src}", "--target", b.connection_string + ALLOW, "--modules", "Leads",
                "--state", str(state), "--write-api", "rest", "--report-dir", str(tmp_path / "reports")]
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 250}, timeout=30).raise_for_status()
        proc = zohocrm(*args)
        pending = state.with_name("state.pending")
        wait_for(lambda: sent_without_answer(pending) or proc.poll() is not None, "an insert journaled")
        calls = b.stats()["latency_calls"]
        wait_for(lambda: b.stats()["latency_calls"] > calls or proc.poll() is not None, "an insert on the wire")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        time.sleep(1.0)  # calls in flight land
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 0}, timeout=30).raise_for_status()

        again = zohocrm_run(*args)
        assert again.returncode == 1, again.stderr
        assert f"{len(taken)} rows were not written" in again.stderr, again.stderr
        lines = report_rows(the_report(tmp_path / "reports"))
        assert sorted(r["source_id"] for r in lines) == sorted(f"90{i}" for i in range(len(taken)))
        assert {r["code"] for r in lines} == {"DUPLICATE_DATA"}
        mine = [r for r in export(b, "Leads") if r.get("Company") != "ClashCo"]
        assert sorted(r["Email"] for r in mine if r["Email"] not in taken) == sorted(r["Email"] for r in rows)
