"""A Zoho target's subforms over one run: which parents carry which line items, in what order, and
what the run of a line-item table itself does (see :mod:`.line_items` for how lines are written).

* order: a parent loads after every module its lines point at (``Products``, ``Price_Books``),
  and its line-item table runs just before it, so the rows the runner reads for that table are
  the ones joined into the parents (a Zoho source is not read twice);
* the line-item table's own run writes nothing: a full load keeps its rows for the parent, an
  incremental one notes which parents' lines changed, and the parent's run then rewrites the
  lines of those it did not send anyway (Zoho moves a parent's Modified_Time when its lines
  are edited, so this is seldom needed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from connector.schema.org_tables import read_only_reason
from connector.session import ZohoSession

from .contract import Source
from .idmap import SyncStateStore
from .line_items import LineFailure, LineItems, Subform, encode, parent_ids, subforms_of, target_lines
from .lookups import RECORD, LookupColumn, lookup_columns, parent_edges
from .zoho_rows import ExistingLines, Resolver

log = logging.getLogger("connector.sync")
Lookups = Callable[[str], list[LookupColumn]]


class Subforms:
    def __init__(self, session: ZohoSession, lookups: Lookups) -> None:
        self.session, self.lookups = session, lookups
        self._of: dict[str, list[Subform]] = {}
        self._items: dict[str, LineItems] = {}
        self._source: Source | None = None
        self._source_modules: set[str] = set()
        self._run: set[str] = set()  # the run's modules (known once ordered)
        #: parent module -> source ids of parents whose lines changed in this run's delta
        self.touched: dict[str, set[str]] = {}

    def bind(self, source: Source) -> None:
        self._source = source
        self._source_modules = set(source.modules())

    def of(self, parent: str) -> list[Subform]:
        """The subforms of a parent module (none for a module the target does not write)."""
        if parent not in self._of:
            catalog = self.session.catalog
            found: list[Subform] = []
            if parent in catalog.modules() and read_only_reason(catalog.table(parent)) is None \
                    and any(f.data_type == "subform" for f in catalog.table(parent).fields.values()):
                for field, module in subforms_of(parent, self.session.catalog.fields(parent)):
                    # The link to the parent is read-only in Zoho's metadata (set by Zoho): not among
                    # the writable lookups, so looked for among all of them.
                    link = next((lc.column for lc in lookup_columns(catalog.table(module), writable_only=False)
                                 if lc.kind == RECORD and parent in lc.targets), None)
                    if link is not None:
                        found.append(Subform(parent, field, module, link))
            self._of[parent] = found
        return self._of[parent]

    @staticmethod
    def is_subform(session: ZohoSession, module: str) -> bool:
        info = session.catalog.modules().get(module)
        return info is not None and info.generated_type == "subform"

    def parent_of(self, module: str) -> str | None:
        info = self.session.catalog.modules().get(module)
        ref = info.raw.get("parent_module") if info is not None else None
        if isinstance(ref, dict) and ref.get("api_name"):
            return str(ref["api_name"])
        return next((p for p, subs in self._of.items() for s in subs if s.module == module), None)

    def edges(self, parent: str) -> list[tuple[str, bool]]:
        """Modules the parent's lines point at (its line-item table itself aside)."""
        return [e for s in self.of(parent) for e in parent_edges(
            [lc for lc in self.lookups(s.module) if lc.kind == RECORD and lc.column != s.link])]

    def order(self, ordered: list[str]) -> list[str]:
        """Each line-item table just before its parent (those without a parent in the run stay put)."""
        self._run = set(ordered)
        moved = {s.module: p for p in ordered for s in self.of(p) if s.module in ordered}
        out: list[str] = []
        for m in ordered:
            if m in moved:
                continue
            out += [s.module for s in self.of(m) if moved.get(s.module) == m] + [m]
        return out

    # -- the parent's rows ---------------------------------------------------------------------

    def items(self, sub: Subform) -> LineItems:
        if sub.module not in self._items:
            source = self._source
            field = self.session.catalog.table(sub.parent).fields.get(sub.field)

            def read() -> Iterator[pa.RecordBatch]:
                if source is None or sub.module not in self._source_modules:
                    return iter(())
                return source.read(sub.module)

            self._items[sub.module] = LineItems(sub, self.session.catalog.table(sub.module), self.lookups(sub.module),
                                                bool(field and field.mandatory), read)
        return self._items[sub.module]

    def for_planner(self, parent: str) -> list[tuple[LineItems, ExistingLines]]:
        """What a parent's planner joins in: each subform's lines, and the target's present lines."""
        out: list[tuple[LineItems, ExistingLines]] = []
        for sub in self.of(parent):
            def existing(ids: list[str], sub: Subform = sub) -> dict[str, list[str]]:
                return target_lines(self.session.http, sub, ids)
            out.append((self.items(sub), existing))
        return out

    # -- the id map of the lines -------------------------------------------------------------------

    def map_lines(self, parent: str, pairs: dict[str, str], store: SyncStateStore) -> None:
        """After parents landed: which target line each source line became, in the id map.

        Zoho answers a write with the parent's id only; its lines are listed (by id, the order
        they were created in, which is the order they were sent in) and paired with the source's.
        """
        for sub in self.of(parent):
            items = self.items(sub)
            now = target_lines(self.session.http, sub, list(pairs.values()))
            found: dict[str, str] = {}
            for sid, tid in pairs.items():
                mine, theirs = [str(r["id"]) for r in items.rows_of(sid)], now.get(tid, [])
                if len(mine) == len(theirs):
                    found.update(zip(mine, theirs, strict=True))
                else:  # someone changed the record under us: its lines are mapped by its next write
                    log.info("%s %s: %d lines sent, %d in the target; not mapped", parent, tid, len(mine),
                             len(theirs))
            store.record(sub.module, found)

    def mend(self, parent: str, store: SyncStateStore) -> None:
        """Map the lines of parents written by a run killed before it could (their lines are known now)."""
        for sub in self.of(parent):
            items = self.items(sub)
            if not items.loaded:
                continue  # not read in this run: no reading the whole table for bookkeeping alone
            mapped_lines = store.source_ids(sub.module)
            parents = store.lookup(parent, items.parents())
            lacking = {p: t for p, t in parents.items()
                       if any(str(r["id"]) not in mapped_lines for r in items.rows_of(p))}
            if lacking:
                self.map_lines(parent, lacking, store)

    # -- the line-item table's own run -----------------------------------------------------------

    def take(self, module: str, batches: Iterator[pa.RecordBatch], full: bool) -> tuple[int, str]:
        """Read a line-item table's rows (nothing is written); (rows, the note that says where they go)."""
        tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        table = pa.concat_tables(tables) if tables else None
        parent = self.parent_of(module)
        sub = next((s for s in self.of(parent) if s.module == module), None) if parent in self._run else None
        if sub is None:
            return (table.num_rows if table is not None else 0,
                    f"not written as a module: Zoho takes {module} rows only inside their parent's record, and "
                    "its parent is not in this run")
        if full:
            self.items(sub).feed(table if table is not None else pa.table({}))
        elif table is not None:
            self.touched.setdefault(sub.parent, set()).update(parent_ids(table, sub.link))
        return (table.num_rows if table is not None else 0,
                f"written inside {sub.parent} (its {sub.field} field): Zoho takes subform rows (line items) "
                "only inside their parent's record")

    def refresh(self, parent: str, mapped: dict[str, str], resolve: Resolver
                ) -> tuple[list[dict[str, Any]], list[str], list[tuple[str, str, str]]]:
        """Rows that rewrite just the lines of ``mapped`` parents (source id -> target id): the rows,
        their source ids, and the parents whose lines cannot be written (source id, code, message)."""
        rows: list[dict[str, Any]] = [{"id": t} for t in mapped.values()]
        sids = list(mapped)
        failed: list[tuple[str, str, str]] = []
        for sub in self.of(parent):
            lines = self.items(sub).payloads(sids, resolve)
            now = target_lines(self.session.http, sub, list(mapped.values()))
            for row, sid in zip(rows, sids, strict=True):
                got = lines[sid]
                if isinstance(got, LineFailure):
                    failed.append((sid, got.code, got.message))
                    continue
                row[sub.field] = encode([{"id": old, "_delete": None} for old in now.get(row["id"], [])] + got)
        bad = {f[0] for f in failed}
        keep = [i for i, sid in enumerate(sids) if sid not in bad]
        return [rows[i] for i in keep], [sids[i] for i in keep], failed
