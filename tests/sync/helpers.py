"""Shared pieces of the sync tests: sessions, ground truth through the schema converter, comparisons."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import requests

from connector.emulator import Emulator, fastjson
from connector.schema.convert import records_to_batch
from connector.schema.types import TableSchema
from connector.session import ZohoSession
from connector.sync.schema_io import conform
from connector.sync.source_zoho import ZohoSource

MODULES = ("Accounts", "Contacts", "Deals", "Leads", "Tasks", "Projects", "Project_Milestones",
           "Projects_X_Contacts", "Projects_X_Users", "Deals_X_Competitors")
ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=" + ",".join(MODULES)
#: formulas over today's date drift while a test runs (Days_Open = days since Created_Time, 2 decimals)
DRIFTING = {("Leads", "Days_Open"): 0.05}
NO_SLOW_FAULTS = ("500", "502", "503", "429", "error200", "drop")


def session(emu: Emulator, extra: str = "") -> ZohoSession:
    # Short backoff: faults are injected on purpose and the suite must stay fast.
    return ZohoSession(emu.connection_string + extra, backoff_base=0.02, backoff_cap=0.2)


def source(emu: Emulator, **kw: Any) -> ZohoSource:
    return ZohoSource(session(emu), **kw)


def admin(emu: Emulator, method: str, path: str, **kw: Any) -> Any:
    r = requests.request(method, f"{emu.origin}/__emulator/{path}", timeout=120, **kw)
    assert r.status_code == 200, r.text
    return fastjson.loads(r.content)


def mutate(emu: Emulator, module: str, **spec: Any) -> dict[str, list[str]]:
    return dict(admin(emu, "POST", "mutate", json={"module": module, **spec}))


def export(emu: Emulator, module: str) -> list[dict[str, Any]]:
    return list(admin(emu, "GET", f"export/{module}")["data"])


def truth(emu: Emulator, ts: TableSchema) -> pa.Table:
    """The emulator's ground truth for a module, through the same converter the readers use."""
    rows = export(emu, ts.module)
    return pa.Table.from_batches([records_to_batch(ts, [c.name for c in ts.columns], rows)],
                                 schema=ts.arrow_schema).sort_by("id")


def duckdb_table(path: str, module: str, schema: pa.Schema) -> pa.Table:
    con = duckdb.connect(path, read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        t = con.sql(f'SELECT * FROM "{module}" ORDER BY id').to_arrow_table()
    finally:
        con.close()
    return conform(t, schema)


def file_entries_plain(value: Any) -> Any:
    """A file field's JSON without the ``$`` keys files add: the export's ground-truth ``$sha256``,
    a migration's ``$path``/``$size``/``$sha256`` (tests/sync/test_record_files.py checks those)."""
    if not isinstance(value, str) or not value.startswith("[{") or "File_Id__s" not in value:
        return value
    return [{k: v for k, v in e.items() if not k.startswith("$")} for e in json.loads(value)]


def assert_same(module: str, got: pa.Table, want: pa.Table) -> None:
    """Equal row for row (sorted by id) and column for column, drifting formulas within tolerance."""
    got, want = got.sort_by("id"), want.sort_by("id")
    gids, wids = got.column("id").to_pylist(), want.column("id").to_pylist()
    assert len(gids) == len(set(gids)), f"{module}: duplicated ids"
    missing, extra = set(wids) - set(gids), set(gids) - set(wids)
    assert not missing and not extra, f"{module}: {len(missing)} missing ids, {len(extra)} unexpected ids"
    assert got.schema == want.schema, f"{module}: schema differs"
    for name in want.column_names:
        if got.column(name).equals(want.column(name)):
            continue  # the same values (Arrow compares them in C): nothing to tell apart value by value
        a, b = got.column(name).to_pylist(), want.column(name).to_pylist()
        tol = DRIFTING.get((module, name))
        if tol is not None:
            bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True))
                   if (x is None) != (y is None) or (x is not None and not math.isclose(x, y, abs_tol=tol))]
        else:
            a, b = [file_entries_plain(x) for x in a], [file_entries_plain(y) for y in b]
            bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert not bad, f"{module}.{name}: {len(bad)} rows differ, e.g. id {gids[bad[0]]}: {a[bad[0]]!r} != {b[bad[0]]!r}"


def counted_sync(emu: Emulator, folder: Path, max_concurrency: int, source_class: type[ZohoSource] = ZohoSource
                 ) -> dict[str, Any]:
    """One incremental run into ``folder`` (formulas refreshed); what the emulator counted for it and what the
    run reports, module by module."""
    from connector.sync import open_target, run

    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    before = emu.stats()
    src = source_class(session(emu, f";MaxConcurrency={max_concurrency}"))
    tgt = open_target(f"parquet:{folder}")
    try:
        result = run(src, tgt, incremental=True, refresh_formulas=True)
    finally:
        tgt.close()
        src.close()
    assert result.ok, result.as_rows()
    after = emu.stats()
    calls = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items() if v != before["calls"].get(k, 0)}
    return {"calls": calls, "credits": after["credits_used"] - before["credits_used"],
            "peak": after["concurrency"]["peak"], "peak_heavy": after["concurrency"]["peak_heavy"],
            "rejected": after["rejected_429"],
            "rows": result.rows_written, "deleted": sum(m.rows_deleted for m in result.modules),
            "written_by_module": {m.module: m.rows_written for m in result.modules},
            "deleted_by_module": {m.module: m.rows_deleted for m in result.modules}}


def full_load(emu: Emulator, folder: Path) -> None:
    """A full load of the org into ``folder`` (Parquet)."""
    from connector.sync import open_target, run

    src, tgt = source(emu), open_target(f"parquet:{folder}")
    try:
        assert run(src, tgt).ok
    finally:
        tgt.close()
        src.close()
