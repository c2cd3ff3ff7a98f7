"""The Bulk Write writer against the emulator: files, jobs, results mapped back onto input rows."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator.bulk_write import BulkWriteQueue
from connector.readers import RestReader
from connector.writers import BulkWriter, RestWriter, WriteReport, choose_writer, write
from connector.writers.base import pending_message
from connector.writers.bulk import bulk_credits, rest_credits
from connector.writers.report import Entry

from .conftest import exported, leads, marker, write_calls


def test_insert_is_split_into_files_and_results_map_back_to_rows(session, org, z):
    tag = marker()
    rows = leads(tag, 100, Trial_Start=date(2024, 2, 29), Interests=["CRM", "HR"],
                 Last_Webinar_At=datetime(2024, 5, 2, 10, 15, 31, tzinfo=UTC), Budget=10.25, GDPR_Consent=False)
    before = write_calls(org)
    writer = BulkWriter(session, max_rows=40)  # Zoho's limit is 25,000 rows per file; a small knob keeps it fast
    report = writer.write("Leads", rows)
    assert report.summary() == {"inserted": 100, "total": 100}
    assert len(writer.jobs) == 3
    after = write_calls(org)
    assert after["upload_file"] - before.get("upload_file", 0) == 3
    assert after["create_write_job"] - before.get("create_write_job", 0) == 3
    got = {r["id"]: r for r in exported(z, "Leads", tag)}
    for e in report.table.to_pylist():
        rec = got[e["record_id"]]
        assert rec["Last_Name"] == f"{tag}-{e['row']}"
        assert rec["Trial_Start"] == "2024-02-29" and rec["Interests"] == ["CRM", "HR"]
        assert rec["Last_Webinar_At"] == "2024-05-02T15:45:31+05:30" and rec["Budget"] == 10.25
        assert rec["GDPR_Consent"] is False


def test_update_and_upsert_through_bulk(session, z):
    tag = marker()
    ids = RestWriter(session).write("Leads", leads(tag, 30)).record_ids()
    upd = BulkWriter(session).write("Leads", pa.table({"id": ids[:10], "City": ["Bulkville"] * 10}),
                                    operation="update")
    assert upd.summary() == {"updated": 10, "total": 10} and upd.record_ids() == ids[:10]
    rows = [{**r, "State": "Upserted"} for r in leads(tag, 45)]
    ups = BulkWriter(session).write("Leads", rows, operation="upsert", key="Email")
    assert ups.summary() == {"inserted": 15, "updated": 30, "total": 45}
    assert ups.record_ids()[:30] == ids
    got = exported(z, "Leads", tag)
    assert len(got) == 45 and {r["State"] for r in got} == {"Upserted"}
    assert sum(r["City"] == "Bulkville" for r in got) == 10


def test_bad_rows_are_reported_and_the_rest_is_written(session, z):
    tag = marker()
    rows = leads(tag, 7)
    rows[1]["Last_Name"] = None
    rows[2]["Lead_Status"] = "Hot"
    rows[3]["Designation"] = "x" * 101
    rows[4]["Lead_Score"] = "high"
    rows[5]["Referrer_Id"] = "5843104120099999999"  # only Zoho knows it does not exist
    report = BulkWriter(session).write("Leads", rows)
    codes = report.table.column("code").to_pylist()
    assert codes[1:6] == ["MANDATORY_NOT_FOUND", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA"]
    assert "Referrer_Id" in report.table.column("message")[5].as_py()  # the caller's column, not Zoho's header
    assert report.table.column("status").to_pylist() == ["inserted"] + ["failed"] * 5 + ["inserted"]
    assert sorted(r["Last_Name"] for r in exported(z, "Leads", tag)) == [f"{tag}-0", f"{tag}-6"]


def test_insert_with_a_key_skips_rows_already_there(session, z):
    tag = marker()
    first = BulkWriter(session).write("Leads", leads(tag, 5))
    report = BulkWriter(session).write("Leads", leads(tag, 8), key="Email")
    assert report.table.column("status").to_pylist() == ["skipped"] * 5 + ["inserted"] * 3
    again = RestWriter(session).write("Leads", leads(tag, 8), key="Email")  # REST treats a key the same way
    assert again.table.column("status").to_pylist() == ["skipped"] * 8
    assert again.record_ids()[:5] == first.record_ids()
    assert len(exported(z, "Leads", tag)) == 8


def test_what_bulk_write_cannot_do_goes_through_rest(session, org, z):
    tag = marker()
    ids = BulkWriter(session).write("Leads", leads(tag, 4)).record_ids()
    jobs_before = write_calls(org)["create_write_job"]
    gone = BulkWriter(session).write("Leads", pa.table({"id": ids}), operation="delete")  # Bulk Write has no delete
    assert gone.summary() == {"deleted": 4, "total": 4}
    account = z.export("Accounts")[0]["id"]
    task = BulkWriter(session).write("Tasks", [{"Subject": tag, "What_Id_Id": account, "What_Id_Module": "Accounts"}])
    assert task.summary() == {"inserted": 1, "total": 1}  # polymorphic lookups need $se_module: REST only
    assert write_calls(org)["create_write_job"] == jobs_before
    assert exported(z, "Leads", tag) == []


def test_reader_output_written_back_through_bulk_changes_no_value(session, z):
    table = pa.Table.from_batches(list(RestReader(session.reader_context()).batches("Accounts"))).slice(0, 20)
    before = {r["id"]: r for r in z.export("Accounts")}
    report = BulkWriter(session).write("Accounts", table, operation="update")
    assert report.summary() == {"updated": 20, "total": 20}
    after = {r["id"]: r for r in z.export("Accounts")}
    skip = {"Modified_Time", "Modified_By"}
    for rid in table.column("id").to_pylist():
        assert {k: v for k, v in after[rid].items() if k not in skip} == \
            {k: v for k, v in before[rid].items() if k not in skip}


def test_dry_run_uploads_nothing(fresh):
    emu, session, z = fresh()
    rows = leads(marker(), 6)
    rows[0]["Lead_Status"] = "Hot"
    report = BulkWriter(session).write("Leads", rows, dry_run=True)
    assert report.summary() == {"would_insert": 5, "failed": 1, "total": 6}
    assert write_calls(emu) == {}


def killed_after_the_first_file(session, tag: str, path) -> None:
    """75 Leads in files of 30, the run killed as the first file's rows are reported."""

    def stop(progress):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        BulkWriter(session, max_rows=30).write("Leads", leads(tag, 75), report_path=path, progress=stop)


def assert_each_row_written_once(z, tag: str, report: WriteReport, n: int) -> None:
    got = {r["id"]: r["Last_Name"] for r in exported(z, "Leads", tag)}
    assert len(got) == n and all(got[e["record_id"]] == f"{tag}-{e['row']}" for e in report.table.to_pylist())


def test_resume_after_a_crash_between_files(fresh, tmp_path):
    emu, session, z = fresh()
    tag = marker()
    path = tmp_path / "bulk.parquet"

    killed_after_the_first_file(session, tag, path)
    # The second file's job was queued at Zoho while the first ran (pipelined): its rows are unknown, and
    # the resumed write looks them up rather than writing them twice; the third file was never sent.
    assert WriteReport.read(path).summary() == {"inserted": 30, "unknown": 30, "unprocessed": 15, "total": 75}
    report = BulkWriter(session, max_rows=30).write("Leads", leads(tag, 75), resume_from=path)
    assert report.summary() == {"inserted": 75, "total": 75}
    assert_each_row_written_once(z, tag, report, 75)


def test_a_resumed_write_waits_for_the_job_the_killed_run_left_at_zoho(fresh, tmp_path):
    emu, session, z = fresh()
    tag = marker()
    path = tmp_path / "bulk.parquet"
    # The second job's rows land only once someone asks Zoho about that job: until then it runs on.
    queue, asked = BulkWriteQueue.of(emu.app), threading.Event()
    work, get, started = queue.work, queue.get, []

    def slow_work(app, job):
        started.append(job.id)
        if len(started) == 2:
            asked.wait(15)
        work(app, job)

    def watched_get(app, job_id):
        if len(started) >= 2 and job_id == str(started[1]):
            asked.set()
        return get(app, job_id)

    queue.work, queue.get = slow_work, watched_get

    killed_after_the_first_file(session, tag, path)
    left = [e for e in WriteReport.read(path).table.to_pylist() if e["status"] == "unknown"]
    assert len(started) == 2 and len(left) == 30 and len(exported(z, "Leads", tag)) == 30
    # The journal names the job the rows went in, so the resumed write can wait for it.
    assert {(e["code"], e["message"]) for e in left} == {
        ("JOB_PENDING", f"bulk write job {started[1]} created; no result yet")}
    report = BulkWriter(session, max_rows=30).write("Leads", leads(tag, 75), resume_from=path)
    assert asked.is_set() and report.summary() == {"inserted": 75, "total": 75}
    assert len(started) == 3  # the left job's rows were found there, only the third file was sent
    assert_each_row_written_once(z, tag, report, 75)


def test_a_job_zoho_no_longer_knows_does_not_hold_the_resume_up(fresh, tmp_path):
    emu, session, z = fresh()
    tag = marker()
    path = tmp_path / "old.csv"
    # A report from long ago: its job's details have expired at Zoho (it answers RESOURCE_NOT_FOUND).
    sent = datetime.now(UTC)
    WriteReport.from_entries([Entry(i, "unknown", None, None, "JOB_PENDING", pending_message("999999"), sent)
                              for i in range(5)], module="Leads", operation="insert").write_results(path)
    report = BulkWriter(session).write("Leads", leads(tag, 5), resume_from=path)
    assert report.summary() == {"inserted": 5, "total": 5} and len(exported(z, "Leads", tag)) == 5


def test_the_next_file_is_uploaded_and_queued_while_the_previous_job_runs(fresh):
    emu, session, z = fresh(bulk_rows_per_s=60)  # a 30-row job takes half a second
    tag = marker()
    writer = BulkWriter(session, max_rows=30)
    report = writer.write("Leads", leads(tag, 90))
    assert report.summary() == {"inserted": 90, "total": 90} and len(writer.jobs) == 3
    jobs = sorted(emu.app.state["bulk_write"].jobs.values(), key=lambda j: j.id)
    # Each job was created before the one before it finished: Zoho had the next one as soon as it was free.
    assert all(b.created_at < a.finish_at for a, b in zip(jobs, jobs[1:], strict=False))
    assert all(b.started_at >= a.finish_at for a, b in zip(jobs, jobs[1:], strict=False))  # one at a time
    assert len(exported(z, "Leads", tag)) == 90


@pytest.mark.parametrize(("rows", "operation", "expected"), [
    (1, "insert", "rest"), (5_000, "insert", "rest"), (5_200, "upsert", "bulk"), (24_000, "update", "bulk"),
    (100_000, "delete", "rest"), (0, "insert", "rest"),
])
def test_choose_writer_picks_the_cheaper_api(session, rows, operation, expected):
    assert choose_writer(session, rows, operation).name == expected


@given(st.integers(min_value=0, max_value=2_000_000))
def test_the_chosen_writer_never_costs_more_credits(session, n):
    chosen = choose_writer(session, n, "insert").name
    cost = {"rest": rest_credits(n), "bulk": bulk_credits(n)}
    assert cost[chosen] <= min(cost.values())


def test_write_picks_rest_for_a_small_write(session, org, z):
    tag = marker()
    jobs_before = write_calls(org).get("create_write_job", 0)
    report = write(session, "Leads", leads(tag, 3))
    assert report.summary() == {"inserted": 3, "total": 3}
    assert write_calls(org).get("create_write_job", 0) == jobs_before
