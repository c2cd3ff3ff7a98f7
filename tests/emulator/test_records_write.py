"""Record writes over HTTP: insert, update, upsert, delete; statuses, limits, triggers, scopes.

Most tests share one private org and create the records they touch, so they do not interfere;
tests that move the clock or count triggers get their own org.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture

ADMIN = schema.ADMIN_USER
ADMIN_REF = {"name": ADMIN.full_name, "id": str(ADMIN.id)}


org = org_fixture("A private org for this module: tests create the records they touch.", records=300, seed=11)
z = client_fixture("org")


def send(z: ZohoClient, method: str, path: str, body: Any, **kw: Any) -> Any:
    """JSON body as raw bytes and no Content-Type, exactly as the official SDK sends records."""
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = z.request(method, path, data=raw, **kw)
    assert "Content-Type" not in r.request.headers
    return r


def uniq(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def lead(**fields: Any) -> dict[str, Any]:
    return {"Last_Name": uniq("Doe-"), **fields}


def truth(z: ZohoClient, module: str, rid: str) -> dict[str, Any]:
    return next(r for r in z.export(module) if r["id"] == rid)


def stats(z: ZohoClient) -> dict[str, Any]:
    return dict(z.admin("GET", "stats").json())


# -- insert --------------------------------------------------------------------------------------

def test_insert_success_shape_and_server_filled_fields(z):
    r = send(z, "POST", "/Leads", {"data": [lead(First_Name="Ada", Company="Acme")], "trigger": []})
    assert r.status_code == 201
    (entry,) = r.json()["data"]
    assert list(entry) == ["code", "details", "message", "status"]
    assert (entry["code"], entry["message"], entry["status"]) == ("SUCCESS", "record added", "success")
    d = entry["details"]
    assert list(d) == ["Modified_Time", "Modified_By", "Created_Time", "id", "Created_By", "$approval_state"]
    assert d["Modified_By"] == d["Created_By"] == ADMIN_REF and d["$approval_state"] == "approved"
    assert d["Created_Time"] == d["Modified_Time"] and d["Created_Time"].endswith("+05:30")
    assert d["id"].isdigit() and len(d["id"]) == 19
    rec = truth(z, "Leads", d["id"])
    assert rec["Full_Name"] == f"Ada {rec['Last_Name']}"
    assert rec["Owner"]["id"] == str(ADMIN.id) and rec["Layout"]["id"] == str(schema.DEFAULT_LAYOUT_ID)
    assert rec["Converted__s"] is False and rec["Email_Opt_Out"] is False
    assert rec["Lead_Code"].startswith("LD-") and rec["Modified_Time"] == d["Modified_Time"]
    # the details are not read back from the store (the insert knows them): they are what it stored
    assert (rec["Created_Time"], rec["Created_By"]["id"], rec["Modified_By"]["id"]) == \
        (d["Created_Time"], d["Created_By"]["id"], d["Modified_By"]["id"])


def test_field_names_in_another_case_are_the_fields_and_unknown_names_are_ignored(z):
    name = uniq("Case-")
    r = send(z, "POST", "/Leads", {"data": [{"LAST_NAME": name, "company": "Acme", "No_Such_Field": 1}]})
    assert r.status_code == 201, r.text
    rec = truth(z, "Leads", r.json()["data"][0]["details"]["id"])
    assert (rec["Last_Name"], rec["Company"]) == (name, "Acme") and "No_Such_Field" not in rec


def test_autonumbers_continue_the_sequence(z):
    ids = [e["details"]["id"] for e in send(z, "POST", "/Leads", {"data": [lead(), lead()]}).json()["data"]]
    codes = [truth(z, "Leads", i)["Lead_Code"] for i in ids]
    assert int(codes[1][3:]) == int(codes[0][3:]) + 1


def test_mixed_batch_is_207_in_input_order(z):
    r = send(z, "POST", "/Leads", {"data": [lead(), {"Company": "no name"}, lead(No_of_Employees="x")]})
    assert r.status_code == 207
    data = r.json()["data"]
    assert [e["status"] for e in data] == ["success", "error", "error"]
    assert data[1] == {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name",
                                                                  "json_path": "$.data[1].Last_Name"},
                       "message": "required field not found", "status": "error"}
    assert data[2] == {"code": "INVALID_DATA", "details": {"expected_data_type": "integer",
                                                           "api_name": "No_of_Employees",
                                                           "json_path": "$.data[2].No_of_Employees"},
                       "message": "invalid data", "status": "error"}


def test_every_record_failing_is_400_with_the_data_array(z):
    r = send(z, "POST", "/Leads", {"data": [{"Company": "a"}, {"Company": "b"}]})
    assert r.status_code == 400
    assert [e["code"] for e in r.json()["data"]] == ["MANDATORY_NOT_FOUND"] * 2


@pytest.mark.parametrize("body,code,details", [
    ({"data": [lead()] * 101}, "LIMIT_EXCEEDED", {"limit": 100}),
    ({"trigger": []}, "MANDATORY_NOT_FOUND", {"api_name": "data", "json_path": "$.data"}),
    ({"data": []}, "MANDATORY_NOT_FOUND", {"api_name": "data", "json_path": "$.data"}),
    (b"", "MANDATORY_NOT_FOUND", {"api_name": "data", "json_path": "$.data"}),
    ({"data": {"Last_Name": "x"}}, "INVALID_DATA", {"api_name": "data", "json_path": "$.data",
                                                     "expected_data_type": "jsonarray"}),
    (b'{"data": [', "INVALID_DATA", None),
    ({"data": [lead()], "trigger": ["everything"]}, "INVALID_DATA", None),
])
def test_request_level_errors(z, body, code, details):
    r = send(z, "POST", "/Leads", body)
    assert r.status_code == 400
    got = r.json()
    assert set(got) == {"code", "details", "message", "status"} and got["code"] == code
    if details is not None:
        assert got["details"] == details


def test_ids_as_json_numbers_are_accepted(z):
    contact = z.export("Contacts")[0]["id"]
    r = send(z, "POST", "/Leads", {"data": [lead(Owner={"id": int(schema.USERS[1].id)},
                                                 Referrer={"id": int(contact)})]})
    assert r.status_code == 201
    rec = truth(z, "Leads", r.json()["data"][0]["details"]["id"])
    assert rec["Owner"]["id"] == str(schema.USERS[1].id) and rec["Referrer"]["id"] == contact
    r = send(z, "PUT", "/Leads", {"data": [{"id": int(rec["id"]), "City": "Z\u00fcrich"}]})
    assert r.status_code == 200 and truth(z, "Leads", rec["id"])["City"] == "Z\u00fcrich"


def test_lookups_must_point_at_existing_records(z):
    r = send(z, "POST", "/Deals", {"data": [{"Deal_Name": "D", "Stage": "Qualification",
                                             "Account_Name": {"id": "5843104119999999999", "name": "Ghost"}}]})
    assert r.status_code == 400
    assert r.json()["data"][0]["details"] == {"id": "5843104119999999999", "api_name": "Account_Name",
                                              "json_path": "$.data[0].Account_Name"}
    account = z.export("Accounts")[0]
    r = send(z, "POST", "/Deals", {"data": [{"Deal_Name": "D", "Stage": "Qualification",
                                             "Account_Name": {"id": account["id"], "name": "ignored"}}]})
    assert r.status_code == 201
    rec = truth(z, "Deals", r.json()["data"][0]["details"]["id"])
    assert rec["Account_Name"] == {"name": account["Account_Name"], "id": account["id"]}


def test_datetime_without_offset_is_rejected(z):
    r = send(z, "POST", "/Leads", {"data": [lead(Last_Webinar_At="2025-01-02T03:04:05")]})
    assert r.status_code == 400
    assert r.json()["data"][0]["details"] == {"expected_data_type": "datetime", "api_name": "Last_Webinar_At",
                                              "json_path": "$.data[0].Last_Webinar_At"}
    r = send(z, "POST", "/Leads", {"data": [lead(Last_Webinar_At="2025-01-02T03:04:05+00:00")]})
    assert truth(z, "Leads", r.json()["data"][0]["details"]["id"])["Last_Webinar_At"] == "2025-01-02T08:34:05+05:30"


def test_unique_field_clash_is_duplicate_data(z):
    email = f"{uniq()}@dup.example"
    first = send(z, "POST", "/Leads", {"data": [lead(Email=email)]}).json()["data"][0]["details"]["id"]
    r = send(z, "POST", "/Leads", {"data": [lead(Email=email.upper()), lead(Email="b" + email),
                                            lead(Email="B" + email)]})
    assert r.status_code == 207
    dup, ok, dup_in_batch = r.json()["data"]
    module_ref = {"api_name": "Leads", "id": str(schema.LEADS.module_id)}
    owner = {"name": ADMIN.full_name, "id": str(ADMIN.id), "zuid": str(ADMIN.zuid)}
    assert dup == {"code": "DUPLICATE_DATA", "details": {
        "api_name": "Email", "json_path": "$.data[0].Email",
        "duplicate_record": {"id": first, "module": module_ref, "Owner": owner}},
        "message": "duplicate data", "status": "error"}
    assert ok["status"] == "success"
    assert dup_in_batch["details"]["duplicate_record"]["id"] == ok["details"]["id"]


def test_subform_and_linking_rows(z):
    contacts = [c["id"] for c in z.export("Contacts")[:3]]
    r = send(z, "POST", "/Projects", {"data": [{
        "Name": uniq("P-"), "Milestones": [{"Milestone": "Design", "Amount": 10.005}, {"Milestone": "Build"}],
        "Related_Contacts": [{"Contacts": {"id": contacts[0]}}, {"Contacts": {"id": contacts[1]}}],
        "Members": [{"User": {"id": ADMIN.id}}]}]})
    assert r.status_code == 201, r.text
    pid = r.json()["data"][0]["details"]["id"]
    rec = z.get(f"/Projects/{pid}").json()["data"][0]
    assert [(m["Milestone"], m["Amount"]) for m in rec["Milestones"]] == [("Design", 10.01), ("Build", None)]
    assert sorted(c["Contacts"]["id"] for c in rec["Related_Contacts"]) == sorted(contacts[:2])
    assert [m["User"]["id"] for m in rec["Members"]] == [str(ADMIN.id)]
    design, build = rec["Milestones"]
    gone = next(c for c in rec["Related_Contacts"] if c["Contacts"]["id"] == contacts[0])
    r = send(z, "PUT", f"/Projects/{pid}", {"data": [{
        "Milestones": [{"id": design["id"], "Done": True}, {"Milestone": "Test"}],
        "Related_Contacts": [{"id": gone["id"], "_delete": None}, {"Contacts": {"id": contacts[2]}}]}]})
    assert r.status_code == 200, r.text
    rec = z.get(f"/Projects/{pid}").json()["data"][0]
    # subform: replace semantics; linking: add by default, _delete removes
    assert [(m["Milestone"], m["Done"]) for m in rec["Milestones"]] == [("Design", True), ("Test", False)]
    assert build["id"] not in {m["id"] for m in rec["Milestones"]}
    assert sorted(c["Contacts"]["id"] for c in rec["Related_Contacts"]) == sorted(contacts[1:3])
    assert len(rec["Members"]) == 1


# -- update --------------------------------------------------------------------------------------

def _new_lead(z: ZohoClient, **fields: Any) -> str:
    r = send(z, "POST", "/Leads", {"data": [lead(**fields)], "trigger": []})
    return str(r.json()["data"][0]["details"]["id"])


def test_update_keeps_history_and_bumps_modified(make_emulator):
    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    rid = _new_lead(z, City="Old")
    created = truth(z, "Leads", rid)
    emu.advance_clock(120)
    r = send(z, "PUT", "/Leads", {"data": [{"id": rid, "City": "New", "First_Name": "Bea"}]})
    assert r.status_code == 200
    d = r.json()["data"][0]
    assert d["message"] == "record updated" and d["details"]["Created_Time"] == created["Created_Time"]
    rec = truth(z, "Leads", rid)
    assert rec["City"] == "New" and rec["Full_Name"] == f"Bea {created['Last_Name']}"
    assert rec["Modified_Time"] > created["Modified_Time"] and rec["Modified_Time"] == d["details"]["Modified_Time"]
    old = emu.app.store.fetchall('SELECT City, Modified_Time FROM "Leads$history" WHERE id = ?', [int(rid)])
    assert [row[0] for row in old] == ["Old"]
    # No actual change still moves Modified_Time, as Zoho does.
    emu.advance_clock(60)
    send(z, "PUT", f"/Leads/{rid}", {"data": [{"City": "New"}]})
    assert truth(z, "Leads", rid)["Modified_Time"] > rec["Modified_Time"]


def test_update_errors(z):
    converted = next(r for r in z.export("Leads") if r["Converted__s"])
    good = _new_lead(z)
    r = send(z, "PUT", "/Leads", {"data": [{"City": "x"}, {"id": "5843104139999999999", "City": "x"},
                                           {"id": converted["id"], "City": "x"}, {"id": good, "City": "y"}]})
    assert r.status_code == 207
    missing, unknown, conv, ok = r.json()["data"]
    assert missing["code"] == "MANDATORY_NOT_FOUND" and missing["details"] == {"api_name": "id",
                                                                              "json_path": "$.data[0].id"}
    assert unknown == {"code": "INVALID_DATA", "details": {"id": "5843104139999999999"},
                       "message": "the id given seems to be invalid", "status": "error"}
    assert conv["code"] == "CANNOT_PROCESS" and conv["message"] == "can't update the converted record"
    assert ok["status"] == "success"
    r = send(z, "PUT", "/Leads/5843104139999999999", {"data": [{"City": "x"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "INVALID_DATA"


def test_update_batch_with_different_fields_and_a_repeated_record(z):
    a, b = _new_lead(z, City="A0", Company="Ca"), _new_lead(z, City="B0", Company="Cb")
    r = send(z, "PUT", "/Leads", {"data": [{"id": a, "City": "A1"}, {"id": b, "Company": "Cb1"},
                                           {"id": a, "State": "S", "City": "A2"}]})
    assert r.status_code == 200 and [e["details"]["id"] for e in r.json()["data"]] == [a, b, a]
    ra, rb = truth(z, "Leads", a), truth(z, "Leads", b)
    assert (ra["City"], ra["Company"], ra["State"]) == ("A2", "Ca", "S")
    assert (rb["City"], rb["Company"]) == ("B0", "Cb1")


def test_if_unmodified_since(make_emulator):
    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    rid = _new_lead(z)
    before = "2000-01-01T00:00:00+00:00"
    r = send(z, "PUT", "/Leads", {"data": [{"id": rid, "City": "x"}]}, headers={"If-Unmodified-Since": before})
    assert r.status_code == 412 and r.json()["data"][0]["code"] == "ALREADY_MODIFIED"
    r = send(z, "PUT", "/Leads", {"data": [{"id": rid, "City": "x"}]},
             headers={"If-Unmodified-Since": "2999-01-01T00:00:00+00:00"})
    assert r.status_code == 200


# -- upsert --------------------------------------------------------------------------------------

def test_upsert_inserts_then_updates_on_the_default_duplicate_field(z):
    email = f"{uniq()}@up.example"
    r = send(z, "POST", "/Leads/upsert", {"data": [lead(Email=email), lead(Email=email.upper(), City="Again")],
                                          "trigger": []})
    assert r.status_code == 200
    first, second = r.json()["data"]
    assert (first["action"], first["duplicate_field"], first["message"]) == ("insert", None, "record added")
    assert (second["action"], second["duplicate_field"], second["message"]) == ("update", "Email", "record updated")
    assert list(second) == ["code", "duplicate_field", "action", "details", "message", "status"]
    assert first["details"]["id"] == second["details"]["id"]
    assert truth(z, "Leads", first["details"]["id"])["City"] == "Again"


def test_upsert_duplicate_check_fields_are_tried_in_order(z):
    a = _new_lead(z, Company=uniq("Co "), External_Ref=uniq("r"))
    b = _new_lead(z, Company=uniq("Co "), Email=f"{uniq()}@b.example")
    ra, rb = truth(z, "Leads", a), truth(z, "Leads", b)
    rec = {"Last_Name": "X", "Company": rb["Company"], "External_Ref": ra["External_Ref"]}
    order = ["External_Ref", "Company"]
    r = send(z, "POST", "/Leads/upsert", {"data": [rec], "duplicate_check_fields": order})
    assert r.json()["data"][0]["details"]["id"] == a and r.json()["data"][0]["duplicate_field"] == "External_Ref"
    # a now shares b's Company: with no External_Ref match, Company matches both and the oldest wins.
    r = send(z, "POST", "/Leads/upsert", {"data": [{**rec, "External_Ref": uniq("r")}], "duplicate_check_fields": order})
    assert r.json()["data"][0]["details"]["id"] == a and r.json()["data"][0]["duplicate_field"] == "Company"
    assert truth(z, "Leads", b)["Last_Name"] != "X"
    # Matching a by External_Ref while taking b's unique Email is a clash, not a merge.
    r = send(z, "POST", "/Leads/upsert", {"data": [{**rec, "Email": rb["Email"]}], "duplicate_check_fields": order})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "DUPLICATE_DATA"
    r = send(z, "POST", "/Leads/upsert", {"data": [rec], "duplicate_check_fields": ["Nope"]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


# -- triggers, credits, scopes --------------------------------------------------------------------

def test_trigger_honoured_and_counted(make_emulator):
    z = ZohoClient(make_emulator(records=200))
    assert stats(z)["triggers"] == {}
    send(z, "POST", "/Leads", {"data": [lead(), lead()], "trigger": []})
    rid = _new_lead(z)
    send(z, "PUT", "/Leads", {"data": [{"id": rid, "City": "c"}], "trigger": []})
    z.delete("/Leads", params={"ids": rid, "wf_trigger": "false"})
    assert stats(z)["triggers"] == {}, "a migration sending trigger [] fires nothing"
    send(z, "POST", "/Leads", {"data": [lead(), lead(), lead()]})
    send(z, "POST", "/Contacts", {"data": [{"Last_Name": "C"}], "trigger": ["workflow"]})
    got = stats(z)["triggers"]
    assert got["Leads"] == {"insert": {t: 3 for t in ("workflow", "approval", "blueprint", "pathfinder",
                                                      "orchestration")}}
    assert got["Contacts"] == {"insert": {"workflow": 1}}


def test_credits_are_one_per_ten_records(z):
    before = stats(z)["credits_used"]
    send(z, "POST", "/Leads", {"data": [lead() for _ in range(25)], "trigger": []})
    assert stats(z)["credits_used"] - before == 3


def test_read_only_token_cannot_write(org, z):
    grant = z.admin("POST", "grant", json={"scopes": "read"}).json()
    ro = ZohoClient(org, refresh_token=grant["refresh_token"])
    for method, path, body in [("POST", "/Leads", {"data": [lead()]}), ("PUT", "/Leads", {"data": [{"id": "1"}]}),
                               ("POST", "/Leads/upsert", {"data": [lead()]}), ("DELETE", "/Leads?ids=1", None)]:
        r = ro.request(method, path, data=json.dumps(body) if body else None)
        assert r.status_code == 401, (method, path)
        assert r.json() == {"code": "OAUTH_SCOPE_MISMATCH", "details": {},
                            "message": "invalid oauth scope to access this URL", "status": "error"}
    assert ro.get("/Leads/deleted").status_code in (200, 204)


def test_v7_paths_write_too(org):
    z7 = ZohoClient(org, version="v7")
    assert send(z7, "POST", "/Accounts", {"data": [{"Account_Name": uniq("Acc ")}]}).status_code == 201


# -- delete and the deleted list ------------------------------------------------------------------

def test_delete_by_ids_and_by_path(z):
    a, b, c = _new_lead(z), _new_lead(z), _new_lead(z)
    r = z.delete("/Leads", params={"ids": f"{a},{b}"})
    assert r.status_code == 200
    assert r.json() == {"data": [{"code": "SUCCESS", "details": {"id": a}, "message": "record deleted",
                                  "status": "success"},
                                 {"code": "SUCCESS", "details": {"id": b}, "message": "record deleted",
                                  "status": "success"}]}
    r = z.delete("/Leads", params={"ids": f"{c},{a},abc"})
    assert r.status_code == 207
    assert [e["status"] for e in r.json()["data"]] == ["success", "error", "error"]
    assert r.json()["data"][2]["details"] == {"id": "abc"}
    r = z.delete(f"/Leads/{a}")
    assert r.status_code == 400 and r.json()["data"][0]["message"] == "the id given seems to be invalid"
    assert not {a, b, c} & {rec["id"] for rec in z.export("Leads")}


def test_delete_limits(z):
    r = z.delete("/Leads", params={"ids": ",".join(str(i) for i in range(1, 102))})
    assert r.status_code == 400 and r.json()["code"] == "LIMIT_EXCEEDED" and r.json()["details"] == {"limit": 100}
    r = z.delete("/Leads")
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_a_body_parsed_for_its_record_count_is_handed_to_the_handler_once():
    """``record_count`` (is the call heavy?) parses the body before the handler does; the handler gets that
    parse, once: a later ``json()`` parses again, and a body that is no JSON still answers INVALID_DATA."""
    import pytest

    from connector.emulator.handlers.write_common import record_count
    from connector.emulator.http import Headers, Request
    from connector.emulator.zoho_errors import ZohoError

    req = Request.build("POST", "/crm/v8/Leads", Headers(), b'{"data": [{"Last_Name": "A"}, {}]}')
    assert record_count(req) == 2
    first = req.json()
    assert first == {"data": [{"Last_Name": "A"}, {}]}
    first["data"].clear()  # a handler may change what it got
    assert req.json() == {"data": [{"Last_Name": "A"}, {}]}
    bad = Request.build("POST", "/crm/v8/Leads", Headers(), b'{"data": [')
    assert record_count(bad) == 0
    with pytest.raises(ZohoError) as err:
        bad.json()
    assert err.value.status == 400
    assert record_count(Request.build("POST", "/crm/v8/Leads", Headers(), b"[1, 2]")) == 0
