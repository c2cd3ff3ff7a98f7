"""An incremental sync reads the next modules' deletions and changes while one module is written.

Against an emulator that answers after a small latency, so calls sent together overlap and its
counters see them. The run with read-ahead must make exactly the serial run's calls (the same
endpoints, as many of each, the same credits) and leave the same target; nothing here times it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import requests

from connector.emulator import Emulator
from connector.sync import open_target, run
from connector.sync.source_zoho import ZohoSource

from .helpers import MODULES, assert_same, counted_sync, export, full_load, mutate, session, source, truth


def sync(emu: Emulator, folder: Path, max_concurrency: int) -> dict[str, Any]:
    """One incremental run into ``folder``; what the emulator counted for it."""
    return counted_sync(emu, folder, max_concurrency)


def loaded_then_changed(emu: Emulator, folder: Path, **change: int) -> Path:
    """``folder`` holding a full load of the org; then some Leads changed (``change``: mutate's counts and
    seed) and the clock moved on, so an incremental run has a delta to read."""
    full_load(emu, folder)
    mutate(emu, "Leads", **change)
    emu.advance_clock(2)
    return folder


def logged_sync(emu: Emulator, folder: Path, log: Path, latency_ms: float) -> list[dict[str, Any]]:
    """An incremental run into ``folder`` at ``latency_ms`` a call (long enough that what is asked together is
    asked before the first answer comes), every call in ``log``: the log's events, in order."""
    requests.post(f"{emu.origin}/__emulator/config", json={"latency_ms": latency_ms}, headers=emu.admin_headers(),
                  timeout=30).raise_for_status()
    src = ZohoSource(session(emu, f";MaxConcurrency=20;Logfile={log};Verbosity=3;LogFormat=json"))
    tgt = open_target(f"parquet:{folder}")
    try:
        result = run(src, tgt, incremental=True)
    finally:
        tgt.close()
        src.close()
    assert result.ok, result.as_rows()
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_an_incremental_sync_reads_ahead_with_the_serial_runs_calls_and_answer(tmp_path: Path) -> None:
    with Emulator(org="classic", records=600, seed=41, latency_ms=20) as emu:
        base = tmp_path / "base"
        src, tgt = source(emu), open_target(f"parquet:{base}")
        assert run(src, tgt).ok
        tgt.close()
        src.close()
        for i, module in enumerate(("Accounts", "Contacts", "Deals", "Leads", "Tasks", "Projects")):
            mutate(emu, module, creates=4, updates=12, deletes=3, seed=60 + i)
        emu.advance_clock(2)
        runs = {}
        for name, slots in (("serial", 1), ("ahead", 12), ("again", 12)):
            shutil.copytree(base, tmp_path / name)
            runs[name] = sync(emu, tmp_path / name, slots)
        serial, ahead, again = runs["serial"], runs["ahead"], runs["again"]
        # The modules' delta reads (COQL: heavy calls) overlapped; without read-ahead only other calls could.
        assert serial["peak"] == 1 and ahead["peak_heavy"] >= 2 and again["peak_heavy"] >= 2
        assert serial["rejected"] == ahead["rejected"] == again["rejected"] == 0
        # The same calls, endpoint by endpoint, in every run: reading ahead changes when, never what.
        assert ahead["calls"] == serial["calls"] == again["calls"]
        assert ahead["credits"] == serial["credits"] == again["credits"]
        # Each module's fields are asked once a run (the catalog keeps what polymorphic lookups need too).
        assert ahead["calls"]["list_fields"] == len(MODULES)
        assert ahead["rows"] == serial["rows"] > 0 and ahead["deleted"] == serial["deleted"] > 0
        check = source(emu)
        for m in MODULES:
            ts = check.session.catalog.table(m)
            want = truth(emu, ts)
            for name in ("serial", "ahead"):
                path = tmp_path / name / f"{m}.parquet"
                assert_same(m, pq.read_table(path).select(ts.arrow_schema.names).cast(ts.arrow_schema), want)
        check.close()


def asked_early(src: ZohoSource) -> None:
    """Until the counts and first list pages the source asked ahead of their reads (on its own threads) are in."""
    from concurrent.futures import wait

    wait([*src._counting.values(), *(page for *_, page in src._pages_ahead.values())])


def test_a_delta_s_count_and_deletion_log_are_asked_beside_the_metadata_and_only_once(tmp_path: Path) -> None:
    """What a module's delta asks first needs only the module list: an incremental run asks it while the modules'
    fields are on the wire (a round trip earlier), and its reads then use those answers instead of asking again."""
    from concurrent.futures import wait

    from connector.sync.runner import _ask_deltas_early

    with Emulator(org="classic", records=300, seed=43) as emu:
        folder = loaded_then_changed(emu, tmp_path / "out", creates=3, updates=5, deletes=2, seed=7)

        before = emu.stats()["calls"]
        src, tgt = ZohoSource(session(emu, ";MaxConcurrency=8")), open_target(f"parquet:{folder}")
        try:
            # a records-only run after a load that took the files: a module with files loads whole, so nothing
            # is asked early for it; one without files is read as a delta whatever the run says of files
            states = tgt.load_state()
            bare = {m for m, st in states.items() if st.has_files is False}
            assert bare and len(bare) < len(states), states  # this org has modules of both kinds
            # a module with columns only the list API returns (Projects) asks its delta's first page, not a count
            paged = {m for m, st in states.items() if st.list_fields}
            assert paged and not paged & bare, states
            asks = _ask_deltas_early(src, tgt, None, files=False)
            assert len(asks) == len(bare)
            wait(asks)
            asked_early(src)
            early = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            assert early["deleted_records"] == early["count_records"] == len(bare), early
            asks = _ask_deltas_early(src, tgt, None, files=True)
            assert len(asks) == len(tgt.load_state())
            wait(asks)
            asked_early(src)  # the counts and pages are asked on the source's own threads
            early = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            assert "list_fields" not in early  # asked with the module list alone
            assert early["deleted_records"] == early["count_records"] + len(paged) == len(MODULES), early
            assert early["list_records"] == len(paged), early
            result = run(src, tgt, incremental=True)
        finally:
            tgt.close()
            src.close()
        assert result.ok, result.as_rows()
        assert sum(m.rows_deleted for m in result.modules) == 2
        calls = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
        # not asked again; the pages were the whole of those modules' deltas
        assert calls["deleted_records"] == calls["count_records"] + len(paged) == len(MODULES), calls
        assert calls["list_records"] == len(paged), calls
        check = source(emu)
        ts = check.session.catalog.table("Leads")
        assert_same("Leads", pq.read_table(folder / "Leads.parquet").select(ts.arrow_schema.names)
                    .cast(ts.arrow_schema), truth(emu, ts))
        check.close()


def test_a_state_that_kept_the_read_apis_asks_a_delta_s_first_calls_without_the_module_list(tmp_path: Path) -> None:
    """The module list is a round trip every delta's count and deletion log waited for, only to learn which
    APIs serve the module; a state that kept them asks both at once, and an older state gains them once."""
    from concurrent.futures import wait

    from connector.schema.access import ALL_APIS
    from connector.sync.runner import _ask_deltas_early

    with Emulator(org="classic", records=300, seed=44) as emu:
        folder = loaded_then_changed(emu, tmp_path / "out", creates=3, updates=5, deletes=2, seed=8)
        manifest = folder / "_zohocrm_state.json"
        kept = {m: st.read_apis for m, st in open_target(f"parquet:{folder}").load_state().items()}
        assert set(kept) == set(MODULES) and set(kept.values()) == {ALL_APIS}, kept
        paged = {m for m, st in open_target(f"parquet:{folder}").load_state().items() if st.list_fields}
        # each has a deletion log; each is counted by COQL but those whose deltas' first pages are asked instead
        logged, counted = len(MODULES), len(MODULES) - len(paged)

        before = emu.stats()["calls"]
        src, tgt = ZohoSource(session(emu, ";MaxConcurrency=12")), open_target(f"parquet:{folder}")
        try:
            asks = _ask_deltas_early(src, tgt, None, files=True)
            wait(asks)
            asked_early(src)
            early = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            assert "list_modules" not in early, early  # nothing waited for the module list: it was never asked
            assert early["count_records"] == counted and early["deleted_records"] == logged, early
            assert early["list_records"] == len(paged), early
            result = run(src, tgt, incremental=True)
        finally:
            tgt.close()
            src.close()
        assert result.ok, result.as_rows()
        calls = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
        assert calls["count_records"] == counted and calls["deleted_records"] == logged, calls  # not asked again
        assert sum(m.rows_deleted for m in result.modules) == 2
        check = source(emu)
        ts = check.session.catalog.table("Leads")
        assert_same("Leads", pq.read_table(folder / "Leads.parquet").select(ts.arrow_schema.names)
                    .cast(ts.arrow_schema), truth(emu, ts))
        check.close()

        # A state written before the read APIs were kept: its asks wait for the module list, and a run with
        # nothing new writes them once (the rest of the state as it was).
        data = json.loads(manifest.read_text())
        for entry in data["modules"].values():
            entry["state"].pop("read_apis", None)
        manifest.write_text(json.dumps(data))
        old = {m: st for m, st in open_target(f"parquet:{folder}").load_state().items()}
        assert all(st.read_apis is None for st in old.values())
        before = emu.stats()["calls"]
        src, tgt = ZohoSource(session(emu, ";MaxConcurrency=12")), open_target(f"parquet:{folder}")
        try:
            wait(_ask_deltas_early(src, tgt, None, files=True))
            assert emu.stats()["calls"]["list_modules"] == before.get("list_modules", 0) + 1
            assert run(src, tgt, incremental=True).ok
        finally:
            tgt.close()
            src.close()
        now = open_target(f"parquet:{folder}").load_state()
        assert {m: st.read_apis for m, st in now.items()} == kept
        assert {m: replace(st, read_apis=None) for m, st in now.items()} == old


def test_the_related_lists_that_decide_the_org_tables_go_out_once_the_module_list_is_in(tmp_path: Path) -> None:
    """An incremental run's module set waits for the related lists of the org tables' parents (whether Deals
    have contact roles, here: this org's do not), which need only the module list: asked with the fields of
    the modules the target holds, not after them, and not again when the run lists its modules."""
    with Emulator(org="classic", records=300, seed=45) as emu:
        folder = loaded_then_changed(emu, tmp_path / "out", creates=2, updates=3, seed=9)
        held = sorted(open_target(f"parquet:{folder}").load_state())
        before = emu.stats()["calls"]

        def asked() -> dict[str, int]:
            return {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}

        src = ZohoSource(session(emu, ";MaxConcurrency=12"))
        try:
            src.preload(held, every=True)
            early = asked()
            assert early["list_related_lists"] == 1 and early["list_modules"] == 1, early
            assert early["list_fields"] == len(held), early
            src.preload(held)  # modules given by name: no org table is read, so no related list is asked
            assert asked() == early
            assert sorted(src.modules_for_run()) == held
            assert asked()["list_related_lists"] == 1  # the run's module set took the answer already in
        finally:
            src.close()


def test_the_opening_asks_the_metadata_and_the_longest_reads_first_calls_together(tmp_path: Path) -> None:
    """The module list, the fields, the users and the related lists of a parent the target holds go out at once,
    beside the first calls of the modules whose reads take longest (files to download), as many as the slots
    hold with them; the other modules' first calls wait until that metadata is in, never ahead of it."""
    with Emulator(org="classic", records=300, seed=46) as emu:
        folder = loaded_then_changed(emu, tmp_path / "out", creates=2, updates=3, seed=10)
        states = open_target(f"parquet:{folder}").load_state()
        with_files = {m for m, st in states.items() if st.has_files}
        assert 0 < len(with_files) < len(states)
        with ZohoSource(session(emu, ";MaxConcurrency=20")) as src:
            share = src.opening_share(sorted(states))
        assert share == (20 - 4 - len(states)) // 2 == len(with_files)  # this org: the three with files
        events = logged_sync(emu, folder, tmp_path / "calls.jsonl", 500)
        listed = min(e["time"] for e in events if e.get("event") == "call" and e["path"].endswith("/settings/modules"))
        before = {e["path"].split("/crm/v8/")[1] for e in events if e.get("event") == "request" and e["time"] < listed}
        assert {"settings/modules", "settings/fields", "users", "settings/related_lists"} <= before, before
        early = {p.split("/")[0] for p in before if p.endswith("/deleted")}
        assert early == with_files, before  # the others' deletion logs went once the metadata was in
        # each counted, or its delta's first list page asked in place of the count (Projects: file uploads)
        paged = {m for m in with_files if states[m].list_fields}
        assert paged and {p.split("/")[0] for p in before if p.endswith("/actions/count")} == with_files - paged
        assert {p for p in before if p in paged} == paged, before


def test_a_full_load_of_leads_is_sized_by_every_lead_converted_ones_too() -> None:
    """Every reader reads converted leads, and ``/actions/count`` leaves them out: a read cut for that count
    would end in page after page of its last slice. A whole module is counted by COQL where that differs."""
    with Emulator(org="classic", records=600, seed=47) as emu:
        leads = export(emu, "Leads")
        assert any(r.get("Converted__s") for r in leads)  # the org has converted leads
        src = ZohoSource(session(emu))
        try:
            assert src._record_count("Leads") == len(leads)
            assert src._record_count("Contacts") == len(export(emu, "Contacts"))
            assert emu.stats()["calls"].get("count_records") == 1  # Contacts: the light count, as before
        finally:
            src.close()


def test_a_full_load_s_counts_go_out_beside_the_metadata_with_the_serial_run_s_calls(tmp_path: Path) -> None:
    """A full load sizes each module's read by its record count, which needs only the module list: the counts are
    asked with the modules' fields (a round trip earlier), as many as the connection's slots hold beside them,
    the reads use them (each asked once), and the run makes a serial run's calls and leaves the same files."""
    from concurrent.futures import wait

    with Emulator(org="classic", records=300, seed=47, latency_ms=20) as emu:
        src = ZohoSource(session(emu, ";MaxConcurrency=8"))
        try:
            names = src.modules_for_run()
            before = emu.stats()["calls"]
            for module in names:
                src.expect(module, None)
            wait(list(src._counting.values()))
            early = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            # the record modules; no field asked for it (Leads counted by COQL: converted leads too)
            assert early == {"count_records": len(MODULES) - 1, "coql_query": 1}, early
        finally:
            src.close()
        class Watched(ZohoSource):
            counting_when_prepared = -1

            def prepare(self, names: list[str], whole: bool = False) -> None:
                # the counts asked with the module's metadata (modules_for_run: the fields, the related lists)
                self.counting_when_prepared = len(self._counting)
                super().prepare(names, whole)

        runs, asked_first = {}, {}
        for name, slots in (("serial", 1), ("ahead", 20)):
            before = emu.stats()
            src, tgt = Watched(session(emu, f";MaxConcurrency={slots}")), open_target(f"parquet:{tmp_path / name}")
            try:
                assert run(src, tgt).ok
            finally:
                tgt.close()
                src.close()
            after = emu.stats()
            asked_first[name] = src.counting_when_prepared
            runs[name] = ({k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()
                           if v != before["calls"].get(k, 0)}, after["credits_used"] - before["credits_used"])
        # as many as the 20 slots hold beside the metadata (10 modules' fields, the users, Deals' related lists);
        # the two left are asked when their reads start; one slot: each in turn
        assert asked_first == {"serial": 0, "ahead": 20 - 12}, asked_first
        assert runs["ahead"] == runs["serial"], runs
        assert runs["ahead"][0]["count_records"] == len(MODULES) - 1  # Leads by COQL
        for m in MODULES:
            assert pq.read_table(tmp_path / "ahead" / f"{m}.parquet").num_rows == \
                pq.read_table(tmp_path / "serial" / f"{m}.parquet").num_rows


def test_a_cascade_check_lists_the_ids_beside_the_read_and_settles_as_in_turn(tmp_path: Path) -> None:
    """A linking module's rows go with the records they join, unlisted: its read ahead lists every id for the
    settling on a thread of its own, beside its delta read (which does not need them), and the settling at its
    turn finds what listing them first finds."""
    from concurrent.futures import Future
    from dataclasses import replace

    from connector.sync.delta import start_delta

    module = "Projects_X_Contacts"
    with Emulator(org="classic", records=400, seed=44) as emu:
        folder = tmp_path / "out"
        src, tgt = source(emu), open_target(f"parquet:{folder}")
        assert run(src, tgt).ok
        src.close()
        before = {r["id"] for r in export(emu, module)}
        mutate(emu, "Projects", deletes=3, seed=9)  # their links go with them, unlisted in the module's /deleted
        mutate(emu, "Contacts", deletes=6, seed=10)
        gone = before - {r["id"] for r in export(emu, module)}
        assert gone
        emu.advance_clock(2)
        # no deletion seen since: every id is compared (what a parent's deletions in this run also lead to)
        state = replace(tgt.load_state()[module], deleted_since=None)

        ahead_src, turn_src = source(emu), source(emu)
        try:
            ahead, rows = start_delta(ahead_src, None, module, state, True)
            assert isinstance(ahead.source_ids, Future)  # listing beside the read
            read = [b for b in rows]
            settled = ahead.settle(tgt, module)
            in_turn, turn_rows = start_delta(turn_src, tgt, module, state, True)
            assert in_turn.source_ids is None  # settled before the read, in the caller's thread
            assert sorted(settled.deleted) == sorted(in_turn.deleted) and gone <= set(settled.deleted)
            assert settled.watermark == in_turn.watermark
            assert sum(b.num_rows for b in read) == sum(b.num_rows for b in turn_rows)
        finally:
            ahead_src.close()
            turn_src.close()
            tgt.close()


def test_modules_given_by_name_have_their_metadata_asked_beside_the_module_list(tmp_path: Path) -> None:
    """``--modules Leads Contacts``: their fields and the users go out with the module list (one round trip),
    and what the run then prepares is already there; a name that is not an api_name costs nothing more."""
    with Emulator(org="classic", records=300, seed=45) as emu:
        src = ZohoSource(session(emu, ";MaxConcurrency=8"))
        try:
            src.session.org()  # the access token first: its call is not the metadata's
            before = emu.stats()["calls"]
            src.preload(["Leads", "Contacts", "_Users", "deals"])
            asked = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            assert asked == {"list_modules": 1, "list_fields": 2, "users": 1}, asked
            names = [src.resolve_module(m) for m in ("Leads", "Contacts", "_Users", "deals")]
            src.prepare(names)
            after = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
            assert after == {"list_modules": 1, "list_fields": 3, "users": 1}, after  # Deals' fields alone, in turn
        finally:
            src.close()
        src, tgt = source(emu), open_target(f"parquet:{tmp_path / 'out'}")
        try:
            result = run(src, tgt, modules=["Leads", "Contacts"])
        finally:
            tgt.close()
            src.close()
        assert result.ok and result.rows_written > 0


def test_an_incremental_run_asks_the_fields_of_the_modules_it_holds_with_the_module_list(tmp_path: Path) -> None:
    """The modules a target holds are known from its state before the run asks Zoho anything: their fields go
    out with the module list (the same round trip), not after its answer, and are asked once as before."""
    with Emulator(org="classic", records=300, seed=47) as emu:
        folder = loaded_then_changed(emu, tmp_path / "out", creates=2, updates=4, deletes=1, seed=12)
        before = emu.stats()["calls"]
        # a call takes a second: the first round's 20 requests leave within it even when the test runs beside a
        # loaded machine's other work (at 400 ms, under a suite and a second process, two left after the answer)
        events = logged_sync(emu, folder, tmp_path / "calls.jsonl", 1000)
        listed = next(i for i, e in enumerate(events) if e.get("event") == "call"
                      and e["path"].endswith("/settings/modules"))  # the module list's answer
        asked = [i for i, e in enumerate(events) if e.get("event") == "request"
                 and e["path"].endswith("/settings/fields")]
        assert len(asked) == len(MODULES) and max(asked) < listed, (asked, listed)
        calls = {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
        assert calls["list_fields"] == len(MODULES) and calls["list_modules"] == 1, calls


def test_a_source_that_ran_before_counts_each_module_s_credits_from_this_run(tmp_path: Path) -> None:
    """One connection, two runs (the demo, a scheduler in one process): the second run's modules cost what
    the same run on a fresh connection costs, not everything since the connection opened."""
    with Emulator(org="classic", records=300, seed=46) as emu:
        src = source(emu)
        try:
            tgt = open_target(f"parquet:{tmp_path / 'a'}")
            assert run(src, tgt).ok
            tgt.close()
            shutil.copytree(tmp_path / "a", tmp_path / "b")
            mutate(emu, "Leads", creates=2, updates=6, deletes=1, seed=11)
            emu.advance_clock(2)
            tgt = open_target(f"parquet:{tmp_path / 'a'}")
            again = run(src, tgt, incremental=True)
            tgt.close()
        finally:
            src.close()
        fresh_src, tgt = source(emu), open_target(f"parquet:{tmp_path / 'b'}")
        try:
            fresh = run(fresh_src, tgt, incremental=True)
        finally:
            tgt.close()
            fresh_src.close()
    assert again.ok and fresh.ok
    per_module = {m.module: m.credits for m in again.modules}
    assert per_module == {m.module: m.credits for m in fresh.modules}, (again.as_rows(), fresh.as_rows())
    assert 0 < sum(per_module.values()) <= again.credits


def test_a_count_asked_ahead_after_its_read_counted_is_not_asked_again() -> None:
    """An ask ahead slowed on its way (a loaded machine) can come after the read it was for has counted by
    itself: it asks nothing then, or the count would be paid twice and taken by no read."""
    with Emulator(org="classic", records=200, seed=47) as emu:
        src = source(emu)
        try:
            since = datetime(2020, 1, 1, tzinfo=UTC)
            criteria = src._delta_criteria(since)
            before = emu.stats()["calls"].get("count_records", 0)
            assert src._record_count("Leads", criteria) is not None  # the read, with nothing asked ahead
            src.expect("Leads", since)  # the ask ahead, late
            src.expect("Contacts", since)  # one in time still goes out
            assert src._record_count("Contacts", criteria) is not None
            src._counter.shutdown(wait=True)  # a late ask, had it gone out, has landed
            assert emu.stats()["calls"]["count_records"] - before == 2
        finally:
            src.close()


def _projects_delta(emu: Emulator, folder: Path, slots: int = 12) -> tuple[dict[str, int], list[str]]:
    """An incremental run of Projects into ``folder``: its calls by kind, and how its read API was chosen."""
    import logging

    before = emu.stats()["calls"]
    said: list[str] = []

    class Said(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Projects: reading with"):
                said.append(record.getMessage())

    handler = Said(logging.INFO)
    logging.getLogger("connector.sync").addHandler(handler)
    old_level = logging.getLogger("connector.sync").level
    logging.getLogger("connector.sync").setLevel(logging.INFO)
    src, tgt = ZohoSource(session(emu, f";MaxConcurrency={slots}")), open_target(f"parquet:{folder}")
    try:
        result = run(src, tgt, modules=["Projects"], incremental=True)
    finally:
        tgt.close()
        src.close()
        logging.getLogger("connector.sync").removeHandler(handler)
        logging.getLogger("connector.sync").setLevel(old_level)
    assert result.ok and result.modules[0].mode == "incremental", result.as_rows()
    check = source(emu)
    ts = check.session.catalog.table("Projects")
    got = pq.read_table(folder / "Projects.parquet").select(ts.arrow_schema.names).cast(ts.arrow_schema)
    assert_same("Projects", got, truth(emu, ts))
    check.close()
    return {k: v - before.get(k, 0) for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}, said


def test_a_delta_s_first_page_asked_with_fields_the_module_no_longer_has_is_not_used(tmp_path: Path) -> None:
    """The first list page of a module whose small delta the list API reads is asked before this run knows the
    module's fields, with those its state kept. Where they are not the ones the read asks (the module's fields
    changed since), the page is a credit spent and nothing more: the read asks its own, the answer is exact;
    where Zoho refuses it (a field deleted since), the read goes on as without it; where the state kept none (written before they were), the delta is counted first, as before; and a run
    reading in turn (one slot) asks what one reading ahead does."""
    with Emulator(org="classic", records=300, seed=48) as emu:
        folder = tmp_path / "out"
        full_load(emu, folder)
        manifest = folder / "_zohocrm_state.json"
        kept = json.loads(manifest.read_text())["modules"]["Projects"]["state"]["list_fields"]
        assert "Name" in kept and len(kept) <= 50, kept

        def change(seed: int, **state: Any) -> None:
            mutate(emu, "Projects", creates=2, updates=6, seed=seed)
            emu.advance_clock(2)
            data = json.loads(manifest.read_text())
            data["modules"]["Projects"]["state"].update(state)
            for key, value in state.items():
                if value is None:
                    data["modules"]["Projects"]["state"].pop(key)
            manifest.write_text(json.dumps(data))

        change(60)
        calls, said = _projects_delta(emu, folder)
        assert calls["list_records"] == 1 and "count_records" not in calls, calls
        assert said and "first list page" in said[0], said

        change(61, list_fields=[f for f in kept if f != "Name"])  # as if Name were new since the last run
        calls, said = _projects_delta(emu, folder)
        # the page asked early, then the read's own (its first page by the fields it asks)
        assert calls["list_records"] == 2 and "count_records" not in calls, calls
        assert json.loads(manifest.read_text())["modules"]["Projects"]["state"]["list_fields"] == kept

        change(65, list_fields=[*kept[:-1], "Gone_Since"])  # a field deleted since: Zoho refuses the page
        calls, said = _projects_delta(emu, folder)
        assert calls["count_records"] == 1 and calls["list_records"] >= 1, calls  # counted, then read as before
        assert said and "first list page" not in said[0], said

        change(62, list_fields=None)  # a state from before the fields were kept: counted, then read
        calls, said = _projects_delta(emu, folder)
        assert calls["list_records"] == 1 and calls["count_records"] == 1, calls
        assert said and "first list page" not in said[0], said
        assert json.loads(manifest.read_text())["modules"]["Projects"]["state"]["list_fields"] == kept

        change(63)
        ahead, _ = _projects_delta(emu, folder)
        change(64)
        serial, _ = _projects_delta(emu, folder, slots=1)
        for calls in (serial, ahead):
            calls.pop("download_field_file", None)  # the files of the rows each change happened to touch
        assert serial == ahead and "count_records" not in serial, (serial, ahead)
