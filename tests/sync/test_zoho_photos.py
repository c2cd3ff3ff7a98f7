"""Record photos into Zoho: org A -> parquet -> a fresh org B re-uploads each photo by the Photo API.

Two real emulators over HTTP. Every photo A's records have arrives on the mapped record in B,
byte-exact (SHA-256 compared); a second run sends nothing; a run stopped after sending (its ledger
line left ``sending``) finds the photo that arrived instead of sending it twice, and sends the one
that did not; a photo removed at the source is removed from B.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from connector.emulator import Emulator
from connector.sync import migrate, run
from connector.sync.files import FileSource
from connector.sync.target_zoho import ZohoTarget

from ..conftest import ZohoClient
from .helpers import session
from .roundtrip import id_maps

MODULES = ["Accounts", "Leads"]
WRITES = ";AllowedOperations=read,insert,update,delete;AllowedModules=" + ",".join(MODULES)


def into(b: Emulator, source: Path, state: Path) -> Any:
    with FileSource(source, "parquet") as src, ZohoTarget(session(b, WRITES), state_path=state) as target:
        return run(src, target, modules=MODULES)




def shas(folder: Path, module: str) -> dict[str, str]:
    """Record id -> the SHA-256 of the photo file a migration out of Zoho wrote (checked against the file)."""
    out = {}
    for r in pq.read_table(folder / f"{module}.parquet").to_pylist():
        if r["Record_Image_Path"]:
            data = (folder / r["Record_Image_Path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == r["Record_Image_SHA256"]
            out[r["id"]] = r["Record_Image_SHA256"]
    return out


def uploads(b: Emulator) -> int:
    return int(b.stats()["calls"].get("upload_photo", 0))


def test_photos_arrive_once_byte_exact_and_resume_after_a_stop(tmp_path: Path) -> None:
    a_out, state = tmp_path / "a", tmp_path / "state.duckdb"
    with Emulator(records=300, seed=47) as a, Emulator(records=0, seed=47) as b:
        assert migrate(a.connection_string, f"parquet:{a_out}", modules=MODULES).ok
        res = into(b, a_out, state)
        assert all(m.error is None for m in res.modules), res.as_rows()
        assert not any("not in the target" in n for m in res.modules for n in m.notes), res.as_rows()
        maps = id_maps(state)

        def copied() -> dict[str, dict[str, str]]:
            b_out = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
            assert migrate(b.connection_string, f"parquet:{b_out}", modules=MODULES).ok
            return {m: shas(b_out, m) for m in MODULES}

        # (a few generated leads repeat an External_Ref and are refused as duplicates: not migrated)
        want = {m: {maps[m][s]: h for s, h in shas(a_out, m).items() if s in maps[m]} for m in MODULES}
        assert sum(len(v) for v in want.values()) >= 10
        assert copied() == want
        sent = uploads(b)
        assert sent == sum(len(v) for v in want.values())

        again = into(b, a_out, state)
        assert all(m.error is None for m in again.modules), again.as_rows()
        assert uploads(b) == sent, "a second run sends no photo again"

        # A stop after sending: one photo arrived (found, not sent again), one did not (sent once).
        arrived_sid, lost_sid, gone_sid = sorted(s for s in shas(a_out, "Leads") if s in maps["Leads"])[:3]
        lost_target = maps["Leads"][lost_sid]
        con = duckdb.connect(str(state))
        try:
            con.execute("UPDATE child_writes SET status = 'sending' WHERE module = 'Leads' AND slot = 'Record_Image' "
                        "AND source_id IN (?, ?)", [arrived_sid, lost_sid])
        finally:
            con.close()
        assert ZohoClient(b).delete(f"/Leads/{lost_target}/photo").status_code == 200
        resumed = into(b, a_out, state)
        assert all(m.error is None for m in resumed.modules), resumed.as_rows()
        assert uploads(b) == sent + 1, "only the photo that never arrived is sent"
        assert copied() == want

        # A photo gone at the source goes from the target.
        rows = pq.read_table(a_out / "Leads.parquet")
        table = rows.to_pylist()
        for r in table:
            if r["id"] == gone_sid:
                r["Record_Image"] = r["Record_Image_Path"] = r["Record_Image_SHA256"] = None
                r["Record_Image_Size"] = None
        pq.write_table(type(rows).from_pylist(table, schema=rows.schema), a_out / "Leads.parquet")
        into(b, a_out, state)
        want["Leads"].pop(maps["Leads"][gone_sid])
        assert copied() == want
