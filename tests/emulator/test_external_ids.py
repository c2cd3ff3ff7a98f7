"""``X-EXTERNAL: Leads.External_Ref``: an external-ID field instead of the record id (records.md section 1).

Get, update (by path and in bulk), upsert and delete name records by the external value; without
the header nothing changes (a non-numeric path segment is still an unknown URL).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from tests.conftest import ZohoClient

EXT = {"X-EXTERNAL": "Leads.External_Ref"}


@pytest.fixture(scope="module")
def xz() -> Iterator[ZohoClient]:
    with Emulator(records=300, seed=23) as emu:
        yield ZohoClient(emu)


def uniq(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def send(z: ZohoClient, method: str, path: str, body: Any, headers: dict[str, str] | None = None
         ) -> requests.Response:
    return z.request(method, path, data=json.dumps(body), headers=headers)


def new_lead(z: ZohoClient, **fields: Any) -> tuple[str, str]:
    """(record id, external value) of a fresh lead."""
    ref = uniq("ext-")
    r = send(z, "POST", "/Leads", {"data": [{"Last_Name": uniq("L"), "External_Ref": ref, **fields}], "trigger": []})
    assert r.status_code == 201, r.text
    return str(r.json()["data"][0]["details"]["id"]), ref


def test_field_metadata_marks_the_external_field(xz):
    fields = {f["api_name"]: f for f in xz.get("/settings/fields", params={"module": "Leads"}).json()["fields"]}
    assert fields["External_Ref"]["external"] == {"type": "org", "show": True}
    assert all(f["external"] is None for name, f in fields.items() if name != "External_Ref")


def test_get_by_external_value(xz):
    rid, ref = new_lead(xz, City="Pune")
    by_id = xz.get(f"/Leads/{rid}").json()["data"][0]
    r = xz.get(f"/Leads/{ref}", headers=EXT)
    assert r.status_code == 200, r.text
    assert r.json()["data"][0] == by_id
    assert xz.get(f"/Leads/{ref.upper()}", headers=EXT).json()["data"][0]["id"] == rid  # like the unique check
    assert xz.get("/Leads/no-such-ref", headers=EXT).status_code == 204
    # Under the header a numeric segment is an external value too, not an id.
    assert xz.get(f"/Leads/{rid}", headers=EXT).status_code == 204


def test_without_the_header_nothing_changes(xz):
    rid, ref = new_lead(xz)
    r = xz.get(f"/Leads/{ref}")
    assert r.status_code == 404 and r.json()["code"] == "INVALID_URL_PATTERN"
    r = requests.get(f"{xz.base}/Leads/{ref}", timeout=30)  # no token: still routed before authentication
    assert r.status_code == 404 and r.json()["code"] == "INVALID_URL_PATTERN"
    assert xz.get(f"/Leads/{rid}").json()["data"][0]["External_Ref"] == ref
    # Specific paths keep their handlers under the header.
    r = xz.get("/Leads/search", params={"criteria": f"(External_Ref:equals:{ref})"}, headers=EXT)
    assert r.status_code == 200 and [x["id"] for x in r.json()["data"]] == [rid]


@pytest.mark.parametrize("header", ["Leads.Email", "Leads.No_Such_Field", "Contacts.External_Ref",
                                    "Leads.Referrer.External_Ref"])
def test_a_header_not_naming_an_external_field_is_invalid(xz, header):
    rid, ref = new_lead(xz)
    r = xz.get(f"/Leads/{ref}", headers={"X-EXTERNAL": header})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "INVALID_DATA" and body["details"]["header_name"] == "X-EXTERNAL"
    assert body["details"]["supported_values"] == ["Leads.External_Ref"]


def test_update_by_path_and_in_bulk(xz):
    (a, ref_a), (b, ref_b) = new_lead(xz), new_lead(xz)
    r = send(xz, "PUT", f"/Leads/{ref_a}", {"data": [{"City": "Graz"}]}, EXT)
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["details"]["id"] == a
    r = send(xz, "PUT", "/Leads", {"data": [{"External_Ref": ref_b, "City": "Linz"},
                                            {"External_Ref": "ext-unknown", "City": "X"},
                                            {"City": "no key"}]}, EXT)
    assert r.status_code == 207, r.text
    ok, unknown, missing = r.json()["data"]
    assert ok["status"] == "success" and ok["details"]["id"] == b
    assert (unknown["code"], unknown["message"]) == ("INVALID_DATA", "the id given seems to be invalid")
    assert unknown["details"] == {"api_name": "External_Ref", "json_path": "$.data[1].External_Ref"}
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"] == {"api_name": "External_Ref", "json_path": "$.data[2].External_Ref"}
    assert xz.get(f"/Leads/{a}").json()["data"][0]["City"] == "Graz"
    assert xz.get(f"/Leads/{b}").json()["data"][0]["City"] == "Linz"
    r = send(xz, "PUT", "/Leads/ext-unknown", {"data": [{"City": "X"}]}, EXT)
    assert r.status_code == 400 and r.json()["data"][0]["details"] == {"id": "ext-unknown"}


def test_upsert_matches_the_external_field_first(xz):
    rid, ref = new_lead(xz)
    rec = {"Last_Name": "Upserted", "Email": f"{uniq('u')}@ext.example", "External_Ref": ref}
    body = {"data": [rec], "duplicate_check_fields": ["Email"], "trigger": []}
    # Without the header only Email is checked: no match, and the insert clashes on the unique External_Ref.
    r = send(xz, "POST", "/Leads/upsert", body)
    assert r.json()["data"][0]["code"] == "DUPLICATE_DATA", r.text
    r = send(xz, "POST", "/Leads/upsert", body, EXT)
    assert r.status_code == 200, r.text
    entry = r.json()["data"][0]
    assert (entry["action"], entry["duplicate_field"], entry["details"]["id"]) == ("update", "External_Ref", rid)
    assert xz.get(f"/Leads/{rid}").json()["data"][0]["Last_Name"] == "Upserted"


def test_delete_by_path_and_by_ids(xz):
    (a, ref_a), (b, ref_b), (c, ref_c) = new_lead(xz), new_lead(xz), new_lead(xz)
    r = xz.delete(f"/Leads/{ref_a}", headers=EXT)
    assert r.status_code == 200 and r.json()["data"][0]["details"] == {"id": a}
    r = xz.delete("/Leads", params={"ids": f"{ref_b},{ref_c},ext-unknown"}, headers=EXT)
    assert r.status_code == 207, r.text
    assert [e["details"] for e in r.json()["data"]] == [{"id": b}, {"id": c}, {"id": "ext-unknown"}]
    assert not {a, b, c} & {rec["id"] for rec in xz.export("Leads")}
