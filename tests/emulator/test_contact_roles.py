"""Contact roles as Zoho documents them: the role picklist, a deal's contacts with their role, link and delink.

Over HTTP against a private enterprise org: ``GET /Contacts/roles``; ``GET /Deals/{id}/Contact_Roles``
(``fields`` required) with ``Contact_Role: {name, id}``; ``PUT .../Contact_Roles/{contact}`` links
or re-roles ("relation updated"), by role id or name; ``DELETE`` ("relation removed", then
"relation not found"); the documented errors; the related list in ``/settings/related_lists``;
a classic org has no such list, and SQL reads ``_Contact_Roles`` there as an empty table.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.session import ZohoSession

from ..conftest import ZohoClient


@pytest.fixture
def client(make_emulator: Callable[..., Emulator]) -> ZohoClient:
    return ZohoClient(make_emulator(records=300, seed=44))


def test_roles_and_a_deals_contacts_with_their_role(client: ZohoClient) -> None:
    roles = client.get("/Contacts/roles").json()["contact_roles"]
    assert [r["sequence_number"] for r in roles] == list(range(1, len(roles) + 1))
    assert {"Purchasing", "Evaluator", "Executive Sponsor"} <= {r["name"] for r in roles}
    link = client.export("Deals_X_Contact_Roles")[0]
    deal, contact = link["Deal"]["id"], link["Contact"]["id"]
    r = client.get(f"/Deals/{deal}/Contact_Roles", params={"fields": "Full_Name,Email"})
    assert r.status_code == 200
    row = next(x for x in r.json()["data"] if x["id"] == contact)
    assert set(row) == {"id", "Full_Name", "Email", "Contact_Role"}
    assert row["Contact_Role"]["id"] == str(link["Contact_Role"])
    assert row["Contact_Role"]["name"] in {x["name"] for x in roles}
    missing = client.get(f"/Deals/{deal}/Contact_Roles")
    assert (missing.status_code, missing.json()["code"]) == (400, "REQUIRED_PARAM_MISSING")
    names = [x["api_name"] for x in client.get("/settings/related_lists", params={"module": "Deals"}).json()
             ["related_lists"]]
    assert "Contact_Roles" in names and "Contacts" not in names  # Zoho's list, not one named after the module


def test_link_re_role_and_delink_a_contact(client: ZohoClient) -> None:
    roles = {r["name"]: r["id"] for r in client.get("/Contacts/roles").json()["contact_roles"]}
    deal = client.export("Deals")[1]["id"]
    linked = {x["Contact"]["id"] for x in client.export("Deals_X_Contact_Roles") if x["Deal"]["id"] == deal}
    contact = next(c["id"] for c in client.export("Contacts") if c["id"] not in linked)
    path = f"/Deals/{deal}/Contact_Roles/{contact}"
    r = client.put(path, json={"data": [{"Contact_Role": {"name": "Evaluator", "id": roles["Evaluator"]}}]})
    assert r.status_code == 200 and r.json()["data"][0] == {"code": "SUCCESS", "details": {"id": contact},
                                                             "message": "relation updated", "status": "success"}
    r = client.put(path, json={"data": [{"Contact_Role": {"name": "Purchasing"}}]})  # by name: re-roled
    assert r.status_code == 200
    got = client.get(path, params={"fields": "Email"}).json()["data"]
    assert [x["Contact_Role"] for x in got] == [{"name": "Purchasing", "id": roles["Purchasing"]}]
    assert sum(1 for x in client.export("Deals_X_Contact_Roles") if x["Deal"]["id"] == deal
               and x["Contact"]["id"] == contact) == 1, "one role per contact and deal"
    gone = client.delete(path)
    assert gone.status_code == 200 and gone.json()["data"][0]["message"] == "relation removed"
    again = client.delete(path)
    assert again.status_code == 400 and again.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    assert client.get(path, params={"fields": "Email"}).status_code == 204


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"data": [{}]}, "MANDATORY_NOT_FOUND", "required field not found"),
    ({"data": [{"Contact_Role": {"name": "Astronaut"}}]}, "INVALID_DATA", "invalid data"),
])
def test_a_bad_role_is_refused(client: ZohoClient, body: dict[str, object], code: str, message: str) -> None:
    deal, contact = client.export("Deals")[0]["id"], client.export("Contacts")[0]["id"]
    r = client.put(f"/Deals/{deal}/Contact_Roles/{contact}", json=body)
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (400, code, message)


def test_unknown_deal_and_contact(client: ZohoClient) -> None:
    deal, contact = client.export("Deals")[0]["id"], client.export("Contacts")[0]["id"]
    body = {"data": [{"Contact_Role": {"name": "Evaluator"}}]}
    r = client.put(f"/Deals/1/Contact_Roles/{contact}", json=body)
    assert r.json()["message"] == "the related id given seems to be invalid"
    r = client.put(f"/Deals/{deal}/Contact_Roles/1", json=body)
    assert (r.status_code, r.json()["message"]) == (400, "the id given seems to be invalid")


def test_a_classic_org_has_no_contact_roles(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(org="classic", records=200, seed=45)
    client = ZohoClient(emu)
    deal = client.export("Deals")[0]["id"]
    r = client.get(f"/Deals/{deal}/Contact_Roles", params={"fields": "Email"})
    assert (r.status_code, r.json()["message"]) == (400, "The relation name given seems to be invalid")
    engine = Engine(ZohoSession(emu.connection_string))
    try:
        assert engine.query_table("SELECT count(*) FROM _Contact_Roles").column(0).to_pylist() == [0]
    finally:
        engine.close()
