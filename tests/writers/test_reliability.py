"""Nothing lost, nothing doubled: lost answers, injected faults, crashes and resumed writes."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import ConfigError, StateError
from connector.writers import BulkWriter, RestWriter, WriteProgress, WriteReport, write
from connector.writers.report import COLUMNS, Entry

from .conftest import configure, exported, leads, marker, writable_session, write_calls


class Crash(Exception):
    """Stands in for the process dying between two batches."""


def crash_after(batches: int):
    seen = []

    def progress(p: WriteProgress) -> None:
        seen.append(p)
        if len(seen) == batches:
            raise Crash(f"stopped after {batches} batches")

    return progress


def assert_exactly(z, tag, n, report):
    got = exported(z, "Leads", tag)
    assert sorted(r["Email"] for r in got) == sorted(f"{tag}.{i}@writers.test" for i in range(n))
    by_id = {r["id"]: r for r in got}
    for e in report.table.to_pylist():  # every row points at the record it created
        assert by_id[e["record_id"]]["Last_Name"] == f"{tag}-{e['row']}"


@pytest.mark.parametrize(("kinds", "rate", "keyed"), [
    (["drop_after"], 0.3, True),
    (["drop_after"], 0.3, False),
    (["drop_after", "500", "502", "drop", "429", "error200"], 0.1, True),
])
def test_lost_answers_never_duplicate_inserts(fresh, kinds, rate, keyed):
    emu, session, z = fresh(seed=7)
    session.catalog.table("Leads")  # metadata first: the faults are for the writes
    tag = marker()
    rows = leads(tag, 600)
    if not keyed:  # no unique field to look rows up by: they are recognised by every value written
        rows = [{k: v for k, v in r.items() if k != "Email"} | {"City": f"c{i % 5}"} for i, r in enumerate(rows)]
    configure(emu, fault_rate=rate, fault_kinds=kinds)
    report = RestWriter(session, batch_size=20).write("Leads", rows)
    configure(emu, fault_rate=0.0)
    assert report.summary() == {"inserted": 600, "total": 600}
    assert len(set(report.record_ids())) == 600
    faults = emu.stats()["faults_injected"]
    assert sum(faults.values()) > 0 and (faults.get("drop_after", 0) > 0 or rate < 0.3)
    got = {r["id"]: r for r in z.export("Leads") if r.get("Company") == tag}
    assert set(got) == set(report.record_ids())
    for e in report.table.to_pylist():
        assert got[e["record_id"]]["Last_Name"] == f"{tag}-{e['row']}"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_after_a_crash_writes_exactly_the_input(fresh, tmp_path, suffix):
    emu, session, z = fresh()
    tag = marker()
    rows = leads(tag, 230)
    rows[7]["Lead_Status"] = "Hot"  # fails both times: the input is wrong
    path = tmp_path / f"leads{suffix}"
    with pytest.raises(Crash):
        RestWriter(session, batch_size=20, concurrency=2).write("Leads", rows, report_path=path,
                                                                progress=crash_after(3))
    partial = WriteReport.read(path)
    assert len(partial) == 230 and partial.summary()["unprocessed"] > 0
    written = len(exported(z, "Leads", tag))
    assert written == partial.summary()["inserted"]
    calls_before = write_calls(emu)["insert"]

    report = RestWriter(session, batch_size=20).write("Leads", rows, resume_from=path)
    assert report.summary() == {"inserted": 229, "failed": 1, "total": 230}
    assert write_calls(emu)["insert"] - calls_before == -(-(229 - written) // 20)  # only what was left
    assert WriteReport.read(path).summary() == report.summary()
    rows[7]["Lead_Status"] = "Contacted"  # fix the input, resume again: only that row is sent
    final = RestWriter(session).write("Leads", rows, resume_from=path)
    assert final.summary() == {"inserted": 230, "total": 230}
    assert_exactly(z, tag, 230, final)


def test_rows_sent_just_before_a_kill_are_found_not_sent_again(fresh, tmp_path):
    """A SIGKILL between sending a batch and recording its answer leaves the rows 'unknown' in the journal."""
    emu, session, z = fresh()
    tag = marker()
    rows = leads(tag, 80)
    sent_at = datetime.now(UTC) - timedelta(seconds=1)
    landed = z.post("/Leads", json={"data": rows[:40], "trigger": []}).json()["data"]
    path = tmp_path / "leads.csv"
    with open(path, "w", newline="") as fh:  # what the journal looks like after the kill
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(Entry(i, "unknown", at=sent_at).csv_row() for i in range(40))
        fh.write("41,,,unkno")  # the torn last line of a journal written while dying
    report = RestWriter(session).write("Leads", rows, key="Email", resume_from=path)
    assert report.summary() == {"inserted": 80, "total": 80}
    assert report.record_ids()[:40] == [d["details"]["id"] for d in landed]
    assert_exactly(z, tag, 80, report)


def test_an_unknown_row_that_never_landed_is_sent(fresh, tmp_path):
    emu, session, z = fresh()
    tag = marker()
    path = tmp_path / "leads.csv"
    WriteReport.from_entries([Entry(0, "unknown"), Entry(1, "inserted", record_id="1")]).write_results(path)
    rows = leads(tag, 3)
    report = RestWriter(session).write("Leads", rows, resume_from=path)
    assert report.table.column("status").to_pylist() == ["inserted"] * 3
    assert report.record_ids()[1] == "1"  # done before: not touched
    assert sorted(r["Last_Name"] for r in exported(z, "Leads", tag)) == [f"{tag}-0", f"{tag}-2"]


def test_a_resume_from_another_input_is_refused(session, tmp_path):
    path = tmp_path / "r.csv"
    WriteReport.from_entries([Entry(5, "inserted")]).write_results(path)
    with pytest.raises(Exception, match="same input"):
        RestWriter(session).write("Leads", leads(marker(), 3), resume_from=path)


def test_deletes_whose_answer_was_lost_are_confirmed_in_the_recycle_bin(fresh):
    emu, session, z = fresh(seed=3)
    tag = marker()
    ids = RestWriter(session).write("Leads", leads(tag, 200)).record_ids()
    configure(emu, fault_rate=0.3, fault_kinds=["drop_after"])
    report = RestWriter(session, batch_size=10).write("Leads", [{"id": i} for i in ids], operation="delete")
    configure(emu, fault_rate=0.0)
    assert emu.stats()["faults_injected"].get("drop_after", 0) > 0
    assert report.summary() == {"deleted": 200, "total": 200}
    assert any("recycle bin" in (m or "") for m in report.table.column("message").to_pylist())
    assert exported(z, "Leads", tag) == []



@pytest.mark.parametrize("key", ["Email", None])
def test_bulk_jobs_whose_answers_were_lost_end_with_exactly_the_input(fresh, tmp_path, key):
    emu, session, z = fresh(seed=1)
    session.catalog.table("Leads")
    session.org()
    tag = marker()
    path = tmp_path / "bulk.csv"
    configure(emu, fault_rate=0.3, fault_kinds=["drop_after"])
    report = BulkWriter(session, max_rows=20).write("Leads", leads(tag, 100), key=key, report_path=path)
    configure(emu, fault_rate=0.0)
    assert emu.stats()["faults_injected"].get("drop_after", 0) > 0
    assert set(report.summary()) <= {"inserted", "unknown", "total"}
    if not report.ok:  # a job whose creation went unanswered: its rows are looked up on resume
        report = BulkWriter(session, max_rows=20).write("Leads", leads(tag, 100), key=key, resume_from=path)
    assert report.summary() == {"inserted": 100, "total": 100}
    assert_exactly(z, tag, 100, report)


def test_a_dry_run_never_rewrites_the_report_it_resumes_from(session, tmp_path):
    path = tmp_path / "r.csv"
    WriteReport.from_entries([Entry(0, "unknown"), Entry(1, "failed")]).write_results(path)
    before = path.read_bytes()
    report = RestWriter(session).write("Leads", leads(marker(), 2), resume_from=path, dry_run=True)
    assert report.summary() == {"would_insert": 2, "total": 2} and path.read_bytes() == before
    with pytest.raises(ConfigError, match="dry run"):
        RestWriter(session).write("Leads", leads(marker(), 2), resume_from=path, report_path=path, dry_run=True)


def test_upserted_rows_without_a_key_are_not_doubled_by_lost_answers(fresh):
    emu, session, z = fresh(seed=5)
    tag = marker()
    existing = RestWriter(session).write("Leads", leads(tag, 100)).record_ids()
    rows = [{**r, "City": "Upserted"} for r in leads(tag, 100)]
    rows += [{"Last_Name": f"{tag}-{i}", "Company": tag, "City": f"k{i}"} for i in range(100, 200)]  # no Email
    configure(emu, fault_rate=0.3, fault_kinds=["drop_after"])
    report = RestWriter(session, batch_size=20).write("Leads", rows, operation="upsert", key="Email")
    configure(emu, fault_rate=0.0)
    assert emu.stats()["faults_injected"].get("drop_after", 0) > 0
    assert report.summary() == {"inserted": 100, "updated": 100, "total": 200}
    assert report.record_ids()[:100] == existing
    got = {r["id"]: r for r in exported(z, "Leads", tag)}
    assert len(got) == 200 and set(got) == set(report.record_ids())
    assert all(got[e["record_id"]]["Last_Name"] == f"{tag}-{e['row']}" for e in report.table.to_pylist())


def _journal(path, rows_at):
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(Entry(i, "unknown", at=at).csv_row() for i, at in rows_at)


def test_a_resent_row_refused_as_duplicate_is_given_the_named_record_only_when_it_is_ours(fresh, tmp_path):
    """A journal kept by a clock an hour fast: the lookup window misses what landed, the re-send is refused
    as DUPLICATE_DATA naming the records. Ours (same values, our user, just created) are adopted; a record
    someone made long before with the same values, or one with the same Email but other values, is not."""
    emu, session, z = fresh()
    tag = marker()
    rows = leads(tag, 50)
    landed = z.post("/Leads", json={"data": rows[:30], "trigger": []}).json()["data"]
    old = next(r for r in z.export("Leads") if r.get("Email") and r.get("Company"))
    rows[30] = {"Last_Name": old["Last_Name"], "Email": old["Email"], "Company": old["Company"]}
    other = {"Last_Name": "Someone else", "Email": rows[31]["Email"], "Company": tag}
    assert z.post("/Leads", json={"data": [other], "trigger": []}).status_code == 201
    path = tmp_path / "leads.csv"
    _journal(path, [(i, datetime.now(UTC) + timedelta(hours=1)) for i in range(32)])
    report = RestWriter(session).write("Leads", rows, resume_from=path)
    assert report.summary() == {"inserted": 48, "failed": 2, "total": 50}
    assert report.record_ids()[:30] == [d["details"]["id"] for d in landed]
    assert "duplicate" in report.table.column("message").to_pylist()[0]
    assert report.table.column("code").to_pylist()[30:32] == ["DUPLICATE_DATA", "DUPLICATE_DATA"]
    assert report.record_ids()[30:32] == [None, None]
    mine = [r for r in exported(z, "Leads", tag) if r["Last_Name"] != "Someone else"]
    assert sorted(r["id"] for r in mine) == sorted(i for i in report.record_ids() if i)


def test_rows_left_unknown_keep_their_send_time_so_a_resume_finds_them(fresh, tmp_path):
    """Answers lost on every call (the rows land), slowly: the report says 'unknown' with the time the rows
    were sent, not the time we gave up, so the resumed write looks far enough back and inserts nothing twice."""
    emu, _, z = fresh(seed=9)
    from .conftest import writable_session

    session = writable_session(emu, ";MaxRetries=1")
    tag = marker()
    RestWriter(session).write("Leads", [{"Last_Name": "warm-up", "Company": "warm-up"}])  # metadata, clock
    rows = [{"Last_Name": f"{tag}-{i}", "Company": tag, "City": f"c{i}"} for i in range(5)]  # no key at all
    path = tmp_path / "leads.csv"
    configure(emu, fault_rate=1.0, fault_kinds=["drop_after"], latency_ms=2500)
    started = datetime.now(UTC)
    report = RestWriter(session).write("Leads", rows, report_path=path)
    configure(emu, fault_rate=0.0, latency_ms=0)
    assert set(report.table.column("status").to_pylist()) == {"unknown"}
    assert len(exported(z, "Leads", tag)) == 5  # they landed
    assert datetime.now(UTC) - started > timedelta(seconds=6)  # gave up long after sending ...
    assert all(at <= started + timedelta(seconds=4) for at in report.table.column("at").to_pylist())  # ... kept
    resumed = RestWriter(session).write("Leads", rows, resume_from=path)
    assert resumed.summary() == {"inserted": 5, "total": 5}
    assert sorted(r["Last_Name"] for r in exported(z, "Leads", tag)) == sorted(r["Last_Name"] for r in rows)


def test_an_unknown_row_is_not_given_a_later_record_that_only_shares_its_name(fresh, tmp_path):
    """Deals are recognised by Deal_Name, their duplicate-check field, which is not unique: a deal another
    batch created since this row was sent, with the same name but other values, is not this row's. (The
    50k whole-org round trip found 95 pairs of source deals that had become one deal this way.)"""
    emu, session, z = fresh()
    name = f"{marker()} renewal"
    row = {"Deal_Name": name, "Stage": "Qualification", "Amount": 100.0, "Closing_Date": "2026-01-01"}
    sent_at = datetime.now(UTC) - timedelta(seconds=1)
    later = z.post("/Deals", json={"data": [{**row, "Amount": 999.0}], "trigger": []}).json()["data"][0]
    path = tmp_path / "deals.csv"
    _journal(path, [(0, sent_at)])  # sent, answer lost, never landed
    report = RestWriter(session).write("Deals", [row], resume_from=path)
    assert report.summary() == {"inserted": 1, "total": 1}
    assert report.record_ids()[0] != later["details"]["id"]
    amounts = sorted(r["Amount"] for r in z.export("Deals") if r["Deal_Name"] == name)
    assert amounts == [100.0, 999.0]


@pytest.mark.parametrize("clock_hours", [0, 1])
def test_tagged_rows_whose_answer_was_lost_are_recognised(fresh, tmp_path, clock_hours):
    """Rows that carry tags landed, their answers lost. Tag is a field only the records API answers
    (COQL refuses it) and Zoho reads a tag back with its id: the rows are recognised by their other
    values, by the COQL lookup (journal on time) or from the DUPLICATE_DATA answer of the re-send
    (journal an hour fast, the lookup window misses them), and nothing is inserted twice."""
    emu, session, z = fresh()
    tag = marker()
    rows = [{"Account_Name": f"{tag} {i}", "Phone": f"555-01{i:02d}", "Tag": [{"name": f"t{i % 2}"}]}
            for i in range(6)]
    landed = z.post("/Accounts", json={"data": rows, "trigger": []}).json()["data"]
    path = tmp_path / "accounts.csv"
    _journal(path, [(i, datetime.now(UTC) + timedelta(hours=clock_hours)) for i in range(len(rows))])
    report = RestWriter(session).write("Accounts", rows, resume_from=path)
    assert report.summary() == {"inserted": 6, "total": 6}, report.table.to_pylist()
    assert report.record_ids() == [d["details"]["id"] for d in landed]
    assert sum(1 for r in z.export("Accounts") if str(r.get("Account_Name", "")).startswith(tag)) == 6


def test_a_write_on_a_report_another_process_holds_is_refused_and_sends_nothing(fresh, tmp_path):
    """The same command started twice: the second would send the rows the first has not yet marked."""
    emu, session, z = fresh()
    tag, path = marker(), tmp_path / "leads.parquet"
    other = subprocess.Popen([sys.executable, "-c", "import sys; from filelock import FileLock; "
                              "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
                              "sys.stdin.read()", f"{path}.lock"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        before = write_calls(emu).get("insert", 0)
        with pytest.raises(StateError, match="another write is using the report") as info:
            RestWriter(session).write("Leads", leads(tag, 5), report_path=path)
        assert "resume" in (info.value.hint or "")
        assert write_calls(emu).get("insert", 0) == before and exported(z, "Leads", tag) == []
    finally:
        other.communicate("")  # the other write ends: its hold goes with its process
    report = RestWriter(session).write("Leads", leads(tag, 5), report_path=path)
    assert report.summary() == {"inserted": 5, "total": 5}
    assert_exactly(z, tag, 5, report)


def test_two_attempts_on_one_report_take_turns_and_write_every_row_once(fresh, tmp_path):
    """A Spark task's speculative copy, or a cancelled attempt's worker still writing when the task runs
    again: the later attempt waits for the earlier to let go of the report, then resumes from all it
    recorded, and sends nothing it sent."""
    emu, _, z = fresh(latency_ms=150)
    tag, path = marker(), tmp_path / "part-00000.parquet"
    rows = leads(tag, 3000)  # thirty insert calls, two at a time: fifteen waves
    first_sending, results = threading.Event(), {}
    before = write_calls(emu).get("insert", 0)

    def attempt(name: str, progress=None) -> None:
        with writable_session(emu, ";MaxConcurrency=2") as s:
            results[name] = write(s, "Leads", rows, api="rest", report_path=path, resume_if_there=True,
                                  report_wait_s=120, progress=progress)

    first = threading.Thread(target=attempt, args=("first", lambda p: first_sending.set()))
    first.start()
    try:
        assert first_sending.wait(60)  # the first attempt is part-way through its rows
        attempt("second")
    finally:
        first.join(120)
    assert write_calls(emu).get("insert", 0) - before == 30  # the second attempt sent nothing
    assert results["first"].summary() == {"inserted": 3000, "total": 3000}
    assert results["second"].summary() == {"inserted": 3000, "total": 3000}
    assert results["second"].record_ids() == results["first"].record_ids()
    assert_exactly(z, tag, 3000, results["second"])
