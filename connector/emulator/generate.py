"""Deterministic org data, generated column-wise with numpy and Arrow.

The same ``seed`` and sizes give the same org, byte for byte (numpy's PCG64
streams are stable across versions). Generation is vectorized: values are
picked from pools with ``take`` and assembled with Arrow compute kernels, so a
1,000,000-record org takes seconds, not minutes.

The data is deliberately awkward: unicode names, quotes, commas and newlines
in text, leading-zero codes, max-length text, nulls, currency with cents,
multi-select values, lookups that point at real records, converted leads, and
Modified_Time clustered so many records share one second.

This module is the engine: sizes, one chunk of one module, the whole org. The
value makers are in :mod:`.org.gen_base` and :mod:`.org.gen_fields`; what a
module family needs beyond one field at a time are its hooks (``HOOKS``), run
after the chunk's fields. Each module draws from its own random stream
(``[seed, id_slot, chunk]``), so adding a module changes no other module's data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import files, schema, stage_history
from .org import (
    gen_activities,
    gen_classic,
    gen_contact_roles,
    gen_files,
    gen_inventory,
    gen_marketing,
    gen_notes,
    gen_tags,
)
from .org.gen_base import (
    CHUNK,
    GEN_END,
    GEN_START,
    GenContext,
    gen_created,
    multi,
    null_out,
    pick,
    row_index,
    ts,
)
from .org.gen_fields import GENERATORS, full_name
from .schema import FieldDef, ModuleDef, OrgSchema
from .store import Store, id_base, q, stored_columns

__all__ = ["CHUNK", "GEN_END", "GEN_START", "HOOKS", "generate_chunk", "module_sizes", "populate"]

Hook = Callable[[GenContext, dict[str, pa.Array]], None]
#: text fields with a format of their own (a call's "mm:ss"): never given the max-length value
FORMATTED_TEXT = frozenset({"call_duration"})
#: per module: fills the columns one field at a time cannot (polymorphic lookups, totals ...)
HOOKS: dict[str, Hook] = {**gen_classic.HOOKS, **gen_activities.HOOKS, **gen_inventory.HOOKS, **gen_marketing.HOOKS,
                          **gen_notes.HOOKS, **gen_files.HOOKS, **gen_contact_roles.HOOKS}


def module_sizes(records: int, overrides: dict[str, int] | None = None, org: OrgSchema | None = None
                 ) -> dict[str, int]:
    """Records per module (every module definition; those the org does not show get 0).

    ``records`` splits over the classic modules by their shares, as before issue 13; the other
    modules of an enterprise org get their shares of ``records`` on top (so such an org holds
    more than ``records`` records, and its classic modules hold the same data as a classic org).
    """
    org = org or schema.ORGS["classic"]
    sizes = {m.api_name: max(3, int(round(records * m.share))) if org.has(m.api_name) and m.share else 0
             for m in schema.ALL_MODULES}
    if overrides:
        unknown = set(overrides) - {m.api_name for m in org.modules}
        if unknown:
            raise ValueError(f"unknown module(s) in sizes: {sorted(unknown)}")
        sizes.update(overrides)
    # An empty module (a new org has no Deals yet) leaves the subform and linking rows that must
    # point at one of its records with nothing to point at: they are empty too.
    changed = True
    while changed:
        changed = False
        for m in schema.ALL_MODULES:
            needs = [f.lookup for f in m.fields if f.mandatory and f.lookup in sizes and f.lookup != m.api_name]
            empty = [t for t in needs if t is not None and sizes[t] == 0]
            if empty and sizes[m.api_name] > 0:
                if overrides and overrides.get(m.api_name):
                    raise ValueError(f"{m.api_name} records need {empty[0]} records (a mandatory lookup); "
                                     f"give {empty[0]} a size above 0 or {m.api_name} a size of 0")
                sizes[m.api_name] = 0
                changed = True
    return sizes


def generate_field(ctx: GenContext, f: FieldDef, cols: dict[str, pa.Array]) -> pa.Array | None:
    """One field's column for the chunk, or None when a hook (or nothing) fills it."""
    rng = ctx.rng
    gen = f.gen
    if gen == "created":
        return ts(ctx.created)
    if gen == "modified":
        return ts(ctx.modified)
    if gen == "full_name":
        return full_name(ctx, cols)
    if gen in ("parent_account", "self_ref"):
        idx = row_index(ctx)
        k = np.maximum(1, (rng.random(ctx.n) * np.maximum(idx, 1)).astype("int64"))
        arr = pa.array(id_base(ctx.module) + k, pa.int64())
    elif gen in GENERATORS:
        arr = GENERATORS[gen](ctx, f)
    elif f.data_type == "picklist":
        arr = pick(ctx, list(f.picklist))
    elif f.data_type == "multiselectpicklist":
        arr = multi(ctx, f.picklist)
    else:
        return None  # filled by a hook (HOOK_FILLED), or computed at read time
    return null_out(ctx, arr, f.null_rate)


def _max_length_row(m: ModuleDef, cols: dict[str, pa.Array], n: int) -> None:
    """Row 2 of every module carries max-length values in its short text fields."""
    if n < 3:
        return
    for f in m.fields:
        if f.data_type == "text" and f.length and f.api_name in cols and f.writable and not f.unique \
                and f.gen not in FORMATTED_TEXT:
            value = ("\u00c5" + "x" * (f.length - 2) + "\u00e9")[: f.length]
            arr = cols[f.api_name]
            py = arr.to_pylist()
            py[2] = value
            cols[f.api_name] = pa.array(py, pa.string())


def generate_chunk(m: ModuleDef, seed: int, sizes: dict[str, int], offset: int, n: int,
                   side: dict[str, list[pa.Table]] | None = None) -> pa.Table:
    """``n`` records of ``m`` from row ``offset`` on; rows for other tables (files) go to ``side``."""
    rng = np.random.default_rng([seed, m.id_slot, offset // CHUNK])
    created, modified = gen_created(GenContext(rng, n, offset, m, sizes, np.empty(0), np.empty(0)))
    ctx = GenContext(rng, n, offset, m, sizes, created, modified, seed, side if side is not None else {})
    cols: dict[str, pa.Array] = {"id": pa.array(id_base(m) + 1 + row_index(ctx), pa.int64())}
    for f in m.fields:
        arr = generate_field(ctx, f, cols)
        if arr is not None:
            cols[f.api_name] = arr
    hook = HOOKS.get(m.api_name)
    if hook is not None:
        hook(ctx, cols)
    if offset == 0:
        _max_length_row(m, cols, n)
    for f in m.fields:
        if f.auto_number:
            prefix, start, pad = f.auto_number
            num = pc.cast(pa.array(start + row_index(ctx)), pa.string())
            cols[f.api_name] = pc.binary_join_element_wise(pa.scalar(prefix), pc.utf8_lpad(num, pad, "0"), "")
        if f.gen == "full_name":
            cols[f.api_name] = full_name(ctx, cols)
    names = [c for c, _ in stored_columns(m) if c in cols]
    return pa.table({c: cols[c] for c in names})


#: an org of at most this many records may be kept once generated, to be copied when the same org is asked again
TEMPLATE_RECORDS = 10_000
#: orgs kept (the oldest goes first)
TEMPLATES_KEPT = 6
_templates: OrderedDict[tuple[object, ...], dict[str, pa.Table]] = OrderedDict()
#: the orgs generated once in this process and not kept (yet): one asked a second time is kept
_asked: set[tuple[object, ...]] = set()
_templates_lock = threading.Lock()


def populate(store: Store, seed: int, sizes: dict[str, int], org: OrgSchema | None = None) -> dict[str, int]:
    """Fill an empty store; returns the number of records per module (``org``: whose tags to generate).

    Generation depends on nothing but the seed, the sizes and the org's kind. A small org asked a second time in
    this process is kept (every table as Arrow) and copied into the next stores that ask for it: a test suite
    starts hundreds of emulators from a handful of settings (the default org of 500 records: 0.13 s to copy
    against 0.3 s to generate; the classic org's modules are few, and cost about the same either way). A
    process that serves one org (``zohocrm emulator``) keeps nothing."""
    key = (seed, tuple(sorted(sizes.items())), org.kind if org is not None else None)
    small = sum(sizes.values()) <= TEMPLATE_RECORDS
    with _templates_lock:
        kept = _templates.get(key) if small else None
        if kept is not None:
            _templates.move_to_end(key)
        again = small and kept is None and key in _asked
        if small and not again:
            _asked.add(key)
    if kept is not None:
        _copy_into(store, kept)
        return dict(sizes)
    _generate(store, seed, sizes, org)
    if again:
        tables = _tables_of(store)
        with _templates_lock:
            _asked.discard(key)
            _templates[key] = tables
            while len(_templates) > TEMPLATES_KEPT:
                _templates.popitem(last=False)
    return dict(sizes)


def _tables_of(store: Store) -> dict[str, pa.Table]:
    """Every table of the store, rows in the order they were written."""
    cur = store.con.cursor()
    try:
        names = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                           "ORDER BY table_name").fetchall()]
        return {name: cur.sql(f"SELECT * FROM {q(name)}").to_arrow_table() for name in names}
    finally:
        cur.close()


def _copy_into(store: Store, tables: dict[str, pa.Table]) -> None:
    """A kept org written into an empty store: its tables made as generation makes them, then their rows (the
    ones :meth:`Store.create_schema` writes, users and layouts, replaced by the kept ones)."""
    store.create_schema()
    with store.write_lock:
        cur = store.con.cursor()
        try:
            written = cur.execute("SELECT table_name FROM duckdb_tables() WHERE estimated_size > 0").fetchall()
            for (name,) in written:
                cur.execute(f"DELETE FROM {q(name)}")
            for name, table in tables.items():
                if table.num_rows:
                    cur.from_arrow(table).insert_into(name)  # by position: the kept rows are SELECT * of it
        finally:
            cur.close()


def _generate(store: Store, seed: int, sizes: dict[str, int], org: OrgSchema | None) -> None:
    store.create_schema()
    counters = {"seed": seed}  # generated files' bytes derive from it (files.py)
    for m in schema.ALL_MODULES:
        n_total = sizes.get(m.api_name, 0)
        for offset in range(0, n_total, CHUNK):
            side: dict[str, list[pa.Table]] = {}
            tbl = generate_chunk(m, seed, sizes, offset, min(CHUNK, n_total - offset), side)
            cols = ", ".join(q(c) for c in tbl.column_names)
            with store.write_lock:
                cur = store.cursor()
                cur.register("_gen_chunk", tbl)
                cur.execute(f"INSERT INTO {q(m.api_name)} ({cols}) SELECT {cols} FROM _gen_chunk")
                cur.unregister("_gen_chunk")
                for files_table in side.get("files", []):
                    files.register(store, files_table)
        counters[f"id:{m.api_name}"] = id_base(m) + n_total
        for f in m.fields:
            if f.auto_number:
                counters[f"autonumber:{m.api_name}.{f.api_name}"] = f.auto_number[1] + n_total - 1
    store.set_counters(counters)
    if org is not None:
        with store.write_lock:
            gen_tags.populate_tags(store, seed, sizes, org)
            if org.has("Stage_History"):  # derived from the generated deals, in SQL
                history = schema.MODULES_BY_NAME["Stage_History"]
                count = stage_history.populate(store, id_base(history) + 1)
                store.set_counter("id:Stage_History", id_base(history) + count)
