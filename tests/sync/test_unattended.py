"""``zohocrm migrate`` off a terminal (cron, CI, a scheduler): progress lines, full-width output, ``--json``.

The real process runs with stdout and stderr as pipes, as a scheduler runs it: stderr gets a
plain progress line per module while it works (and one when it is done), stdout the summary
at its natural width (not cut at 80 columns) or, with ``--json``, one JSON document whose
exit status is the process's, for success, failed rows and a local error alike. Rows changed
in the second the run starts are read but left for the next run, and both outputs say so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from connector.emulator import Emulator

from .helpers import ALLOW, MODULES, export, mutate

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\w+): ([\d,]+) rows, ([\d,]+) rows/s, ([\d,]+) credits, ([\d,]+) s(, done)?$")


def zohocrm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", "migrate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"})


def test_progress_lines_while_it_runs_and_a_summary_that_is_not_cut(tmp_path: Path) -> None:
    with Emulator(org="classic", records=600, seed=95, latency_ms=60) as emu:
        # list pages of 20 rows: slow enough for progress lines (Auto would read these few rows by COQL at once)
        proc = zohocrm("--source", emu.connection_string + ";PageSize=20;APIType=REST", "--target",
                       f"duckdb:{tmp_path / 'c.duckdb'}",
                       "--progress-every", "0.2")
        assert proc.returncode == 0, proc.stderr
        lines = [m.groups() for line in proc.stderr.splitlines() if (m := LINE.match(line))]
        by_module: dict[str, list[tuple[str, ...]]] = {}
        for g in lines:
            by_module.setdefault(g[0], []).append(g)
        assert set(by_module) == set(MODULES)  # a line per module, each naming it
        assert all(rows[-1][5] == ", done" for rows in by_module.values())
        leads = by_module["Leads"]
        assert len(leads) >= 3, proc.stderr  # lines while it ran, not only at the end
        assert leads[-1][5] == ", done" and int(leads[-1][1].replace(",", "")) == len(export(emu, "Leads"))
        assert all(g[5] is None for g in leads[:-1])
        table = proc.stdout.splitlines()
        assert max(len(line) for line in table) > 80
        header = next(line for line in table if "module" in line)
        for col in ("module", "mode", "read", "written", "deleted", "failed", "deferred", "formulas", "credits",
                    "seconds", "error"):
            assert f" {col} " in header, header
        assert any("Deals_X_Competitors" in line for line in table)  # names in full, not "Deals…"
        assert "…" not in proc.stdout


def test_json_result_for_success_failed_rows_and_a_local_error(tmp_path: Path) -> None:
    with Emulator(org="classic", records=300, seed=96) as emu, Emulator(org="classic", records=0, seed=97) as b:
        db = tmp_path / "c.duckdb"
        proc = zohocrm("--source", emu.connection_string, "--target", f"duckdb:{db}", "--modules", "Leads,Deals",
                       "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["ok"] is True and doc["exit_status"] == 0 and doc["error"] is None and doc["interrupted"] is None
        assert b.connection_string not in proc.stdout and "OAuthClientSecret" not in proc.stdout
        mods = {m["module"]: m for m in doc["modules"]}
        assert set(mods) == {"Leads", "Deals"}
        for name, m in mods.items():
            assert m["rows_read"] == m["rows_written"] == len(export(emu, name))
            assert m["rows_failed"] == m["rows_deleted"] == m["rows_deferred"] == 0 and m["error"] is None
            assert m["credits"] > 0 and m["seconds"] >= 0 and m["report_path"] is None
        totals = doc["totals"]
        assert totals["rows_written"] == sum(m["rows_written"] for m in mods.values())
        assert totals["credits"] >= sum(m["credits"] for m in mods.values()) > 0

        # A row Zoho refuses: exit 1, said per module, with the per-row report beside the state.
        src = tmp_path / "in"
        src.mkdir()
        (src / "Leads.csv").write_text("id,Last_Name,Company,Lead_Status\n1,Fine,JsonCo,Contacted\n"
                                       "2,Refused,JsonCo,Not a status\n")
        state = tmp_path / "st" / "state.duckdb"
        proc = zohocrm("--source", f"csv:{src}", "--target", b.connection_string + ALLOW, "--state", str(state),
                       "--json")
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        leads = doc["modules"][0]
        assert doc["exit_status"] == 1 and doc["ok"] is False and doc["totals"]["rows_failed"] == 1
        assert leads["rows_written"] == 1 and leads["rows_failed"] == 1
        assert Path(leads["report_path"]).parent == tmp_path / "st" / "state.reports"
        assert "Refused" not in proc.stdout and Path(leads["report_path"]).read_text().count("\n") == 2

        # A local error before anything ran: the document still comes, with the cause and status 7.
        (tmp_path / "a-file").write_text("")
        proc = zohocrm("--source", emu.connection_string, "--target", f"parquet:{tmp_path / 'a-file'}", "--json")
        assert proc.returncode == 7
        doc = json.loads(proc.stdout)
        assert doc["exit_status"] == 7 and doc["error"]["type"] == "FileAccessError" and doc["modules"] == []
        assert "--target" in doc["error"]["hint"] and doc["source"].startswith("ZohoSource(http")


def test_rows_changed_in_the_second_the_run_starts_are_counted_as_deferred(tmp_path: Path) -> None:
    with Emulator(org="classic", records=300, seed=98) as emu:
        db = tmp_path / "c.duckdb"
        args = ["--source", emu.connection_string, "--target", f"duckdb:{db}", "--modules", "Leads", "--json"]
        assert zohocrm(*args).returncode == 0
        emu.advance_clock(5)
        with emu.frozen_clock():  # the changes and the next run's start share one second
            changed = mutate(emu, "Leads", creates=3, updates=4, seed=5)
            proc = zohocrm(*args, "--incremental")
        assert proc.returncode == 0, proc.stderr
        leads = json.loads(proc.stdout)["modules"][0]
        n = len(changed["created"]) + len(changed["updated"])
        assert n == 7 and leads["rows_deferred"] == n and leads["rows_written"] == 0
        assert f"Leads: {n:,} rows changed after the run started were read but left for the next run" in proc.stderr
        emu.advance_clock(2)
        leads = json.loads(zohocrm(*args, "--incremental").stdout)["modules"][0]
        assert leads["rows_written"] == n and leads["rows_deferred"] == 0


def test_each_progress_line_counts_its_own_module_s_credits(tmp_path: Path) -> None:
    """A module's calls are made ahead of its turn (read ahead, counts and deletion logs asked beside the
    metadata): its line says what they cost, the figure its row of the summary gives, not what the run spent
    while the line was the current one."""
    with Emulator(org="classic", records=600, seed=98, latency_ms=20) as emu:
        db = f"duckdb:{tmp_path / 'c.duckdb'}"
        assert zohocrm("--source", emu.connection_string, "--target", db).returncode == 0
        for i, module in enumerate(("Leads", "Contacts", "Deals")):
            mutate(emu, module, creates=3, updates=8, deletes=2, seed=40 + i)
        emu.advance_clock(2)
        proc = zohocrm("--source", emu.connection_string, "--target", db, "--incremental", "--json",
                       "--progress-every", "30")
        assert proc.returncode == 0, proc.stderr
        done = {g[0]: int(g[3].replace(",", "")) for line in proc.stderr.splitlines()
                if (m := LINE.match(line)) and (g := m.groups())[5] == ", done"}
        summary = {m["module"]: m["credits"] for m in json.loads(proc.stdout)["modules"]}
        assert done == summary and sum(summary.values()) > 0, (done, summary)
