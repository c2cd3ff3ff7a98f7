"""Files over HTTP: the Files API, attachments, and file/image upload fields, byte for byte.

Generated files are derived from the seed (the same seed serves the same bytes), uploaded
ones are kept as sent; the admin export carries every file's SHA-256 and
``/__emulator/files/{id}`` serves the bytes without credits, as ground truth.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from connector.emulator import Emulator
from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org whose files and attachments the tests change.", records=300, seed=8,
                  org="enterprise")
z = client_fixture("org")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def an_attachment(z: ZohoClient, link: bool = False) -> dict[str, Any]:
    return next(a for a in z.export("Attachments") if bool(a["$link_url"]) == link)


def parent_path(att: dict[str, Any]) -> str:
    return f"/{att['$se_module']}/{att['Parent_Id']['id']}"


def upload(z: ZohoClient, *named: tuple[str, bytes]) -> list[str]:
    r = z.post("/files", files=[("file", item) for item in named])
    assert r.status_code == 200, r.text
    return [d["details"]["id"] for d in r.json()["data"]]


# -- Files API ----------------------------------------------------------------------------------

def test_uploaded_files_come_back_byte_for_byte(z: ZohoClient) -> None:
    blobs = [("a, b.pdf", b"%PDF-1.4\x00\xff" * 1000), ("Gr\u00fc\u00dfe.csv", "x;y\n\u00e4;1\n".encode())]
    r = z.post("/files", files=[("file", b) for b in blobs])
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["details"]["name"] for d in data] == ["a, b.pdf", "Gr\u00fc\u00dfe.csv"]
    assert all(d["code"] == "SUCCESS" and len(d["details"]["id"]) == 64 for d in data)
    assert data[0]["message"] == "a, b.pdf uploaded Successfully"
    for d, (_name, content) in zip(data, blobs, strict=True):
        got = z.get("/files", params={"id": d["details"]["id"]})
        assert got.status_code == 200 and got.content == content
        assert got.headers["Content-Type"] == "application/x-download"
        assert "attachment;" in got.headers["Content-Disposition"]
        admin = z.admin("GET", f"files/{d['details']['id']}")
        assert admin.content == content and admin.headers["X-Content-SHA256"] == sha(content)


@pytest.mark.parametrize("case, status, code", [
    ("no file part", 400, "INVALID_REQUEST"),
    ("eleven files", 400, "LIMIT_EXCEEDED"),
    ("over 20 MB", 400, "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"),
    ("bad type", 400, "INVALID_DATA"),
])
def test_bad_uploads_are_refused_whole(z: ZohoClient, case: str, status: int, code: str) -> None:
    if case == "no file part":
        r = z.post("/files", files=[("other", ("x.txt", b"x"))])
    elif case == "eleven files":
        r = z.post("/files", files=[("file", (f"f{i}.txt", b"x")) for i in range(11)])
    elif case == "over 20 MB":
        r = z.post("/files", files=[("file", ("big.bin", b"\0" * (20 * 1024 * 1024 + 1)))])
    else:
        r = z.post("/files", params={"type": "zip"}, files=[("file", ("x.txt", b"x"))])
    assert (r.status_code, r.json()["code"]) == (status, code)


def test_downloading_an_unknown_or_missing_file_id(z: ZohoClient) -> None:
    assert z.get("/files", params={"id": "0" * 64}).json()["code"] == "INVALID_DATA"
    assert z.get("/files").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_the_files_api_needs_a_files_scope(org: Emulator, z: ZohoClient) -> None:
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.ALL"}).json()
    r = ZohoClient(org, refresh_token=grant["refresh_token"]).post("/files", files=[("file", ("x.txt", b"x"))])
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.Files.CREATE"}).json()
    assert ZohoClient(org, refresh_token=grant["refresh_token"]).post(
        "/files", files=[("file", ("x.txt", b"x"))]).status_code == 200


def test_generated_files_are_the_same_for_the_same_seed() -> None:
    digests = []
    for _ in range(2):
        with Emulator(records=120, seed=4, org="enterprise") as emu:
            c = ZohoClient(emu)
            atts = [a for a in c.export("Attachments") if a["$file_id"]][:5]
            digests.append([sha(c.get("/files", params={"id": a["$file_id"]}).content) for a in atts])
            assert digests[-1] == [a["$sha256"] for a in atts]
    assert digests[0] == digests[1]


# -- Attachments API --------------------------------------------------------------------------

def test_a_records_attachments_in_zohos_shape(z: ZohoClient) -> None:
    att = an_attachment(z)
    r = z.get(parent_path(att) + "/Attachments", params={"fields": "File_Name,Size,Parent_Id,Owner,Created_Time"})
    assert r.status_code == 200, r.text
    row = next(a for a in r.json()["data"] if a["id"] == att["id"])
    assert row["Size"] == str(att["Size"]) and row["File_Name"] == att["File_Name"]
    assert row["Parent_Id"] == {"name": att["Parent_Id"]["name"], "id": att["Parent_Id"]["id"]}
    assert row["$se_module"] == att["$se_module"] and row["$type"] == "Attachment"
    assert row["$file_id"] == att["$file_id"] and row["$link_url"] is None and row["$editable"] is True
    link = an_attachment(z, link=True)
    got = z.get(parent_path(link) + "/Attachments", params={"fields": "File_Name"}).json()["data"]
    row = next(a for a in got if a["id"] == link["id"])
    assert row["$type"] == "Link URL" and row["$link_url"].startswith("https://") and row["$file_id"] is None


def test_downloading_an_attachment_gives_its_bytes(z: ZohoClient) -> None:
    att = an_attachment(z)
    r = z.get(parent_path(att) + f"/Attachments/{att['id']}")
    assert r.status_code == 200 and sha(r.content) == att["$sha256"] and len(r.content) == int(att["Size"])
    assert r.headers["Content-Type"] != "application/json"
    assert z.get(parent_path(att) + "/Attachments/5843104389999999999").status_code == 204


def test_upload_list_download_and_delete_an_attachment(z: ZohoClient) -> None:
    deal = z.export("Deals")[3]
    base = f"/Deals/{deal['id']}/Attachments"
    content = bytes(range(256)) * 40
    r = z.post(base, files={"file": ("Angebot M\u00fcller.pdf", content)})
    assert r.status_code == 200, r.text
    made = r.json()["data"][0]
    assert made["message"] == "attachment uploaded successfully" and made["details"]["Created_By"]["id"]
    new_id = made["details"]["id"]
    listed = z.get(base, params={"fields": "File_Name,Size"}).json()["data"]
    row = next(a for a in listed if a["id"] == new_id)
    assert (row["File_Name"], row["Size"]) == ("Angebot M\u00fcller.pdf", str(len(content)))
    got = z.get(f"{base}/{new_id}")
    assert got.content == content and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"] == "attachment; filename*=UTF-8''Angebot%20M%C3%BCller.pdf"
    link = z.post(base, params={"attachmentUrl": "https://docs.example.com/x", "title": "Spec"}).json()["data"][0]
    r = z.delete(base, params={"ids": f"{new_id},{link['details']['id']},5843104380000000000"})
    assert r.status_code == 207
    assert [d["status"] for d in r.json()["data"]] == ["success", "success", "error"]
    after = z.get(base, params={"fields": "File_Name"})
    assert after.status_code == 204 or new_id not in {a["id"] for a in after.json()["data"]}


@pytest.mark.parametrize("case, code", [
    ("file and link", "INVALID_REQUEST"),
    ("nothing", "INVALID_REQUEST"),
    ("too big", "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"),
    ("no fields", "REQUIRED_PARAM_MISSING"),
    ("unknown record", "INVALID_DATA"),
    ("no attachments here", "INVALID_DATA"),
])
def test_attachment_requests_refused(z: ZohoClient, case: str, code: str) -> None:
    lead = z.export("Leads")[2]
    base = f"/Leads/{lead['id']}/Attachments"
    if case == "file and link":
        r = z.post(base, params={"attachmentUrl": "https://x.example"}, files={"file": ("a.txt", b"a")})
    elif case == "nothing":
        r = z.post(base, data={"title": "x"})
    elif case == "too big":
        r = z.post(base, files={"file": ("big.bin", b"\0" * (20 * 1024 * 1024 + 1))})
    elif case == "no fields":
        r = z.get(base)
    elif case == "unknown record":
        r = z.get("/Leads/5843104139999999999/Attachments", params={"fields": "File_Name"})
    else:
        milestone = z.export("Project_Milestones")[0]
        r = z.get(f"/Project_Milestones/{milestone['id']}/Attachments", params={"fields": "File_Name"})
    assert (r.status_code, r.json()["code"]) == (400, code), r.text


def test_attachments_need_the_attachments_scope_and_are_no_records_module(org: Emulator, z: ZohoClient) -> None:
    att = an_attachment(z)
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.leads.ALL,ZohoCRM.modules.contacts.ALL,"
                                                     "ZohoCRM.modules.accounts.ALL,ZohoCRM.modules.deals.ALL"}).json()
    r = ZohoClient(org, refresh_token=grant["refresh_token"]).get(
        parent_path(att) + "/Attachments", params={"fields": "File_Name"})
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    r = z.get("/Attachments", params={"fields": "File_Name"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_MODULE")
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": "Attachments"}}})
    assert (r.status_code, r.json()["code"]) == (400, "MODULE_NOT_SUPPORTED")
    modules = {m["api_name"]: m for m in z.get("/settings/modules").json()["modules"]}
    assert modules["Attachments"]["api_supported"] is False and modules["Notes"]["api_supported"] is True


def test_deleting_a_record_deletes_its_attachments(z: ZohoClient) -> None:
    account = z.export("Accounts")[11]
    base = f"/Accounts/{account['id']}/Attachments"
    new_id = z.post(base, files={"file": ("x.pdf", b"x")}).json()["data"][0]["details"]["id"]
    assert z.delete(f"/Accounts/{account['id']}").json()["data"][0]["status"] == "success"
    assert new_id not in {a["id"] for a in z.export("Attachments")}


# -- file-upload and image-upload fields ---------------------------------------------------------

def test_generated_upload_fields_name_real_files(z: ZohoClient) -> None:
    project = next(p for p in z.export("Projects") if p["Contract"] and p["Photos"])
    for field in ("Contract", "Photos"):
        for entry in project[field]:
            r = z.get(f"/Projects/{project['id']}/actions/download_fields_attachment",
                      params={"fields_attachment_id": entry["id"]})
            assert r.status_code == 200 and len(r.content) == int(entry["Size__s"])
            assert sha(r.content) == entry["$sha256"]
            assert z.get("/files", params={"id": entry["File_Id__s"]}).content == r.content
    assert all(set(e) >= {"File_Name__s", "File_Id__s", "Size__s", "id"} for e in project["Contract"])
    assert all(e["State__s"] == "active" for e in project["Photos"])


def test_writing_upload_fields_adds_and_deletes_entries(z: ZohoClient) -> None:
    first, second, image = upload(z, ("terms.pdf", b"terms"), ("annex.docx", b"annex"), ("site.png", b"png!"))
    made = z.post("/Projects", json={"data": [{"Name": "With files", "Contract": [{"File_Id__s": first}],
                                               "Photos": [{"File_Id__s": image, "Description__s": "front"}]}]})
    assert made.status_code == 201, made.text
    pid = made.json()["data"][0]["details"]["id"]
    rec = z.get(f"/Projects/{pid}").json()["data"][0]
    assert [(e["File_Name__s"], e["Size__s"]) for e in rec["Contract"]] == [("terms.pdf", "5")]
    assert rec["Photos"][0]["Description__s"] == "front" and rec["Photos"][0]["File_Id__s"] == image
    entry = rec["Contract"][0]["id"]
    assert z.put(f"/Projects/{pid}", json={"data": [{"Contract": [{"File_Id__s": second}]}]}).status_code == 200
    assert [e["File_Name__s"] for e in z.get(f"/Projects/{pid}").json()["data"][0]["Contract"]] == \
        ["terms.pdf", "annex.docx"]
    assert z.put(f"/Projects/{pid}", json={"data": [{"Contract": [{"id": entry, "_delete": None}]}]}).status_code == 200
    after = z.get(f"/Projects/{pid}").json()["data"][0]["Contract"]
    assert [e["File_Name__s"] for e in after] == ["annex.docx"]
    got = z.get(f"/Projects/{pid}/actions/download_fields_attachment", params={"fields_attachment_id": after[0]["id"]})
    assert got.content == b"annex"


@pytest.mark.parametrize("value, code", [
    ([{"File_Id__s": "0" * 64}], "INVALID_DATA"),
    ([{"File_Name__s": "no id.pdf"}], "MANDATORY_NOT_FOUND"),
    ({"File_Id__s": "x"}, "INVALID_DATA"),
    ("six", "LIMIT_EXCEEDED"),
])
def test_bad_upload_field_values_fail_per_record(z: ZohoClient, value: Any, code: str) -> None:
    if value == "six":
        value = [{"File_Id__s": fid} for fid in upload(z, *[(f"f{i}.pdf", b"x") for i in range(6)])]
    r = z.post("/Projects", json={"data": [{"Name": "Bad files", "Contract": value}]})
    assert r.status_code == 400, r.text
    assert r.json()["data"][0]["code"] == code
    assert r.json()["data"][0]["details"]["api_name"] in ("Contract", "File_Id__s")


def test_a_classic_org_serves_its_upload_fields_too(zoho: ZohoClient) -> None:
    project = next(p for p in zoho.export("Projects") if p["Contract"])
    entry = project["Contract"][0]
    r = zoho.get(f"/Projects/{project['id']}/actions/download_fields_attachment",
                 params={"fields_attachment_id": entry["id"]})
    assert r.status_code == 200 and sha(r.content) == entry["$sha256"]
    assert json.loads(json.dumps(project["Contract"]))  # plain JSON in the export
