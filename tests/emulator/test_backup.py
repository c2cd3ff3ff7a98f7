"""Data Backup API over HTTP (v8 ``backup.json``): a backup now, on a rule, its links, history, cancel, limits.

Each test has an org of its own: backups are per org and the free ones per month are counted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.emulator.backup import LINK_TTL_S, MIN_RUN_S
from tests.conftest import ZohoClient

from .bulk_read_client import grant_client

SCOPES = "ZohoCRM.bulk.backup.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL"


@pytest.fixture
def emu() -> Any:
    with Emulator(records=300, seed=17) as e:
        yield e


@pytest.fixture
def z(emu: Emulator) -> ZohoClient:
    return grant_client(emu, SCOPES)


def action(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()["backup"]
    assert body["code"] == code and body["status"] == ("success" if code == "SUCCESS" else "error"), body
    return dict(body["details"])


def unzip(z: ZohoClient, url: str) -> zipfile.ZipFile:
    r = z.get(url)
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


def rows(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode())))


def test_a_backup_now_runs_then_serves_its_zips_for_seven_days(emu: Emulator, z: ZohoClient) -> None:
    assert z.get("/backup", base=z.bulk).status_code == 204  # nothing asked for yet
    assert z.get("/backup/urls", base=z.bulk).status_code == 204
    backup_id = action(z.post("/backup", base=z.bulk), 200, "SUCCESS")["id"]
    got = z.get("/backup", base=z.bulk).json()["backup"]
    assert got["id"] == backup_id and got["status"] == "INPROGRESS" and got["rrule"] is None
    assert got["requester"] == {"id": "5843104000000424672", "name": "Jane Admin", "zuid": "665000101"}
    # one at a time; a running backup cannot be stopped; no links until it is done
    assert action(z.post("/backup", base=z.bulk), 400, "BACKUP_ALREADY_SCHEDULED") == {"id": backup_id}
    action(z.put(f"/backup/{backup_id}/actions/cancel", base=z.bulk), 400, "INPROGRESS")
    assert z.get("/backup/urls", base=z.bulk).status_code == 204

    emu.advance_clock(MIN_RUN_S + 1)
    assert z.get("/backup", base=z.bulk).json()["backup"]["status"] == "COMPLETED"
    urls = z.get("/backup/urls", base=z.bulk).json()["urls"]
    assert set(urls) == {"data_links", "attachment_links", "expiry_date"}
    data, blobs = unzip(z, urls["data_links"][0]), unzip(z, urls["attachment_links"][0])
    assert len(rows(data, "Leads.csv")) == len(emu.export("Leads"))
    assert len(rows(data, "Notes.csv")) == len(emu.export("Notes"))
    attachments = [a for a in rows(data, "Attachments.csv") if not a["Link_URL"]]
    assert attachments
    for a in attachments[:5]:  # each file's bytes are the ones the Attachments API serves
        served = z.get(f"/{a['Parent_Module']}/{a['Parent_Id']}/Attachments/{a['Id']}")
        assert served.status_code == 200, served.text
        packed = blobs.read(f"Attachments/{a['Id']}_{a['File_Name']}")
        assert hashlib.sha256(packed).hexdigest() == hashlib.sha256(served.content).hexdigest()
    field_files = rows(data, "Field_Files.csv")
    assert field_files and all(f"{f['Module']}/{f['Record_Id']}/{f['Field']}/{f['File_Id']}_{f['File_Name']}"
                               in blobs.namelist() for f in field_files)
    history = z.get("/backup/history", base=z.bulk).json()
    assert [(h["action"], h["state"], h["repeat_type"]) for h in history["history"]] == [
        (None, "completed", "immediate"), ("scheduled", None, "immediate")]
    assert history["info"] == {"per_page": 200, "count": 2, "page": 1, "more_records": False}

    emu.advance_clock(LINK_TTL_S)  # the links expire 7 days after the backup
    z.token = z.mint()  # (so did the access token)
    assert z.get("/backup/urls", base=z.bulk).status_code == 204
    r = z.get(urls["data_links"][0])
    assert r.status_code == 400 and r.json()["code"] == "RESOURCE_NOT_FOUND", r.text


def test_a_schedule_names_its_next_day_and_stops_once(emu: Emulator, z: ZohoClient) -> None:
    bad = z.post("/backup", base=z.bulk, json={"backup": {"rrule": "RRULE:FREQ=DAILY;INTERVAL=1;BYDAY=TH"}})
    assert action(bad, 400, "INVALID_DATA") == {"api_name": "rrule", "json_path": "$.backup.rrule"}
    r = z.post("/backup", base=z.bulk, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "REQUEST_BODY_NOT_READABLE", r.text
    rule = "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    backup_id = action(z.post("/backup", base=z.bulk, json={"backup": {"rrule": rule}}), 200, "SUCCESS")["id"]
    got = z.get("/backup", base=z.bulk).json()["backup"]
    assert got["status"] == "SCHEDULED" and got["rrule"] == rule
    assert datetime.fromisoformat(got["scheduled_date"]).weekday() == 3 == datetime.fromisoformat(
        got["start_date"]).weekday()
    action(z.put(f"/backup/{backup_id}/actions/cancel", base=z.bulk), 200, "SUCCESS")
    assert z.get("/backup", base=z.bulk).json()["backup"]["status"] == "STOPPED"
    action(z.put(f"/backup/{backup_id}/actions/cancel", base=z.bulk), 400, "ALREADY_CANCELLED")
    r = z.put("/backup/123/actions/cancel", base=z.bulk)
    assert r.status_code == 400 and r.json()["code"] == "RESOURCE_NOT_FOUND", r.text


def test_a_schedule_runs_on_its_days(emu: Emulator, z: ZohoClient) -> None:
    rule = "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO"
    action(z.post("/backup", base=z.bulk, json={"backup": {"rrule": rule}}), 200, "SUCCESS")
    first = z.get("/backup", base=z.bulk).json()["backup"]["scheduled_date"]
    emu.advance_clock(8 * 86_400)  # past the first Monday and its run
    z.token = z.mint()
    got = z.get("/backup", base=z.bulk).json()["backup"]
    assert got["status"] == "SCHEDULED" and got["scheduled_date"] > first
    assert (datetime.fromisoformat(got["scheduled_date"]) - datetime.fromisoformat(first)).days == 7
    assert z.get("/backup/urls", base=z.bulk).status_code == 200
    assert [h["state"] for h in z.get("/backup/history", base=z.bulk).json()["history"]][0] == "completed"


def test_two_backups_a_month_are_free_the_third_fails(emu: Emulator, z: ZohoClient) -> None:
    now = datetime.fromtimestamp(emu.app.clock.time(), UTC)
    if now.day > 25:  # three runs in one calendar month (~15 virtual minutes)
        emu.advance_clock((32 - now.day) * 86_400)
    states = []
    for _ in range(3):
        action(z.post("/backup", base=z.bulk), 200, "SUCCESS")
        emu.advance_clock(MIN_RUN_S + 1)
        states.append(z.get("/backup", base=z.bulk).json()["backup"]["status"])
    assert states == ["COMPLETED", "COMPLETED", "FAILED"]


def test_backups_need_the_scope_and_an_administrator(emu: Emulator) -> None:
    r = grant_client(emu, "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL").post("/backup", base=ZohoClient(emu).bulk)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH", r.text
    grant = requests.post(f"{emu.origin}/__emulator/grant", json={"scopes": SCOPES, "user_id": 5843104000000424673},
                          timeout=30).json()
    standard = ZohoClient(emu, refresh_token=grant["refresh_token"])
    r = standard.post("/backup", base=standard.bulk)
    assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION", r.text
