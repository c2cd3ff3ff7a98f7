"""Record photos in migrations: ``Record_Image`` (Zoho's photo id) gains its file, byte-exact.

The bytes come by the Photo API (``GET /{module}/{id}/photo``): each photo lands at
``_files/<Module>/<record id>/Record_Image/photo.<ext>`` and the row gains ``Record_Image_Path``,
``Record_Image_Size`` and ``Record_Image_SHA256``; an incremental run fetches only new photos and
removes the ones a record no longer has.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.emulator import Emulator
from connector.sync import migrate

from ..conftest import ZohoClient
from .test_record_files import check_private, read_target, target_of

MODULES = ["Leads", "Accounts"]


def photo_calls(emu: Emulator) -> int:
    return int(emu.stats()["calls"].get("get_photo", 0))


def png(text: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    pixel = hashlib.sha256(text).digest()[:3]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" + pixel)) + chunk(b"IEND", b""))


def assert_photos_match(client: ZohoClient, kind: str, where: Path, base: Path, module: str) -> int:
    """Every record's photo is where its row says, with the bytes the Photo API gives; the rest have none."""
    rows = {r["id"]: r for r in read_target(kind, where, module)}
    files_root = base / ("crm.duckdb.files" if kind == "duckdb" else "_files")
    truth = {r["id"]: r["Record_Image"] for r in client.export(module)}
    assert sorted(rows) == sorted(truth)
    n = 0
    for rid, photo_id in truth.items():
        r = rows[rid]
        assert r["Record_Image"] == photo_id
        if not photo_id:
            assert (r["Record_Image_Path"], r["Record_Image_Size"], r["Record_Image_SHA256"]) == (None, None, None)
            assert not (files_root / module / rid / "Record_Image").exists()
            continue
        want = client.get(f"/{module}/{rid}/photo")
        assert want.status_code == 200
        data = (base / r["Record_Image_Path"]).read_bytes()
        assert data == want.content
        assert len(data) == r["Record_Image_Size"] and hashlib.sha256(data).hexdigest() == r["Record_Image_SHA256"]
        ext = {"image/png": ".png", "image/jpeg": ".jpg"}[want.headers["Content-Type"]]
        assert r["Record_Image_Path"].endswith(f"/{module}/{rid}/Record_Image/photo{ext}")
        check_private(base / r["Record_Image_Path"])
        n += 1
    return n


@pytest.mark.parametrize("kind", ["parquet", "csv", "duckdb"])
def test_migration_carries_photos_byte_exact(kind: str, make_emulator: Callable[..., Emulator],
                                             tmp_path: Path) -> None:
    emu = make_emulator(records=300, seed=24)
    client = ZohoClient(emu)
    url, where, base = target_of(kind, tmp_path)
    result = migrate(emu.connection_string, url, modules=MODULES)
    assert result.ok, [(m.module, m.error, m.notes) for m in result.modules]
    fetched = photo_calls(emu)
    n = sum(assert_photos_match(client, kind, where, base, m) for m in MODULES)
    assert n >= 10 and fetched == n  # one GET a photo, none for a record without one


def test_incremental_fetches_only_new_photos_and_drops_gone_ones(make_emulator: Callable[..., Emulator],
                                                                 tmp_path: Path) -> None:
    emu = make_emulator(records=300, seed=25)
    client = ZohoClient(emu)
    out = tmp_path / "out"
    url = f"parquet:{out}"
    assert migrate(emu.connection_string, url, modules=MODULES).ok

    before = photo_calls(emu)
    quiet = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert quiet.ok and photo_calls(emu) == before, "a run with nothing new downloads no photo"

    leads = client.export("Leads")
    bare = next(r for r in leads if not r["Record_Image"])
    had = [r for r in leads if r["Record_Image"]]
    replaced, removed = had[0], had[1]
    old = {r["id"]: r["Record_Image_Path"] for r in read_target("parquet", out, "Leads")}
    new_image, other_image = png(b"new"), b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x07" * 40 + b"\xff\xd9"
    assert client.post(f"/Leads/{bare['id']}/photo", files={"file": ("a.png", new_image)}).status_code == 200
    assert client.post(f"/Leads/{replaced['id']}/photo", files={"file": ("b.jpg", other_image)}).status_code == 200
    assert client.delete(f"/Leads/{removed['id']}/photo").status_code == 200
    emu.advance_clock(2)

    before = photo_calls(emu)
    run = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert run.ok, [(m.module, m.error) for m in run.modules]
    assert photo_calls(emu) - before == 2, "only the two new photos are fetched"
    rows = {r["id"]: r for r in read_target("parquet", out, "Leads")}
    assert (out / rows[bare["id"]]["Record_Image_Path"]).read_bytes() == new_image
    assert rows[replaced["id"]]["Record_Image_Path"].endswith("/Record_Image/photo.jpg")
    assert (out / rows[replaced["id"]]["Record_Image_Path"]).read_bytes() == other_image
    assert not (out / old[replaced["id"]]).exists(), "the replaced photo's file went"
    assert rows[removed["id"]]["Record_Image_Path"] is None
    assert not (out / "_files" / "Leads" / removed["id"] / "Record_Image").exists()
    assert assert_photos_match(client, "parquet", out, out, "Leads") >= 5
