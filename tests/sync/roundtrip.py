"""Comparing an org with its copy in another org, where every record has a new id.

Rows are paired through the migration's id map, and the pairing is checked
rather than trusted: it must be a bijection onto exactly the copy's records,
and paired rows must agree on every writable value. Lookups are compared by
*following* them: the copy's lookup must point at the copy of the record the
original points at (and show the same name), never at the raw source id.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from connector.emulator import Emulator
from connector.schema.types import TableSchema
from connector.sync.idmap import SyncStateStore
from connector.sync.record_files import PHOTO_SUFFIXES
from connector.writers.validate import NOT_SETTABLE
from tests.conftest import ZohoClient

from .helpers import MODULES

#: the emulator's deactivated user, and the user its connection acts as
INACTIVE_USERS = {"Sam Retired"}
CONNECTION_USER = "Jane Admin"


def clear_org(emu: Emulator) -> None:
    """A fresh org: the emulator's minimum org has 3 records per module; delete them (their ids stay used,
    so the copies get ids of their own, different from the originals')."""
    z = ZohoClient(emu)
    for module in reversed(MODULES):
        ids = [r["id"] for r in z.export(module)]
        if ids:
            r = z.delete(f"/{module}", params={"ids": ",".join(ids)})
            assert r.status_code == 200, r.text
        assert z.export(module) == []


def id_maps(state_path: Any) -> dict[str, dict[str, str]]:
    store = SyncStateStore(state_path)
    try:
        rows = store.con.execute("SELECT module, source_id, target_id FROM idmap").fetchall()
    finally:
        store.close()
    out: dict[str, dict[str, str]] = {}
    for module, s, t in rows:
        out.setdefault(module, {})[s] = t
    return out


def _without_ids(v: Any) -> Any:
    if isinstance(v, list):
        return [_without_ids(x) for x in v]
    if isinstance(v, dict):
        return {k: _without_ids(x) for k, x in v.items() if k != "id"}
    return v


def same_value(a: Any, b: Any) -> bool:
    """Equal values. JSON text (pricing tiers, line taxes) compares as JSON, whatever its key order, and
    without the ids inside it: the target numbers its entries itself (and its taxes are its own)."""
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and b[:1] in "[{":
        try:
            return bool(_without_ids(json.loads(a)) == _without_ids(json.loads(b)))
        except ValueError:
            pass
    return bool(a == b)


def _writable(ts: TableSchema, name: str) -> bool:
    col = ts.by_name[name]
    f = ts.fields.get(col.field)
    return f is not None and f.writable and f.data_type not in NOT_SETTABLE


def assert_copied(ts: TableSchema, original: pa.Table, copy: pa.Table, maps: dict[str, dict[str, str]],
                  live_original: dict[str, set[str]], live_copy: dict[str, set[str]]) -> None:
    """``live_*``: the ids each side holds per module (a lookup may dangle once its record is deleted)."""
    module = ts.module
    pairs = maps.get(module, {})
    src_ids = set(original.column("id").to_pylist())
    dst_ids = copy.column("id").to_pylist()
    assert len(dst_ids) == len(set(dst_ids)), f"{module}: duplicated records in the copy"
    assert set(pairs) == src_ids, f"{module}: {len(src_ids - set(pairs))} source records not copied"
    assert set(pairs.values()) == set(dst_ids), f"{module}: the copy has records the map does not explain"
    assert len(set(pairs.values())) == len(pairs), f"{module}: two source records became one"
    by_copy = {r["id"]: r for r in copy.to_pylist()}
    photo_files = {c.name + suffix for c in ts.columns if (f := ts.fields.get(c.field)) is not None
                   and f.data_type == "profileimage" for suffix, _ in PHOTO_SUFFIXES}
    for a in original.to_pylist():
        b = by_copy[pairs[a["id"]]]
        for name in original.column_names:
            if name in photo_files:
                continue  # where each side's export put the photo: compared by SHA-256 (whole_org_compare)
            col = ts.by_name[name]
            f = ts.fields.get(col.field)
            if name == "id" or f is None or not _writable(ts, name) or f.data_type == "participants":
                continue  # participants name records by id: compared by following them (test_whole_org_roundtrip)
            if col.part == "value":
                assert same_value(a[name], b[name]), f"{module}.{name} of {a['id']}: {a[name]!r} != {b[name]!r}"
            elif col.part == "name" and f.data_type in ("ownerlookup", "userlookup"):
                # Users map by email; a deactivated user cannot be set, so the connection's user is.
                want = CONNECTION_USER if a[name] in INACTIVE_USERS else a[name]
                assert b[name] == want, f"{module}.{name} of {a['id']}: {a[name]!r} -> {b[name]!r}"
            elif col.part == "name" and f.data_type != "layout":
                # Following the lookup: the copy points at a record showing the same name.
                assert a[name] == b[name], f"{module}.{name} of {a['id']}: {a[name]!r} != {b[name]!r}"
            elif col.part == "name":
                assert a[name] == b[name], f"{module}.{name} (layout) of {a['id']}"
            elif col.part == "module":
                assert a[name] == b[name], f"{module}.{name} of {a['id']}"
            elif col.part == "id" and f.data_type not in ("ownerlookup", "userlookup", "layout"):
                ref = a[name]
                target = str(a.get(f"{f.api_name}_Module") or f.lookup_module)
                if ref is not None and ref not in live_original.get(target, set()):
                    # The original points at a deleted record: so must the copy (or at nothing).
                    assert b[name] is None or b[name] not in live_copy.get(target, set()), f"{module}.{name}"
                    continue
                want = maps.get(target, {}).get(ref) if ref is not None else None
                assert b[name] == want, (f"{module}.{name} of {a['id']}: points at {b[name]!r}, the copy of "
                                         f"{target} {ref} is {want!r}")
                if ref is not None:
                    assert b[name] != ref or want == ref, f"{module}.{name}: a raw source id leaked"
