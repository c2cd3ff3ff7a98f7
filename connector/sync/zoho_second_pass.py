"""The second pass of a load into Zoho: set lookups whose record did not exist on first write.

Self references (``Reporting_To``), cycles, and references to a module migrated
on another day are kept in the sync state as *deferred* (see :mod:`.idmap`).
At the end of every run each is looked up again: when both the row and the
record it points at are in the target, the row is updated with just that
lookup (an update is safe to repeat, so a kill here is mended by the re-run);
when the row itself is not in the target (it failed), the deferral is
dropped; otherwise it keeps waiting for the run that brings its record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from connector.writers.report import DONE, Entry

from .lookups import LookupColumn
from .zoho_writes import ZohoWrites


def resolve_deferred(writes: ZohoWrites, lookups: Callable[[str], list[LookupColumn]]) -> list[str]:
    """Set every deferred lookup whose record is now in the target; notes on those still waiting.

    ``writes``: the run's writes (its id map, report and API per module); ``lookups``: a module's
    lookup columns (which of them are polymorphic and so need their ``_Module`` too).
    """
    store = writes.store
    notes: list[str] = []
    for module, refs in store.deferred().items():
        by_row: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for sid, field, ref, ref_module in refs:
            by_row[sid].append((field, ref, ref_module))
        rows_in_target = store.lookup(module, by_row)
        orphans = [(sid, f) for sid, items in by_row.items() if sid not in rows_in_target for f, _, _ in items]
        store.undefer(module, orphans)  # the row failed or was deleted: nothing to point from
        wanted: dict[str, set[str]] = defaultdict(set)
        for sid, items in by_row.items():
            if sid in rows_in_target:
                for _, ref, ref_module in items:
                    wanted[ref_module].add(ref)
        maps = {m: store.lookup(m, ids) for m, ids in wanted.items()}
        polymorphic = {lc.field for lc in lookups(module) if lc.module_column}
        rows: list[dict[str, Any]] = []
        keys: list[list[tuple[str, str]]] = []
        sids: list[str] = []
        waiting = 0
        for sid, items in by_row.items():
            tid = rows_in_target.get(sid)
            if tid is None:
                continue
            row: dict[str, Any] = {"id": tid}
            done: list[tuple[str, str]] = []
            for field, ref, ref_module in items:
                hit = maps.get(ref_module, {}).get(ref)
                if hit is None:
                    waiting += 1
                    continue
                row[f"{field}_Id"] = hit
                if field in polymorphic:
                    row[f"{field}_Module"] = ref_module
                done.append((sid, field))
            if done:
                rows.append(row)
                keys.append(done)
                sids.append(sid)
        if rows:
            # Rows set different lookups; one write per column set keeps every row's columns its own.
            groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for i, row in enumerate(rows):
                groups[tuple(sorted(row))].append(i)
            for idx in groups.values():
                report = writes.write(module, [rows[i] for i in idx], "update")
                ok: list[tuple[str, str]] = []
                bad: list[tuple[str, Entry]] = []
                for e in report.entries().values():
                    i = idx[e.row]
                    if e.status in DONE:
                        ok += keys[i]
                    else:
                        bad.append((sids[i], e))
                store.undefer(module, ok)
                if bad:
                    writes.failures.add(module, "update (lookups)", bad)
        if waiting:
            notes.append(f"{module}: {waiting} lookups point at records not in the target yet; the run that "
                         "brings those records sets them")
    return notes
