"""The REST writer against the emulator over HTTP: every operation, bad rows, permissions, triggers, dry runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from connector.emulator import schema
from connector.errors import PermissionDenied, PlanningError
from connector.readers import RestReader
from connector.session import ZohoSession
from connector.writers import RestWriter, WriteReport

from .conftest import exported, leads, marker, writable_session, write_calls

ADMIN = str(schema.ADMIN_USER.id)


def typed_leads(tag: str, n: int) -> pa.Table:
    """Leads as a reader would hand them over: Arrow types, lookups as <Field>_Id, names alongside."""
    return pa.table({
        "Last_Name": [f"{tag}-{i}" for i in range(n)],
        "Email": [f"{tag}.{i}@writers.test" for i in range(n)],
        "Company": [tag] * n,
        "Lead_Status": ["Contacted"] * n,
        "Interests": [["CRM", "Email, SMS & Chat"]] * n,
        "No_of_Employees": pa.array(range(n), pa.int64()),
        "Visitor_Id": pa.array([123456789012345678] * n, pa.int64()),
        "Budget": pa.array([Decimal("1234.50")] * n, pa.decimal128(18, 2)),
        "Engagement_Ratio": [0.125] * n,
        "Email_Opt_Out": [True] * n,
        "Trial_Start": [date(2024, 5, 2)] * n,
        "Last_Webinar_At": pa.array([datetime(2024, 5, 2, 10, 15, 31, tzinfo=UTC)] * n, pa.timestamp("s", "UTC")),
        "Owner_Id": [ADMIN] * n,
        "Owner_Name": ["ignored on write"] * n,
    })


def test_insert_update_delete_round_trip(session, z):
    tag = marker()
    report = RestWriter(session).write("Leads", typed_leads(tag, 130))
    assert report.summary() == {"inserted": 130, "total": 130}
    assert report.table.column("row").to_pylist() == list(range(130))
    rows = {r["id"]: r for r in exported(z, "Leads", tag)}
    assert set(rows) == set(report.record_ids())
    first = rows[report.record_ids()[0]]
    assert first["Last_Name"] == f"{tag}-0" and first["Interests"] == ["CRM", "Email, SMS & Chat"]
    assert first["Visitor_Id"] == "123456789012345678" and first["Budget"] == 1234.5
    assert first["Trial_Start"] == "2024-05-02" and first["Last_Webinar_At"] == "2024-05-02T15:45:31+05:30"
    assert first["Email_Opt_Out"] is True and first["Owner"]["id"] == ADMIN

    ids = report.record_ids()
    update = pa.table({"id": ids, "City": [f"City {i}" for i in range(130)], "Interests": [None] * 130})
    updated = RestWriter(session).write("Leads", update, operation="update")
    assert updated.summary() == {"updated": 130, "total": 130}
    after = {r["id"]: r for r in exported(z, "Leads", tag)}
    assert all(after[rid]["City"] == f"City {i}" and after[rid]["Interests"] is None for i, rid in enumerate(ids))

    gone = RestWriter(session).write("Leads", pa.table({"id": ids + ["5843104130099999999"]}), operation="delete")
    assert gone.summary() == {"deleted": 130, "failed": 1, "total": 131}
    assert gone.failed_rows().column("code").to_pylist() == ["INVALID_DATA"]
    assert exported(z, "Leads", tag) == []


def test_upsert_by_key_updates_existing_rows_and_inserts_new_ones(session, z):
    tag = marker()
    first = RestWriter(session).write("Leads", leads(tag, 40))
    rows = [{**r, "City": "Upserted"} for r in leads(tag, 70)]
    report = RestWriter(session).write("Leads", rows, operation="upsert", key="Email")
    assert report.summary() == {"inserted": 30, "updated": 40, "total": 70}
    assert report.record_ids()[:40] == first.record_ids()
    assert report.table.column("key").to_pylist()[0] == f"{tag}.0@writers.test"
    got = exported(z, "Leads", tag)
    assert len(got) == 70 and {r["City"] for r in got} == {"Upserted"}


def test_bad_rows_are_reported_one_by_one_and_never_stop_the_others(session, z):
    tag = marker()
    rows = leads(tag, 8)
    rows[1]["Last_Name"] = None  # missing mandatory field
    rows[2]["Lead_Status"] = "Hot"  # not a picklist value
    rows[3]["Designation"] = "x" * 101  # longer than the field's 100
    rows[4]["No_of_Employees"] = "many"  # wrong type
    rows[5]["Referrer_Id"] = "5843104120099999999"  # no such contact: only Zoho knows
    rows[6]["Trial_Start"] = "02/05/2024"  # not yyyy-MM-dd
    report = RestWriter(session).write("Leads", rows)
    by_row = {e["row"]: e for e in report.table.to_pylist()}
    assert [by_row[i]["code"] for i in range(1, 7)] == ["MANDATORY_NOT_FOUND", "INVALID_DATA", "INVALID_DATA",
                                                        "INVALID_DATA", "INVALID_DATA", "INVALID_DATA"]
    assert "Lead_Status" in by_row[2]["message"] and "Hot" not in by_row[2]["message"]
    assert "maximum_length=100" in by_row[3]["message"]
    assert "Referrer_Id" in by_row[5]["message"]
    assert {by_row[0]["status"], by_row[7]["status"]} == {"inserted"}
    assert sorted(r["Last_Name"] for r in exported(z, "Leads", tag)) == [f"{tag}-0", f"{tag}-7"]


def test_unknown_columns_are_refused_before_any_data_call(session, org):
    before = write_calls(org)
    with pytest.raises(PlanningError, match="Lastname") as err:
        RestWriter(session).write("Leads", [{"Lastname": "x"}])
    assert "Last_Name" in str(err.value)
    with pytest.raises(PlanningError, match="id column"):
        RestWriter(session).write("Leads", [{"Last_Name": "x"}], operation="update")
    assert write_calls(org) == before


def test_permission_is_checked_before_any_call(fresh):
    emu, _, _ = fresh()
    before = emu.stats()
    read_only = ZohoSession(emu.connection_string)  # AllowedOperations defaults to read
    with pytest.raises(PermissionDenied, match="AllowedOperations"):
        RestWriter(read_only).write("Leads", [{"Last_Name": "x"}])
    other_module = writable_session(emu, allow=";AllowedOperations=read,insert;AllowedModules=Contacts")
    with pytest.raises(PermissionDenied, match="AllowedModules"):
        RestWriter(other_module).write("Leads", [{"Last_Name": "x"}], dry_run=True)
    after = emu.stats()
    assert after["calls_total"] == before["calls_total"] and after["tokens_minted"] == before["tokens_minted"]


@pytest.mark.parametrize("how", ["argument", "property"])
def test_dry_run_reports_what_would_happen_without_writing(fresh, how):
    emu, session, z = fresh()
    if how == "property":
        session = writable_session(emu, ";DryRun=true")
    tag = marker()
    rows = leads(tag, 5)
    rows[1]["Lead_Status"] = "Hot"
    rows[2]["Referrer_Id"] = "5843104120099999999"
    rows[3]["Owner_Id"] = str(schema.USERS[-1].id)  # a disabled user
    before = emu.stats()
    report = RestWriter(session).write("Leads", rows, dry_run=True if how == "argument" else None)
    assert report.dry_run and report.summary() == {"would_insert": 2, "failed": 3, "total": 5}
    assert report.failed_rows().column("row").to_pylist() == [1, 2, 3]
    existing = z.export("Leads")[0]["id"]
    upd = RestWriter(session).write("Leads", [{"id": existing, "City": "X"}, {"id": "5843104130099999999"}],
                                    operation="update", dry_run=True if how == "argument" else None)
    assert upd.table.column("status").to_pylist() == ["would_update", "failed"]
    after = emu.stats()
    assert write_calls(emu) == {} and after["records_written"] == before["records_written"]
    assert exported(z, "Leads", tag) == []


def test_no_automation_fires_unless_asked(fresh):
    emu, session, z = fresh()
    report = RestWriter(session).write("Leads", leads(marker(), 25))
    RestWriter(session).write("Leads", pa.table({"id": report.record_ids()[:5]}), operation="delete")
    assert emu.stats()["triggers"] == {}
    RestWriter(session).write("Leads", leads(marker(), 25), trigger=["workflow"])
    assert emu.stats()["triggers"] == {"Leads": {"insert": {"workflow": 25}}}


def test_reader_output_written_back_changes_no_value(session, org, z):
    """The readers' shape (read-only columns, _Name columns, every type) is what the writers take."""
    ctx = session.reader_context()
    table = pa.Table.from_batches(list(RestReader(ctx).batches("Contacts"))).slice(0, 40)
    before = {r["id"]: r for r in z.export("Contacts")}
    report = RestWriter(session).write("Contacts", table, operation="update")
    assert report.summary() == {"updated": 40, "total": 40}
    assert any("read-only" in w for w in report.warnings)
    after = {r["id"]: r for r in z.export("Contacts")}
    skip = {"Modified_Time", "Modified_By"}
    for rid in table.column("id").to_pylist():
        assert {k: v for k, v in after[rid].items() if k not in skip} == \
            {k: v for k, v in before[rid].items() if k not in skip}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_results_file_holds_the_report(session, tmp_path, suffix):
    path = tmp_path / f"report{suffix}"
    rows = leads(marker(), 3)
    rows[1]["Email"] = "not an email"
    report = RestWriter(session).write("Leads", rows, report_path=path)
    assert report.path == path and not (tmp_path / f"report{suffix}.journal.csv").exists()
    again = WriteReport.read(path)
    assert again.table.drop_columns(["at"]).equals(report.table.drop_columns(["at"]))
    assert again.summary() == {"inserted": 2, "failed": 1, "total": 3}


def test_nothing_to_write_and_unknown_triggers(session, org):
    before = write_calls(org)
    assert RestWriter(session).write("Leads", []).summary() == {"total": 0}
    assert RestWriter(session).write("Leads", pa.table({"id": pa.array([], pa.string())}),
                                     operation="delete").summary() == {"total": 0}
    with pytest.raises(PlanningError, match="trigger"):
        RestWriter(session).write("Leads", leads(marker(), 1), trigger=["workflows"])
    assert write_calls(org) == before
