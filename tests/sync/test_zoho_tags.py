"""Into Zoho: a tag the source took off a record comes off the target's record too.

A write only adds tags, so a second run must remove, per record, the names it sent before
and does not send now — and only those: a tag someone put on the target's record by hand
stays. Two real emulators over HTTP; the source is a Parquet folder edited between runs.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connector.emulator import Emulator
from connector.sync import migrate
from tests.conftest import ZohoClient

from .helpers import export
from .roundtrip import id_maps

ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Accounts"


def tags_of(emu: Emulator, module: str) -> dict[str, list[str]]:
    return {r["id"]: sorted(t["name"] for t in r["Tag"]) for r in export(emu, module)}


def set_tags(path: Path, changes: dict[str, list[str]]) -> None:
    t = pq.read_table(path)
    rows = t.to_pylist()
    for r in rows:
        if r["id"] in changes:
            r["Tag"] = changes[r["id"]] or None
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), path)


def test_tags_dropped_at_the_source_leave_the_target_and_hand_made_ones_stay(tmp_path: Path) -> None:
    with Emulator(records=300, seed=44) as a, Emulator(records=0, seed=44) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=["Accounts"]).ok
        first = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state))
        assert first.ok, [(m.module, m.error, m.notes) for m in first.modules]
        src = tags_of(a, "Accounts")
        maps = id_maps(state)["Accounts"]
        assert all(tags_of(b, "Accounts")[maps[s]] == src[s] for s in maps)

        tagged = [s for s, names in src.items() if len(names) >= 2]
        one_less, cleared, hand = tagged[0], tagged[1], tagged[2]
        untouched = [s for s, names in src.items() if names and s not in (one_less, cleared, hand)]
        changes: dict[str, list[str]] = {one_less: src[one_less][1:], cleared: [], hand: src[hand][:1] + ["Added"]}
        set_tags(pq_dir / "Accounts.parquet", changes)
        # Someone tags the target's copy by hand: not the sync's to remove.
        r = ZohoClient(b).post(f"/Accounts/{maps[hand]}/actions/add_tags", json={"tags": [{"name": "Kept"}]})
        assert r.status_code == 200, r.text

        second = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state))
        assert second.ok, [(m.module, m.error, m.notes) for m in second.modules]
        got = tags_of(b, "Accounts")
        assert got[maps[one_less]] == src[one_less][1:]
        assert got[maps[cleared]] == []
        assert got[maps[hand]] == sorted(src[hand][:1] + ["Added", "Kept"])
        assert all(got[maps[s]] == src[s] for s in untouched)

