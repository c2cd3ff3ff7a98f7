"""Nothing a migration writes is readable by other users, whatever the umask of the process.

The library entry point (``connector.migrate``) runs in a child process with umask 000 —
the CLI sets 077 for itself, so only the library proves the files are made private by the
connector and not by luck. Everything under the output folder is checked: DuckDB target and
its WAL, Parquet/CSV files, manifest, schema sidecar and lock, the sync state, its pending
write batches (full record data) with their journals, and the per-row failure report — seen
while the runs write as well as after — and every folder the connector created.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from connector.emulator import Emulator

from .helpers import ALLOW

ROOT = Path(__file__).resolve().parents[2]


def run_child(spec: dict) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-m", "tests.sync.private_child", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_every_file_and_folder_a_migration_writes_is_private_under_umask_000(tmp_path: Path) -> None:
    out = tmp_path / "out"  # made by the connector, like every folder below it
    src = tmp_path / "in"
    src.mkdir()
    with open(src / "Leads.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "Last_Name", "Company", "Lead_Status"])
        w.writerows([str(7000 + i), f"Private {i}", "PrivCo", "Contacted"] for i in range(90))
        w.writerow(["7999", "Bad", "PrivCo", "Not a status"])  # refused: the failure report gets a line
    state = out / "zoho" / "sync" / "state.duckdb"
    with Emulator(records=200, seed=61) as a, Emulator(records=0, seed=62) as b:
        spec = {"watch": str(out), "runs": [
            {"source": a.connection_string, "target": f"duckdb:{out / 'duck' / 'db' / 'crm.duckdb'}"},
            {"source": a.connection_string, "target": f"parquet:{out / 'pq'}", "options": {"modules": ["Deals"]}},
            {"source": a.connection_string, "target": f"csv:{out / 'csv'}", "options": {"modules": ["Accounts"]}},
            {"source": f"csv:{src}", "target": b.connection_string + ALLOW,
             "options": {"modules": ["Leads"], "state_path": str(state), "write_api": "rest", "batch_rows": 20}},
        ]}
        seen = run_child(spec)
    failed = {k.split(":", 1)[1]: seen.pop(k) for k in [k for k in seen if k.startswith("failed:")]}
    assert sorted(failed.values()) == [0, 0, 0, 1]  # the bad row was refused, and reported
    modes = {Path(p).relative_to(out).as_posix(): (mode, folder) for p, (mode, folder) in seen.items()}
    # What this test is about was really written (and seen while it existed).
    for expected in ("duck/db/crm.duckdb", "duck/db/crm.duckdb.wal", "pq/Deals.parquet", "pq/_zohocrm_state.json",
                     "pq/.zohocrm.lock", "csv/Accounts.csv", "csv/_schema.json", "zoho/sync/state.duckdb",
                     "zoho/sync/state.pending", "zoho/sync/state.reports"):
        assert expected in modes, sorted(modes)
    assert any(n.startswith("zoho/sync/state.pending/Leads.") and n.endswith(".parquet") for n in modes)
    assert any(n.endswith(".report.csv") for n in modes)  # the pending batch's write journal
    assert any(n.startswith("zoho/sync/state.reports/report-") for n in modes)
    loose = {n: oct(mode) for n, (mode, folder) in modes.items() if mode != (0o700 if folder else 0o600)}
    assert not loose, loose
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o700)
