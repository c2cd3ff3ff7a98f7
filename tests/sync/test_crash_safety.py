"""SIGKILL at random points, then run again: the target equals the source, nothing lost, nothing twice.

The migration runs in a child process (``crash_child``) that is killed either
from its own progress hook after a random number of batches or by a timer at a
random moment (which also lands inside commits). The re-run happens here, as a
scheduled ``--incremental`` run would: modules whose state committed go on
incrementally, the others load again. Small pages make many kill points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connector.emulator import Emulator
from connector.sync import open_target, run

from .helpers import MODULES, assert_same, duckdb_table, mutate, source, truth

ROOT = Path(__file__).resolve().parents[2]
PAGE = ";PageSize=25"


def child(spec: dict, *, timer: float | None = None) -> int:
    """Run the child; with ``timer``, SIGKILL it that many seconds after it is ready. Its exit code."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.sync.crash_child", json.dumps(spec)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    if timer is not None:
        try:
            proc.wait(timeout=timer)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
    return int(proc.returncode)


def read(kind: str, where: Path, module: str, schema):
    if kind == "duckdb":
        return duckdb_table(str(where), module, schema)
    import pyarrow.parquet as pq

    path = where / f"{module}.parquet"
    return pq.read_table(path).select(schema.names).cast(schema) if path.exists() else schema.empty_table()


def rerun_and_check(emu: Emulator, kind: str, where: Path) -> None:
    src, tgt = source(emu), open_target(f"{kind}:{where}")
    try:
        result = run(src, tgt, incremental=True, refresh_formulas=True)
    finally:
        tgt.close()
    assert result.ok, result.as_rows()
    for m in MODULES:
        ts = src.session.catalog.table(m)
        assert_same(m, read(kind, where, m, ts.arrow_schema), truth(emu, ts))
    src.close()


KINDS = ["duckdb", "parquet"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_during_the_full_load_after_random_batches(kind, seed, tmp_path):
    rng = random.Random(seed)
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=300, seed=100 + seed) as emu:
        # About 25 batches of 25 rows: kill anywhere among them.
        spec = {"source": emu.connection_string + PAGE, "target": f"{kind}:{where}",
                "kill_after": rng.randint(1, 25)}
        assert child(spec) == -signal.SIGKILL
        rerun_and_check(emu, kind, where)


@pytest.mark.parametrize("kind", KINDS)
def test_killed_during_an_incremental_run(kind, tmp_path):
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=300, seed=7) as emu:
        src, tgt = source(emu), open_target(f"{kind}:{where}")
        assert run(src, tgt).ok
        tgt.close()
        src.close()
        for module in ("Accounts", "Contacts", "Leads"):
            mutate(emu, module, creates=5, updates=5, deletes=2, seed=3)
        emu.advance_clock(2)
        spec = {"source": emu.connection_string + PAGE, "target": f"{kind}:{where}", "incremental": True,
                "kill_after": 2}
        assert child(spec) == -signal.SIGKILL
        rerun_and_check(emu, kind, where)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [4, 5])
def test_killed_by_a_timer_at_a_random_moment(kind, seed, tmp_path):
    rng = random.Random(seed)
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=300, seed=200 + seed) as emu:
        spec = {"source": emu.connection_string + PAGE, "target": f"{kind}:{where}"}
        started = time.monotonic()
        child(spec, timer=rng.uniform(0.05, 1.2))
        # And once more, killed again, before the run that is allowed to finish.
        child(spec | {"incremental": True}, timer=rng.uniform(0.05, 0.8))
        assert time.monotonic() - started < 60
        rerun_and_check(emu, kind, where)


@pytest.mark.parametrize("seed", [8, 9])
def test_killed_while_loading_into_zoho_then_resumed_without_duplicates(seed, tmp_path):
    from connector.sync import migrate

    from .helpers import ALLOW
    from .roundtrip import clear_org
    from .test_zoho_target import check_copy

    rng = random.Random(seed)
    with Emulator(org="classic", records=200, seed=300 + seed) as a, Emulator(org="classic", records=0, seed=400 + seed) as b:
        clear_org(b)
        pq_dir, state = tmp_path / "pq", tmp_path / "state.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}").ok
        options = {"state_path": str(state), "write_api": "rest", "batch_rows": 40}
        spec = {"source": f"parquet:{pq_dir}", "target": b.connection_string + ALLOW, "options": options,
                "kill_after": rng.randint(2, 14)}
        assert child(spec) == -signal.SIGKILL
        child(spec | {"kill_after": None, "incremental": True}, timer=rng.uniform(0.2, 1.0))
        result = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, incremental=True, **options)
        assert result.ok, result.as_rows()
        check_copy(a, b, state, tmp_path, "resumed")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_concurrent_migration_killed_at_random_points_reruns_to_exactness(kind, seed, tmp_path):
    # Zoho's latency makes calls overlap: the next modules are read ahead while one is written, long COQL
    # reads go in id slices, files come down together. A kill anywhere in that, then the re-run: exact.
    rng = random.Random(seed)
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=400, seed=500 + seed, latency_ms=15) as emu:
        requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
        conn = emu.connection_string + ";MaxConcurrency=12"
        spec = {"source": conn, "target": f"{kind}:{where}", "kill_after": rng.randint(1, 12)}
        assert child(spec) == -signal.SIGKILL
        child({"source": conn + PAGE, "target": f"{kind}:{where}", "incremental": True},
              timer=rng.uniform(0.3, 2.5))
        seen = emu.stats()
        assert seen["concurrency"]["peak"] >= 2 and seen["rejected_429"] == 0  # it did run concurrently
        rerun_and_check(emu, kind, where)
