"""Calls and Events over HTTP: polymorphic What_Id, participants, mandatory fields, and the APIs that read them."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from typing import Any

import pytest

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org for activities; tests create what they change.", records=400, seed=21,
                  org="enterprise")
z = client_fixture("org")
ADMIN = schema.ADMIN_USER


def test_generated_activities_relate_to_real_records(z: ZohoClient) -> None:
    accounts, deals, leads = ({r["id"] for r in z.export(m)} for m in ("Accounts", "Deals", "Leads"))
    contacts = {r["id"]: r for r in z.export("Contacts")}
    for module in ("Calls", "Events"):
        rows = z.export(module)
        assert rows
        related = [r for r in rows if r["What_Id"]]
        assert {r["$se_module"] for r in related} == {"Accounts", "Deals", "Leads"}
        for r in related:
            assert r["What_Id"]["id"] in {"Accounts": accounts, "Deals": deals, "Leads": leads}[r["$se_module"]]
        assert all(r["Who_Id"] is None or r["Who_Id"]["id"] in contacts for r in rows)
    for call in z.export("Calls"):
        minutes, seconds = (int(x) for x in call["Call_Duration"].split(":"))
        assert call["Call_Duration_in_seconds"] == minutes * 60 + seconds
    for event in z.export("Events"):
        assert datetime.fromisoformat(event["End_DateTime"]) > datetime.fromisoformat(event["Start_DateTime"])


def test_participants_read_like_lookups(z: ZohoClient) -> None:
    contacts = {r["id"]: r for r in z.export("Contacts")}
    leads = {r["id"]: r for r in z.export("Leads", )}
    seen = set()
    for event in z.export("Events"):
        for p in event["Participants"] or []:
            seen.add(p["type"])
            assert set(p) == {"name", "Email", "type", "participant", "invited", "status", "id"}
            if p["type"] == "contact":
                assert (p["name"], p["Email"]) == (contacts[p["participant"]]["Full_Name"],
                                                   contacts[p["participant"]]["Email"])
            elif p["type"] == "lead":
                assert p["name"] == leads[p["participant"]]["Full_Name"]
            elif p["type"] == "user":
                assert p["name"] == schema.USERS_BY_ID[int(p["participant"])].full_name
            else:
                assert p["name"] == p["Email"] == p["participant"]
    assert seen == {"contact", "lead", "user", "email"}


def test_a_meeting_with_participants_round_trips(z: ZohoClient) -> None:
    contact, lead = z.export("Contacts")[4], z.export("Leads")[4]
    body = {"Event_Title": "Steering", "Start_DateTime": "2025-07-01T10:00:00+05:30",
            "End_DateTime": "2025-07-01T11:00:00+05:30", "What_Id": {"id": lead["id"]}, "$se_module": "Leads",
            "Participants": [{"type": "contact", "participant": contact["id"]},
                             {"type": "user", "participant": str(ADMIN.id), "invited": False},
                             {"type": "email", "participant": "guest@partner.example"}],
            "Recurring_Activity": {"RRULE": "FREQ=WEEKLY;INTERVAL=1;COUNT=4;DTSTART=2025-07-01"}}
    r = z.post("/Events", json={"data": [body]})
    assert r.status_code == 201, r.text
    got = z.get(f"/Events/{r.json()['data'][0]['details']['id']}").json()["data"][0]
    assert got["$se_module"] == "Leads" and got["What_Id"] == {"name": lead["Full_Name"], "id": lead["id"]}
    assert [(p["type"], p["name"], p["invited"], p["status"]) for p in got["Participants"]] == [
        ("contact", contact["Full_Name"], True, "not_known"), ("user", ADMIN.full_name, False, "not_known"),
        ("email", "guest@partner.example", True, "not_known")]
    assert got["Recurring_Activity"] == body["Recurring_Activity"]


@pytest.mark.parametrize("module, record, code, api_name", [
    ("Calls", {"Call_Type": "Outbound", "Call_Start_Time": "2025-01-01T10:00:00+00:00", "Call_Duration": "05:00"},
     "MANDATORY_NOT_FOUND", "Subject"),
    ("Calls", {"Subject": "x", "Call_Start_Time": "2025-01-01T10:00:00+00:00", "Call_Duration": "05:00"},
     "MANDATORY_NOT_FOUND", "Call_Type"),
    ("Calls", {"Subject": "x", "Call_Type": "Outbound", "Call_Duration": "05:00"}, "MANDATORY_NOT_FOUND",
     "Call_Start_Time"),
    ("Calls", {"Subject": "x", "Call_Type": "Sideways", "Call_Start_Time": "2025-01-01T10:00:00+00:00",
               "Call_Duration": "05:00"}, "INVALID_DATA", "Call_Type"),
    ("Events", {"Event_Title": "x", "End_DateTime": "2025-01-01T10:00:00+00:00"}, "MANDATORY_NOT_FOUND",
     "Start_DateTime"),
    ("Events", {"Event_Title": "x", "Start_DateTime": "2025-01-01T10:00:00+00:00",
                "End_DateTime": "2025-01-01T11:00:00+00:00", "Participants": [{"type": "robot", "participant": "1"}]},
     "INVALID_DATA", "type"),
    ("Events", {"Event_Title": "x", "Start_DateTime": "2025-01-01T10:00:00+00:00",
                "End_DateTime": "2025-01-01T11:00:00+00:00",
                "Participants": [{"type": "contact", "participant": "5843104129999999999"}]}, "INVALID_DATA",
     "participant"),
    ("Events", {"Event_Title": "x", "Start_DateTime": "2025-01-01T10:00:00+00:00",
                "End_DateTime": "2025-01-01T11:00:00+00:00", "What_Id": {"id": "5843104110000000001"},
                "$se_module": "Vendors"}, "INVALID_DATA", "$se_module"),
])
def test_bad_activities_fail_per_record(z: ZohoClient, module: str, record: dict[str, Any], code: str,
                                        api_name: str) -> None:
    r = z.post(f"/{module}", json={"data": [record]})
    assert r.status_code == 400, r.text
    err = r.json()["data"][0]
    assert (err["code"], err["details"]["api_name"]) == (code, api_name)


def test_coql_and_search_read_activities(z: ZohoClient) -> None:
    calls = z.export("Calls")
    long = sorted(c["id"] for c in calls if c["Call_Duration_in_seconds"] > 3000)
    r = z.post("/coql", json={"select_query": "select Subject, What_Id, Call_Duration_in_seconds from Calls "
                                              "where Call_Duration_in_seconds > 3000 limit 2000"})
    assert r.status_code == 200, r.text
    assert sorted(x["id"] for x in r.json()["data"]) == long
    r = z.post("/coql", json={"select_query": "select Participants from Events limit 5"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUERY")
    inbound = sorted(c["id"] for c in calls if c["Call_Type"] == "Inbound")
    r = z.get("/Calls/search", params={"criteria": "(Call_Type:equals:Inbound)", "per_page": 200})
    assert sorted(x["id"] for x in r.json()["data"]) == inbound[:200]


def test_bulk_read_exports_events_without_participants(z: ZohoClient) -> None:
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": "Events"},
                                                     "fields": ["Event_Title", "Participants"]}})
    assert (r.status_code, r.json()["code"]) == (400, "FIELD_NOT_SUPPORTED")
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": "Events"}}})
    assert r.status_code == 201, r.text
    job = r.json()["data"][0]["details"]["id"]
    for _ in range(200):
        status = z.get(f"/read/{job}", base=z.bulk).json()["data"][0]
        if status["state"] == "COMPLETED":
            break
        z.admin("POST", "clock", json={"advance_s": 5})
    zipped = zipfile.ZipFile(io.BytesIO(z.get(f"/read/{job}/result", base=z.bulk).content))
    rows = list(csv.DictReader(io.StringIO(zipped.read(zipped.namelist()[0]).decode())))
    assert len(rows) == len(z.export("Events")) and "Participants" not in rows[0]
    assert {"What_Id", "Start_DateTime", "Event_Title"} <= set(rows[0])
