"""The whole org out of Zoho and into a fresh one: A -> parquet -> B (killed, 5% faults) -> DuckDB, compared.

Every module of the enterprise org travels: records with their lookups re-pointed, line items
inside their orders with the totals Zoho computes, notes on their new parents, tags,
attachments and file fields byte-exact, campaign members with their status and contact roles
on deals. The load into B is killed at random moments and runs through 5% faults (lost answers
included) before it is let finish; then B's own export (into DuckDB) must equal A's through the
id map — each record once, none lost, none twice. B starts as a new org does, with a few sample
records; they are deleted first (as Zoho's "delete sample data" does), since they share unique
values with A's first records.

The same round trip runs at 1,200 records here and at 50,000 with ``-m slow`` (and from
``benchmarks/roundtrip.py``, which writes its figures to ``benchmarks/results/roundtrip.json``).
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.session import ZohoSession
from tests.conftest import ZohoClient

from .cli_child import zohocrm, zohocrm_run
from .roundtrip import id_maps
from .whole_org_compare import Export, compare

SEED_A, SEED_B = 91, 92
CI_RECORDS, SCALE_RECORDS = 1_200, 50_000
#: the per-record tables checked as sets of (parent, file or link) rather than as records
CHILDREN = ("Attachments", "_Campaign_Members", "_Contact_Roles", "_Price_Book_Products")


def delete_samples(b: Emulator, modules: list[str]) -> None:
    """B's sample records gone (line items go with their orders; subform tables take no DELETE)."""
    z = ZohoClient(b)
    for module in modules:
        ids = [str(r["id"]) for r in b.admin("GET", f"export/{module}")["data"]]
        if not ids:
            continue
        r = z.delete(f"/{module}", params={"ids": ",".join(ids)})
        if r.status_code == 200:
            continue
        assert r.json().get("code") in ("INVALID_MODULE", "NOT_SUPPORTED", "MODULE_NOT_AVAILABLE"), (module, r.text)


def migrate_cli(source: str, target: str, timeout: float) -> dict[str, Any]:
    """One ``zohocrm migrate`` to the end, in a process of its own (the emulator keeps this one's CPU)."""
    done = zohocrm_run("migrate", "--source", source, "--target", target, "--json", timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    return {"rows": result["totals"]["rows_written"], "modules": len(result["modules"])}


def load_into_b(b: Emulator, a_out: Export, state: Path, scale: float) -> dict[str, Any]:
    """Kill the load three times at random moments under 5% faults, then let it finish.

    ``scale`` (records / 1,200) stretches the moments, so that at 50k the kills land across the
    load rather than all in its first module."""
    writable = [m for m in a_out.modules() if not m.startswith("_")]
    allow = ";AllowedOperations=read,insert,update,delete;AllowedModules=" + ",".join(writable)
    args = ["migrate", "--source", a_out.url, "--target", b.connection_string + allow, "--state", str(state)]
    rng = random.Random(SEED_B)
    b.admin("POST", "config", {"fault_rate": 0.05})
    statuses, kill_after = [], []
    for _ in range(3):
        proc = zohocrm(*args)
        kill_after.append(round(rng.uniform(1.0, 6.0) * scale, 1))
        time.sleep(kill_after[-1])
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        statuses.append(proc.returncode)
    for _ in range(3):  # through the faults to the end (a row a fault refused is retried next run)
        done = zohocrm_run(*args, timeout=900 * scale)
        statuses.append(done.returncode)
        if done.returncode == 0:
            break
    b.admin("POST", "config", {"fault_rate": 0.0})
    if statuses[-1] != 0:  # a fault refused rows in the last try too: one clean run settles them
        done = zohocrm_run(*args, timeout=900 * scale)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        statuses.append(done.returncode)
    # (A run that ended 0 loaded everything: another full run would only write every record again, and
    # could mend what the killed runs left wrong before the comparison sees it.)
    assert statuses[:3] == [-signal.SIGKILL] * 3, statuses
    return {"kills": 3, "kill_after_s": kill_after, "exit_statuses": statuses, "fault_rate": 0.05}


def measured(report: dict[str, Any], name: str, emu: Emulator | None, step: Callable[[], dict[str, Any]]) -> None:
    """Run one phase; its seconds, the credits it spent on ``emu`` and what it returned, into the report."""
    before = emu.admin("GET", "stats")["credits_used"] if emu else 0
    started = time.perf_counter()
    out = step()
    figures = {"seconds": round(time.perf_counter() - started, 1), **out}
    if emu:
        figures["credits"] = emu.admin("GET", "stats")["credits_used"] - before
    report.setdefault("phases", {})[name] = figures
    print(f"{name}: {figures}", flush=True)  # a long scale run shows where it is (pytest keeps it unless -s)


def round_trip(records: int, work: Path, report: dict[str, Any], a_dir: Path | None = None) -> None:
    """A (``records``) -> parquet -> B (killed 3x, 5% faults) -> DuckDB, compared; figures into ``report``
    as they come (a failing comparison leaves what was measured before it). ``a_dir``: A's export from
    an earlier run of the same size (A is generated from its seed, so it is the same org), not redone."""
    scale = max(1.0, records / CI_RECORDS)
    a_url, b_url, state = f"parquet:{a_dir or work / 'a'}", f"duckdb:{work / 'b.duckdb'}", work / "st.duckdb"
    report.update(records=records, seeds=[SEED_A, SEED_B])
    if a_dir is None:
        with Emulator(records=records, seed=SEED_A) as a:
            measured(report, "export_a", a, lambda: migrate_cli(a.connection_string, a_url, 900 * scale))
    a_out = Export(a_url)
    report["org_rows"] = {m: a_out.read(m).num_rows for m in a_out.modules()}
    with Emulator(records=0, seed=SEED_B) as b:
        record_modules = [m for m in a_out.modules() if not m.startswith("_") and m != "Attachments"]
        delete_samples(b, record_modules)
        samples = {m: {str(r["id"]) for r in b.admin("GET", f"export/{m}")["data"]} for m in record_modules}
        measured(report, "load_b", b, lambda: load_into_b(b, a_out, state, scale))
        measured(report, "export_b", b, lambda: migrate_cli(b.connection_string, b_url, 900 * scale))
        session = ZohoSession(b.connection_string)
        try:
            schemas = {m: session.catalog.table(m) for m in samples}
        finally:
            session.close()
    b_out = Export(b_url)
    try:
        measured(report, "compare", None, lambda: compare(a_out, b_out, id_maps(state), samples, schemas, report))
    finally:
        b_out.close()
    assert report["lost"] == 0 and report["duplicated"] == 0, report


@pytest.fixture(scope="module")
def ci_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    work, report = tmp_path_factory.mktemp("whole"), {}
    round_trip(CI_RECORDS, work, report)
    return work, report


def test_the_whole_org_arrives_once_with_kills_and_faults(ci_trip: tuple[Path, dict[str, Any]]) -> None:
    report = ci_trip[1]
    checked = report["checked"]
    assert checked["tags"] > 50 and checked["participants"] > 50 and checked["lines"] > 100, checked
    assert checked["attachments"] > 20 and checked["file_field_files"] > 20 and checked["totals"] > 100, checked
    assert checked["members"] > 20 and checked["roles"] > 5 and checked["prices"] > 5, checked
    assert checked["photos"] > 5, checked


@pytest.mark.slow
def test_the_whole_org_at_scale(tmp_path: Path) -> None:
    report: dict[str, Any] = {}
    round_trip(SCALE_RECORDS, tmp_path, report)
    assert sum(report["org_rows"].values()) >= SCALE_RECORDS, report["org_rows"]


def test_the_round_trip_is_not_vacuous(ci_trip: tuple[Path, dict[str, Any]]) -> None:
    # The org carries every kind of thing the round trip claims to move.
    org = Export(f"parquet:{ci_trip[0] / 'a'}")
    names = set(org.modules())
    assert {"Notes", "Quotes", "Quoted_Items", "Invoices", "Invoiced_Items", "Campaigns", "Calls", "Events",
            "Products", "Price_Books", "Projects", *CHILDREN} <= names
    files = [p for p in (ci_trip[0] / "a" / "_files").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(files) > 50
    tags = [t for t in org.read("Leads").column("Tag").to_pylist() if t]
    assert tags, json.dumps(org.read("Leads").schema.names)
