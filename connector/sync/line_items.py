"""Line items (and any subform) into Zoho: rows written inside their parent's record.

Zoho keeps a quote's line items in the subform module ``Quoted_Items`` (``Ordered_Items``,
``Purchase_Items``, ``Invoiced_Items`` for the other inventory modules), but takes them only
as the parent's subform field: a Quote is inserted with ``"Quoted_Items": [{...}, ...]`` (a
mandatory field) and Zoho computes each line's totals and the quote's ``Sub_Total`` and
``Grand_Total`` from them. So a migration reads the source's line-item table (each row
carries its parent in ``Parent_Id``), joins it to the parent rows by source id, re-points
each line's lookups (``Product_Name`` to the target's product, ``Price_Book_Name``) through
the id map, and sends the lines in the parent's payload. The line-item table itself is not
written as a module of its own.

On update the lines are replaced whole: every line the target record has now is sent as
``{"id": ..., "_delete": null}`` and the source's lines without an id — right whether
Zoho reads a subform as "omitted rows go" or as "rows are kept unless ``_delete``d"
(records.md section 4, metadata-and-types.md), and safe to repeat after a kill.

A parent whose lines cannot all be written (a product not in the target, no lines at
all) is not sent: it is reported per row with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.api import coql
from connector.http.client import ZohoHttp
from connector.schema.types import TableSchema
from connector.writers.validate import NOT_SETTABLE, to_json
from connector.writers.validate import _Bad as BadValue

from .lookups import RECORD, LookupColumn

Resolver = Callable[[str, set[str]], dict[str, str]]
#: COQL's ``in`` takes at most 50 values per criterion (search-and-coql.md)
COQL_IN = 50
#: line-tax keys a target takes: its own tax ids and computed values are not the source's
LINE_TAX_KEYS = ("name", "percentage")


@dataclass(frozen=True)
class Subform:
    """One subform field of a parent module, and the module that stores its rows."""

    parent: str  # Quotes
    field: str  # Quoted_Items (the parent's field)
    module: str  # Quoted_Items (the subform module)
    link: str  # the subform module's column holding the parent's id (Parent_Id_Id)


def subforms_of(parent: str, fields_meta: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(field, subform module) for every subform field in ``/settings/fields`` of ``parent``."""
    out = []
    for meta in fields_meta:
        if meta.get("data_type") != "subform" or not meta.get("api_name"):
            continue
        ref = (meta.get("subform") or {}).get("module") or meta.get("associated_module") or {}
        if isinstance(ref, dict) and ref.get("api_name"):
            out.append((str(meta["api_name"]), str(ref["api_name"])))
    return out


class LineFailure(Exception):
    """Why a parent's lines cannot be written (the parent row is reported with it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class LineItems:
    """The source rows of one subform, by parent, and how each becomes a line Zoho takes."""

    def __init__(self, sub: Subform, ts: TableSchema, lookups: list[LookupColumn], mandatory: bool,
                 read: Callable[[], Iterator[pa.RecordBatch]]) -> None:
        self.sub, self.ts, self.mandatory = sub, ts, mandatory
        self.lookups = [lc for lc in lookups if lc.kind == RECORD and lc.column != sub.link]
        lookup_cols = {lc.column for lc in lookups} | {lc.name_column for lc in lookups}
        self.values = []
        for col in ts.columns:
            f = ts.fields.get(col.field)
            if (f is None or col.field == "id" or col.name in lookup_cols or col.part != "value" or not f.writable
                    or f.data_type in NOT_SETTABLE):
                continue
            self.values.append((col.name, f))
        self._read = read
        self._rows: dict[str, list[dict[str, Any]]] | None = None

    def feed(self, table: pa.Table) -> None:
        """The whole subform table, as the run read it (spares a second read of the source)."""
        self._rows = self._index(table)

    def _index(self, table: pa.Table) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if self.sub.link not in table.column_names or not table.num_rows:
            return out
        keep = [c for c in table.column_names if c in {"id", self.sub.link, *(n for n, _ in self.values),
                                                        *(lc.column for lc in self.lookups),
                                                        *(lc.module_column for lc in self.lookups if lc.module_column)}]
        for r in table.select(keep).to_pylist():
            parent = r.get(self.sub.link)
            if parent is not None:
                out.setdefault(str(parent), []).append(r)
        for lines in out.values():
            lines.sort(key=lambda r: (r.get("Sequence_Number") is None, r.get("Sequence_Number") or 0,
                                      str(r.get("id"))))
        return out

    @property
    def loaded(self) -> bool:
        return self._rows is not None

    def parents(self) -> list[str]:
        return list(self._rows or {})

    def rows_of(self, parent: str) -> list[dict[str, Any]]:
        if self._rows is None:
            batches = list(self._read())
            self._rows = self._index(pa.Table.from_batches(batches)) if batches else {}
        return self._rows.get(parent, [])

    def payloads(self, parents: list[str], resolve: Resolver, would_load: frozenset[str] = frozenset()
                  ) -> dict[str, list[dict[str, Any]] | LineFailure]:
        """Parent source id -> its lines as Zoho takes them, or why they cannot be written.

        ``would_load``: a dry run's modules, whose records are taken as there (a product its run
        would insert leaves the line's ``Product_Name`` out, which the dry run does not check).
        """
        lines = {p: self.rows_of(p) for p in parents}
        refs: dict[str, set[str]] = {}
        for rows in lines.values():
            for r in rows:
                for lc in self.lookups:
                    if r.get(lc.column) is not None and lc.targets:
                        refs.setdefault(lc.targets[0], set()).add(str(r[lc.column]))
        maps = {m: resolve(m, ids) for m, ids in refs.items()}
        out: dict[str, list[dict[str, Any]] | LineFailure] = {}
        for p, rows in lines.items():
            try:
                if not rows and self.mandatory:
                    raise LineFailure("MANDATORY_NOT_FOUND", f"no {self.sub.module} rows for this record in the "
                                      f"source: Zoho needs at least one in {self.sub.field}")
                out[p] = [self._line(r, i, maps, would_load) for i, r in enumerate(rows)]
            except LineFailure as exc:
                out[p] = exc
        return out

    def _line(self, r: dict[str, Any], i: int, maps: dict[str, dict[str, str]], would_load: frozenset[str]
              ) -> dict[str, Any]:
        line: dict[str, Any] = {}
        for name, f in self.values:
            raw = r.get(name)
            if raw is None:
                continue
            try:
                value = to_json(f, name, raw)
            except BadValue as bad:
                raise LineFailure("INVALID_DATA", f"line {i + 1} ({self.sub.module} {r.get('id')}): "
                                  f"{bad.problem.text()}") from None
            if f.data_type == "linetax" and isinstance(value, list):
                value = [{k: t[k] for k in LINE_TAX_KEYS if k in t} for t in value if isinstance(t, dict)]
            line[f.api_name] = value
        for lc in self.lookups:
            ref = r.get(lc.column)
            if ref is None or not lc.targets:
                continue
            hit = maps.get(lc.targets[0], {}).get(str(ref))
            if hit is None:
                if lc.mandatory and lc.targets[0] not in would_load:
                    raise LineFailure("LOOKUP_NOT_IN_TARGET",
                                      f"line {i + 1} ({self.sub.module} {r.get('id')}): {lc.field} points at "
                                      f"{lc.targets[0]} record {ref}, which is not in the target (not migrated, "
                                      "or it failed: see its own row); migrate it, then run again without --incremental")
                continue  # an optional lookup to a record not in the target is left empty
            line[lc.field] = {"id": hit}
        return line


def target_lines(http: ZohoHttp, sub: Subform, parent_ids: list[str]) -> dict[str, list[str]]:
    """Target parent id -> the ids of the lines it has now (COQL: subform modules take it by name)."""
    field = sub.link[:-len("_Id")] if sub.link.endswith("_Id") else sub.link
    out: dict[str, list[str]] = {p: [] for p in parent_ids}
    for start in range(0, len(parent_ids), COQL_IN):
        chunk = parent_ids[start:start + COQL_IN]
        listed = ", ".join(f"'{p}'" for p in chunk)
        offset = 0
        while True:
            rows, more = coql.run(http, f"select id, {field} from {sub.module} where {field} in ({listed}) "
                                        f"order by id limit 2000 offset {offset}")
            for row in rows:
                ref = row.get(field)
                parent = ref.get("id") if isinstance(ref, dict) else ref
                if parent is not None and str(parent) in out:
                    out[str(parent)].append(str(row["id"]))
            if not more:
                break
            offset += len(rows)
    return out


def encode(lines: list[dict[str, Any]]) -> str:
    """A subform value as the planner's text column carries it (JSON: safe in a pending batch file)."""
    return json.dumps(lines, ensure_ascii=False, separators=(",", ":"))


def parent_ids(table: pa.Table, link: str) -> set[str]:
    """The parents a batch of subform rows belongs to."""
    if link not in table.column_names:
        return set()
    return {str(v) for v in pc.unique(table.column(link)).to_pylist() if v is not None}
