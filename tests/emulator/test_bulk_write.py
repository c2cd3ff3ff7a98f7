"""Bulk Write over HTTP: upload, create job, status, result CSV; every error case; insert/update/upsert."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture
from tests.emulator.bulk_write_client import (
    UPLOAD_HEADERS,
    ZGID,
    create,
    err,
    file_id,
    job_body,
    run,
    upload,
    wait_job,
    zipped,
)

wz_org = org_fixture("One private org for the error cases of this module (they write nothing).", records=300, seed=5)
wz = client_fixture("wz_org")


LEADS_CSV = "Last_Name,Email,Company\nOne,one@bw.example,Acme\n"
LEADS_MAP = [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1},
             {"api_name": "Company", "index": 2}]


# -- upload ------------------------------------------------------------------------------------


def test_upload_answers_the_unwrapped_success_object(wz):
    r = upload(wz, LEADS_CSV)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["code"], body["message"]) == ("success", "FILE_UPLOAD_SUCCESS", "file uploaded.")
    assert body["details"]["file_id"].isdigit() and body["details"]["created_time"].endswith("+05:30")


@pytest.mark.parametrize("headers", [
    {"X-CRM-ORG": ZGID}, {"feature": "bulk-write"}, {"feature": "bulk-read", "X-CRM-ORG": ZGID},
    {"feature": "bulk-write", "X-CRM-ORG": str(schema.ORG.id)},  # the org id is not the zgid
])
def test_upload_header_errors(wz, headers):
    r = upload(wz, LEADS_CSV, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"
    assert "X-CRM-ORG" in r.json()["x-error"]


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"Last_Name\nSmith\n", 400, "INVALID_FILE_FORMAT"),  # not a zip
    (zipped({"a.csv": "Last_Name\nA\n", "b.csv": "Last_Name\nB\n"}), 400, "FILE_NOT_SUPPORTED"),
    (zipped({"notes.txt": "hello"}), 400, "FILE_NOT_SUPPORTED"),
    (zipped({}), 400, "FILE_NOT_SUPPORTED"),
    (zipped({"wide.csv": ",".join(f"c{i}" for i in range(201)) + "\n"}), 400, "HEADER_LIMIT_EXCEEDED"),
    (zipped({"long.csv": "Last_Name\n" + "x\n" * 25_001}), 400, "LIMIT_EXCEEDED"),
    (zipped({"big.csv": "Last_Name\n" + "x" * (25 * 1024 * 1024)}), 413, "FILE_TOO_LARGE"),
])
def test_upload_file_errors(wz, data, status, code):
    err(upload(wz, "", data=data), status, code)


def test_upload_without_file_part_and_without_files_scope(wz):
    r = wz.post("/upload", headers=UPLOAD_HEADERS, files={"other": ("x.zip", zipped({"x.csv": "a\n"}))})
    err(r, 400, "MISSING_REQUIRED_KEY")
    g = requests.post(f"{wz.emu.origin}/__emulator/grant", json={"scopes": "ZohoCRM.modules.ALL,ZohoCRM.bulk.ALL"},
                      timeout=30).json()
    err(upload(ZohoClient(wz.emu, refresh_token=g["refresh_token"]), LEADS_CSV), 401, "OAUTH_SCOPE_MISMATCH")


# -- create job errors ---------------------------------------------------------------------------


def test_create_requires_json(wz):
    r = wz.post("/write", base=wz.bulk, data="{}", headers={"Content-Type": "text/plain"})
    err(r, 415, "MEDIA_TYPE_NOT_SUPPORTED")


def test_create_job_errors(wz):
    fid = file_id(wz, "Last_Name,Email,Company,When\nOne,one@bw.example,Acme,01/02/2024\n")
    good = job_body(fid, LEADS_MAP)
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"resource": good["resource"]}, "MISSING_REQUIRED_KEY", "operation"),
        ({**good, "operation": "merge"}, "INVALID_DATA", "operation"),
        ({"operation": "insert"}, "MISSING_REQUIRED_KEY", "resource"),
        ({**good, "callback": {"url": "https://x.example/cb", "method": "put"}}, "INVALID_CALLBACK_METHOD", None),
        (job_body(fid, LEADS_MAP, module="Lead"), "MODULE_NOT_AVAILABLE", "Lead"),
        (job_body(fid, LEADS_MAP, module="Projects_X_Contacts"), "MODULE_NOT_AVAILABLE", "Projects_X_Contacts"),
        (job_body("5843104000000000001", LEADS_MAP), "INVALID_FILE_ID", "file_id"),
        (job_body(fid, LEADS_MAP, operation="update"), "MISSING_REQUIRED_KEY", "find_by"),
        (job_body(fid, LEADS_MAP, operation="upsert", find_by="Last_Name"), "INVALID_DATA", "find_by"),
        (job_body(fid, LEADS_MAP, operation="update", find_by="id"), "MANDATORY_NOT_FOUND", "id"),
        (job_body(fid, LEADS_MAP[1:]), "MANDATORY_FIELDS_NOT_MAPPED", "Last_Name"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Shoe_Size", "index": 3}]), "INVALID_FIELD", "Shoe_Size"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Created_Time", "index": 3}]), "INVALID_FIELD", "Created_Time"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Phone", "index": 9}]), "COLUMN_INDEX_NOT_FOUND", "Phone"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Phone"}]), "COLUMN_INDEX_NOT_FOUND", "Phone"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Email", "index": 1}]), "COEXISTENCE_NOT_ALLOWED", "Email"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Trial_Start", "index": 3, "format": "yyyy-QQ"}]),
         "INVALID_FORMAT", "Trial_Start"),
        (job_body(fid, [*LEADS_MAP, {"api_name": "Owner", "index": 3, "find_by": "Company"}]),
         "INVALID_DATA", "find_by"),
    ]
    for body, code, api_name in cases:
        details = err(create(wz, body), 400, code)
        if api_name is not None:
            assert details["api_name"] == api_name, (code, details)


def test_create_job_needs_module_write_scope(wz):
    g = requests.post(f"{wz.emu.origin}/__emulator/grant",
                      json={"scopes": "ZohoCRM.bulk.CREATE,ZohoCRM.modules.leads.READ,ZohoFiles.files.ALL"},
                      timeout=30).json()
    z = ZohoClient(wz.emu, refresh_token=g["refresh_token"])
    err(create(z, job_body(file_id(z, LEADS_CSV), LEADS_MAP)), 401, "OAUTH_SCOPE_MISMATCH")


def test_unknown_job_status_is_400_and_foreign_download_is_refused(wz):
    err(wz.get("/write/5843104000000000077", base=wz.bulk), 400, "RESOURCE_NOT_FOUND")
    r = wz.get(f"{wz.emu.origin}/v2/crm/{schema.ORG.id}/bulk-write/1/1.zip")
    err(r, 400, "RESOURCE_NOT_FOUND")


# -- life cycle ---------------------------------------------------------------------------------


def test_insert_life_cycle_status_shape_credits_and_result_rows(private):
    text = ("Last_Name,First_Name,Email,Company,Interests,Annual_Revenue,Last_Contacted_On,Owner\n"
            'Smith,"Jo, ""JJ""",jo@bw.example,Acme,CRM;HR,1234.5,05/02/1990,rahul.sharma@acme.example\n'
            ",NoLast,nolast@bw.example,Acme,,,,\n"
            "Doe,Jane,jane@bw.example,Acme,,abc,1990-05-02,\n"
            "Lee,Li,li@bw.example,\u682a\u5f0f\u4f1a\u793e,Migration,,12/31/2024,\n")
    mappings = [{"api_name": n, "index": i} for i, n in enumerate(
        ["Last_Name", "First_Name", "Email", "Company", "Interests", "Annual_Revenue", "Last_Contacted_On"])]
    mappings.append({"api_name": "Owner", "index": 7, "find_by": "email"})
    fid = file_id(private, text)
    before = private.emu.stats()["credits_used"]
    r = create(private, job_body(fid, mappings))
    assert private.emu.stats()["credits_used"] - before == 500
    assert r.status_code == 201
    body = r.json()
    assert (body["status"], body["code"], body["message"]) == ("success", "SUCCESS", "success")
    assert body["details"]["created_by"]["id"] == str(schema.ADMIN_USER.id)
    status = wait_job(private, body["details"]["id"])
    assert set(status) >= {"status", "character_encoding", "resource", "id", "result", "created_by", "operation",
                           "created_time"} and "data" not in status
    res = status["resource"][0]
    assert res["status"] == "COMPLETED" and res["type"] == "data" and res["module"]["api_name"] == "Leads"
    assert res["field_mappings"][0] == {"api_name": "Last_Name", "index": 0, "format": None, "find_by": None,
                                        "default_value": None}
    f = res["file"]
    assert (f["name"], f["added_count"], f["updated_count"], f["skipped_count"], f["total_count"]) == (
        "leads.csv", 2, 0, 2, 4)
    url = status["result"]["download_url"]
    assert url == f"{private.emu.origin}/v2/crm/{ZGID}/bulk-write/{status['id']}/{status['id']}.zip"
    zf = zipfile.ZipFile(io.BytesIO(private.get(url).content))
    out = list(csv.reader(io.StringIO(zf.read("Leads-leads.csv").decode(), newline="")))
    assert out[0] == ["Last_Name", "First_Name", "Email", "STATUS", "RECORD_ID", "ERRORS"]
    assert [r[:3] for r in out[1:]] == [r[:3] for r in csv.reader(io.StringIO(text))][1:]  # input order
    assert [r[3] for r in out[1:]] == ["ADDED", "SKIPPED", "SKIPPED", "ADDED"]
    assert out[2][5] == "MANDATORY_NOT_FOUND-Last_Name" and out[2][4] == ""
    assert out[3][5] == "INVALID_DATA-Annual_Revenue,Last_Contacted_On"  # both bad cells, one code
    truth = {r["id"]: r for r in private.export("Leads")}
    smith = truth[out[1][4]]
    assert (smith["First_Name"], smith["Interests"], smith["Annual_Revenue"]) == ('Jo, "JJ"', ["CRM", "HR"], 1234.5)
    assert smith["Last_Contacted_On"] == "1990-05-02"  # default MM/dd/yyyy
    assert smith["Owner"]["email"] == "rahul.sharma@acme.example"
    lee = truth[out[4][4]]
    assert lee["Company"] == "\u682a\u5f0f\u4f1a\u793e" and lee["Owner"]["id"] == str(schema.ADMIN_USER.id)


def test_states_follow_the_virtual_clock(make_emulator):
    emu = make_emulator(records=200, bulk_rows_per_s=0.01)
    z = ZohoClient(emu)
    fid = file_id(z, LEADS_CSV)
    j1 = create(z, job_body(fid, LEADS_MAP)).json()["details"]["id"]
    j2 = create(z, job_body(fid, LEADS_MAP, find_by="Email")).json()["details"]["id"]
    s1 = z.get(f"/write/{j1}", base=z.bulk).json()
    assert s1["status"] == "IN PROGRESS" and "result" not in s1 and "added_count" not in s1["resource"][0]["file"]
    assert z.get(f"/write/{j2}", base=z.bulk).json()["status"] == "ADDED"  # jobs are queued per org
    emu.advance_clock(101)
    assert wait_job(z, j1)["status"] == "COMPLETED"
    emu.advance_clock(101)
    s2 = wait_job(z, j2)
    # The second job ran after the first: its row is now a duplicate on Email and is skipped.
    assert s2["status"] == "COMPLETED" and s2["resource"][0]["file"]["skipped_count"] == 1


def _lead_ids(z: ZohoClient, n: int) -> list[dict[str, Any]]:
    return [r for r in z.export("Leads") if r["Email"]][:n]


def test_update_by_id_and_ignore_empty(private):
    a, b = _lead_ids(private, 2)
    text = f"id,Last_Name,Phone\n{a['id']},Renamed,\n{b['id']},,+1 555 0100\n5843104130000999999,Ghost,\n"
    mappings = [{"api_name": "id", "index": 0}, {"api_name": "Last_Name", "index": 1},
                {"api_name": "Phone", "index": 2}]
    status, rows = run(private, text, mappings, "update", find_by="id", ignore_empty=True)
    f = status["resource"][0]["file"]
    assert (f["updated_count"], f["skipped_count"], f["added_count"]) == (2, 1, 0)
    assert [r["STATUS"] for r in rows] == ["UPDATED", "UPDATED", "SKIPPED"]
    assert rows[2]["ERRORS"] == "RESOURCE_NOT_FOUND-id"
    truth = {r["id"]: r for r in private.export("Leads")}
    assert truth[a["id"]]["Last_Name"] == "Renamed" and truth[a["id"]]["Phone"] == a["Phone"]  # empty ignored
    assert truth[b["id"]]["Last_Name"] == b["Last_Name"] and truth[b["id"]]["Phone"] == "+1 555 0100"
    # Without ignore_empty an empty cell clears the field; clearing a mandatory field is refused per row.
    status, rows = run(private, f"id,Phone,Last_Name\n{a['id']},,\n{b['id']},,Kept\n",
                       [{"api_name": "id", "index": 0}, {"api_name": "Phone", "index": 1},
                        {"api_name": "Last_Name", "index": 2}], "update", find_by="id")
    assert [r["STATUS"] for r in rows] == ["SKIPPED", "UPDATED"]
    assert rows[0]["ERRORS"] == "MANDATORY_NOT_FOUND-Last_Name"
    assert {r["id"]: r for r in private.export("Leads")}[b["id"]]["Phone"] is None


def test_upsert_by_email_and_insert_skipping_duplicates(private):
    (a,) = _lead_ids(private, 1)
    text = (f"Email,Last_Name,Lead_Score\n{a['Email'].upper()},Upserted,7\nnew1@bw.example,New,1\n"
            "new1@bw.example,Again,2\n")
    mappings = [{"api_name": "Email", "index": 0}, {"api_name": "Last_Name", "index": 1},
                {"api_name": "Lead_Score", "index": 2}]
    status, rows = run(private, text, mappings, "upsert", find_by="Email")
    # The third row matches the record the second row created in the same file: an update.
    assert [r["STATUS"] for r in rows] == ["UPDATED", "ADDED", "UPDATED"]
    assert rows[0]["RECORD_ID"] == a["id"] and rows[1]["RECORD_ID"] == rows[2]["RECORD_ID"]
    f = status["resource"][0]["file"]
    assert f["added_count"] + f["updated_count"] + f["skipped_count"] == f["total_count"] == 3
    truth = {r["id"]: r for r in private.export("Leads")}
    assert truth[rows[1]["RECORD_ID"]]["Last_Name"] == "Again" and truth[a["id"]]["Lead_Score"] == 7
    _, rows = run(private, "Email,Last_Name\nnew1@bw.example,Dup\nnew2@bw.example,Fresh\n",
                  LEADS_MAP[:0] + [{"api_name": "Email", "index": 0}, {"api_name": "Last_Name", "index": 1}],
                  "insert", find_by="Email")
    assert [(r["STATUS"], r["ERRORS"]) for r in rows] == [("SKIPPED", "DUPLICATE_DATA-Email"), ("ADDED", "")]


def test_date_formats_lookups_by_name_and_default_values(private):
    acc = private.export("Accounts")[0]
    text = ("Last_Name,Account,Birthday,Webinar,Webinar_ISO\n"
            f"Ada,{acc['Account_Name']},1815-12-10,12/10/2024 09:30:00,2024-12-10T09:30:00+00:00\n"
            "Bob,No Such Account,1815-12-10,,\n")
    mappings = [{"api_name": "Last_Name", "index": 0},
                {"api_name": "Account_Name", "index": 1, "find_by": "Account_Name"},
                {"api_name": "Date_of_Birth", "index": 2, "format": "yyyy-MM-dd"},
                {"api_name": "Lead_Source", "default_value": {"value": "Trade Show"}}]
    _, rows = run(private, text, mappings, module="Contacts", name="contacts.csv")
    assert [(r["STATUS"], r["ERRORS"]) for r in rows] == [("ADDED", ""), ("SKIPPED", "INVALID_DATA-Account")]
    ada = {r["id"]: r for r in private.export("Contacts")}[rows[0]["RECORD_ID"]]
    assert ada["Account_Name"]["id"] == acc["id"] and ada["Date_of_Birth"] == "1815-12-10"
    assert ada["Lead_Source"] == "Trade Show"
    # Datetimes: the default pattern is read in the user's zone; an explicit pattern may carry an offset.
    lead_text = "Last_Name,Webinar,Webinar_ISO\nW,12/10/2024 09:30:00,2024-12-10T09:30:00+00:00\n"
    for col, fmt, expected in ((1, None, "2024-12-10T09:30:00+05:30"),
                               (2, "yyyy-MM-dd'T'HH:mm:ssXXX", "2024-12-10T15:00:00+05:30"),
                               (2, None, None)):
        mp: dict[str, Any] = {"api_name": "Last_Webinar_At", "index": col}
        if fmt:
            mp["format"] = fmt
        _, rows = run(private, lead_text, [{"api_name": "Last_Name", "index": 0}, mp])
        if expected is None:  # ISO text without a matching format is refused (the documented pitfall)
            assert rows[0]["ERRORS"] == "INVALID_DATA-Webinar_ISO"
        else:
            assert {r["id"]: r for r in private.export("Leads")}[rows[0]["RECORD_ID"]]["Last_Webinar_At"] == expected


def test_automatic_mapping_from_the_header_and_other_delimiters(private):
    acc = private.export("Accounts")[0]
    text = f"Last_Name;Account_Name.id;Email\nAuto;{acc['id']};auto@bw.example\n"
    _, rows = run(private, text, None, module="Contacts", name="contacts.csv")
    assert rows[0]["STATUS"] == "ADDED", rows
    rec = {r["id"]: r for r in private.export("Contacts")}[rows[0]["RECORD_ID"]]
    assert rec["Account_Name"]["id"] == acc["id"] and rec["Email"] == "auto@bw.example"


# -- Java date patterns (pure functions, property-based) --------------------------------------------

JAVA_PATTERNS = {  # Java pattern -> how to print a datetime in it
    "MM/dd/yyyy": "%m/%d/%Y", "yyyy-MM-dd": "%Y-%m-%d", "dd.MM.yyyy": "%d.%m.%Y",
    "MM/dd/yyyy HH:mm:ss": "%m/%d/%Y %H:%M:%S", "yyyy-MM-dd'T'HH:mm:ss": "%Y-%m-%dT%H:%M:%S",
    "yyyy-MM-dd'T'HH:mm:ssXXX": "%Y-%m-%dT%H:%M:%S%:z", "dd MMM yyyy hh:mm a": "%d %b %Y %I:%M %p",
}


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)),
       st.sampled_from(sorted(JAVA_PATTERNS)), st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_java_patterns_read_what_they_describe(value, java, offset_min):
    from connector.emulator.csv_format import Mapping, cell_to_json, java_to_strptime

    tz = timezone(timedelta(minutes=330))
    value = value.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_min)))
    if "a" in java:
        value = value.replace(second=0)  # the pattern has no seconds
    text = value.strftime(JAVA_PATTERNS[java].replace("%:z", "%z"))
    if "XXX" in java:
        text = text[:-2] + ":" + text[-2:]  # ISO offset with a colon, as XXX prints it
    pattern, has_tz = java_to_strptime(java)
    assert has_tz is ("XXX" in java)
    is_date = "HH" not in java and "hh" not in java
    f = schema.LEADS.field("Last_Contacted_On" if is_date else "Last_Webinar_At")
    got = cell_to_json(Mapping(f.api_name, f, "col", 0, pattern=pattern, has_tz=has_tz), text, {}, tz)
    if is_date:
        assert got == value.date().isoformat()
    elif has_tz:
        assert datetime.fromisoformat(got) == value and got.endswith("+05:30")
    else:  # no zone in the pattern: the wall time is read in the user's zone
        assert got == value.replace(tzinfo=tz).isoformat()


@pytest.mark.parametrize("bad", ["yyyy-QQ", "yyyy-MM-dd'T", "GGGG", "yyyy-MM-ddTHH"])
def test_unsupported_java_patterns_are_refused(bad):
    from connector.emulator.csv_format import java_to_strptime

    with pytest.raises(ValueError):
        java_to_strptime(bad)
