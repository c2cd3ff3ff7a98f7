"""A real ``zohocrm migrate`` into Zoho, SIGKILLed mid-insert, the clock stepped by an hour, run again.

The killed run leaves an insert batch whose rows were sent without an answer
recorded. Between the kill and the re-run Zoho's clock moves by an hour (as
after an NTP correction on either side: only the difference between the two
clocks matters to the connector). The re-run must look those rows up rather
than send them twice, and finish with every source row in Zoho exactly once.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pyarrow.parquet as pq
import pytest
import requests

from connector.emulator import Emulator
from connector.sync import migrate

from .cli_child import sent_without_answer, wait_for, zohocrm, zohocrm_run
from .helpers import ALLOW, export
from .roundtrip import clear_org, id_maps


def fingerprint(row: dict) -> tuple:
    return tuple(str(row.get(k) or "") for k in ("Last_Name", "First_Name", "Email", "Company", "Phone"))


@pytest.mark.parametrize("step_s", [3600, -3600])
def test_a_killed_insert_resumes_after_the_clock_moves_an_hour(step_s, tmp_path):
    with Emulator(records=3000, seed=61) as a, Emulator(records=0, seed=62) as b:
        clear_org(b)
        src_dir, state = tmp_path / "pq", tmp_path / "state.duckdb"
        # records only: the subject is the insert batches, not the record photos that would follow them
        assert migrate(a.connection_string, f"parquet:{src_dir}", modules=["Leads"], files=False).ok
        source_rows = pq.read_table(src_dir / "Leads.parquet").to_pylist()
        args = ["migrate", "--source", f"parquet:{src_dir}", "--target", b.connection_string + ALLOW,
                "--modules", "Leads", "--state", str(state), "--write-api", "rest",
                "--report-dir", str(tmp_path / "reports")]
        # Slow answers, so the kill lands while insert calls are on the wire.
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 250}, timeout=30).raise_for_status()
        proc = zohocrm(*args)
        pending = state.with_name(state.stem + ".pending")
        wait_for(lambda: sent_without_answer(pending) or proc.poll() is not None, "an insert journaled")
        # Every call after that journal line is an insert: once one is inside Zoho, kill the client.
        calls = b.stats()["latency_calls"]
        wait_for(lambda: b.stats()["latency_calls"] > calls or proc.poll() is not None, "an insert on the wire")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, "the migration ended before it could be killed mid-insert"
        # The calls in flight still land on Zoho's side after their client died.
        count = [-1]

        def settled() -> bool:
            n = len(export(b, "Leads"))
            done, count[0] = n == count[0], n
            time.sleep(0.6)
            return done

        wait_for(settled, "the last inserts to land")
        assert 0 < count[0] < len(source_rows)
        # What the killed run left, as ``zohocrm state`` shows it: a batch to resume, nothing committed yet.
        shown = zohocrm_run("state", "show", "--json", "--state", str(state), "--target", b.connection_string)
        assert shown.returncode == 0, shown.stderr
        leads = {m["module"]: m for m in json.loads(shown.stdout)["modules"]}["Leads"]
        assert leads["pending_batches"] == 1 and not leads["loaded"]
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 0}, timeout=30).raise_for_status()
        b.advance_clock(step_s)  # Zoho's clock steps; ours does not (the same as ours stepping the other way)

        again = zohocrm(*args)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert not list(pending.glob("Leads.*"))  # nothing left to resume

        copied = export(b, "Leads")
        assert Counter(fingerprint(r) for r in copied) == Counter(fingerprint(r) for r in source_rows)
        pairs = id_maps(state)["Leads"]
        assert set(pairs) == {r["id"] for r in source_rows}
        assert sorted(pairs.values()) == sorted(r["id"] for r in copied)
