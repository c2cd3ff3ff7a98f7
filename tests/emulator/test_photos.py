"""The Photo API over HTTP: ``GET/POST/DELETE /{module}/{id}/photo`` and the ``Record_Image`` it drives.

Shapes and codes from Zoho's v8 ``record_photo.json`` (200 image / 204 none; a top-level SUCCESS;
413 FILE_SIZE_EXCEEDS; 415 INVALID_DATA "invalid file type").
"""

from __future__ import annotations

import hashlib
import struct
import zlib

from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("A small org whose record photos the tests change.", records=300, seed=12)
z = client_fixture("org")


def png(text: bytes) -> bytes:
    """A 1x1 PNG (its one pixel from ``text``): a valid image of its own bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    pixel = hashlib.sha256(text).digest()[:3]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" + pixel)) + chunk(b"IEND", b""))


def with_photo(z: ZohoClient, module: str, has: bool) -> dict[str, object]:
    return next(r for r in z.export(module) if bool(r["Record_Image"]) == has)


def test_generated_photos_are_pngs_and_deterministic(z: ZohoClient) -> None:
    leads = z.export("Leads")
    share = sum(1 for r in leads if r["Record_Image"]) / len(leads)
    assert 0.03 < share < 0.2  # about a tenth of the leads have a photo
    rec = with_photo(z, "Leads", True)
    r = z.get(f"/Leads/{rec['id']}/photo")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and r.content.endswith(b"IEND\xaeB`\x82")
    assert z.get(f"/Leads/{rec['id']}/photo").content == r.content  # the same bytes every time
    other = [x for x in leads if x["Record_Image"] and x["id"] != rec["id"]][0]
    assert z.get(f"/Leads/{other['id']}/photo").content != r.content
    got = z.get(f"/Leads/{rec['id']}", params={"fields": "Record_Image"}).json()["data"][0]
    assert got["Record_Image"] == rec["Record_Image"] and isinstance(got["Record_Image"], str)


def test_no_photo_is_204(z: ZohoClient) -> None:
    rec = with_photo(z, "Accounts", False)
    r = z.get(f"/Accounts/{rec['id']}/photo")
    assert r.status_code == 204 and r.content == b""


def test_upload_replaces_and_delete_removes(z: ZohoClient) -> None:
    rec = with_photo(z, "Leads", False)
    path = f"/Leads/{rec['id']}/photo"
    before = z.get(f"/Leads/{rec['id']}").json()["data"][0]
    image = png(b"first")
    r = z.post(path, files={"file": ("me.png", image, "image/png")})
    assert r.status_code == 200, r.text
    assert r.json() == {"code": "SUCCESS", "message": "Photo uploaded successfully", "status": "success",
                        "details": {}}
    got = z.get(path)
    assert got.status_code == 200 and got.content == image and got.headers["Content-Type"] == "image/png"
    after = z.get(f"/Leads/{rec['id']}").json()["data"][0]
    first_id = after["Record_Image"]
    assert first_id and after["Modified_Time"] >= before["Modified_Time"]
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64 + b"\xff\xd9"
    assert z.post(path, files={"file": ("me.jpg", jpeg)}).status_code == 200
    got = z.get(path)
    assert got.content == jpeg and got.headers["Content-Type"] == "image/jpeg"
    assert z.get(f"/Leads/{rec['id']}").json()["data"][0]["Record_Image"] not in (None, first_id)
    r = z.delete(path)
    assert r.status_code == 200 and r.json()["message"] == "Photo deleted successfully"
    assert z.get(path).status_code == 204
    assert z.get(f"/Leads/{rec['id']}").json()["data"][0]["Record_Image"] is None


def test_upload_errors(z: ZohoClient) -> None:
    rec = with_photo(z, "Accounts", True)
    path = f"/Accounts/{rec['id']}/photo"
    r = z.post(path, files={"file": ("notes.txt", b"plain text, not an image")})
    assert r.status_code == 415 and r.json() == {"code": "INVALID_DATA", "details": {},
                                                 "message": "invalid file type", "status": "error"}
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    r = z.post(path, files={"file": ("big.png", big)})
    assert r.status_code == 413 and r.json()["code"] == "FILE_SIZE_EXCEEDS"
    assert r.json()["details"] == {"size": 10 * 1024 * 1024}
    r = z.post(path, files={"other": ("x.png", png(b"x"))})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"
    # nothing changed: the generated photo is still there
    assert z.get(path).content.startswith(b"\x89PNG")


def test_bad_module_record_and_module_without_photo(z: ZohoClient) -> None:
    r = z.get("/Leads/123/photo")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA" and r.json()["details"] == {"id": "123"}
    r = z.get("/Nope/123/photo")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"
    deal = z.export("Deals")[0]
    r = z.get(f"/Deals/{deal['id']}/photo")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_URL_PATTERN"


def test_calls_are_counted_by_endpoint(z: ZohoClient) -> None:
    rec = with_photo(z, "Accounts", True)
    before = z.admin("GET", "stats").json()
    z.get(f"/Accounts/{rec['id']}/photo")
    after = z.admin("GET", "stats").json()
    assert after["calls"].get("get_photo", 0) == before["calls"].get("get_photo", 0) + 1
    assert after["credits_used"] == before["credits_used"] + 1


def test_scopes(z: ZohoClient, org: object) -> None:
    rec = with_photo(z, "Leads", True)
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.leads.READ"}).json()
    reader = ZohoClient(org, refresh_token=grant["refresh_token"])  # type: ignore[arg-type]
    assert reader.get(f"/Leads/{rec['id']}/photo").status_code == 200
    r = reader.post(f"/Leads/{rec['id']}/photo", files={"file": ("a.png", png(b"a"))})
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
