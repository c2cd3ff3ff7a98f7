"""Source rows -> rows a Zoho target can take: only writable columns, every lookup re-pointed.

* record lookups (``Account_Name_Id``, polymorphic ``What_Id_Id`` with ``What_Id_Module``)
  go through the id map; a reference to a record the map does not know yet (later
  in this module, a module later in the load order, a module migrated another
  day) is *deferred*: left out now and kept in the sync state; the second pass at
  the end of every run sets the ones whose record has arrived by then;
* users (``Owner_Id``) map by email to the target's active users, then by name,
  then to the user the target connection acts as;
* layouts map by name (layout ids differ per org); an unknown layout is left to
  the target's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from connector.schema.types import TableSchema
from connector.writers.validate import NOT_SETTABLE

from . import participants
from .line_items import LineFailure, LineItems, encode
from .lookups import LAYOUT, RECORD, USER, LookupColumn
from .record_files import PHOTO_SUFFIXES

SLICE_ROWS = 2_000  # rows turned into Python dicts at a time
Resolver = Callable[[str, set[str]], dict[str, str]]  # (module, source ids) -> {source id: target id}


@dataclass
class UserMap:
    """Source user id -> target user id: by email, then by name, then the connection's own user.

    Only active users can be set in a user lookup (Zoho answers INVALID_DATA for a deactivated
    one), so a match that is inactive falls back to the connection's user too; ``fell_back``
    counts those rows and the result says so.
    """

    by_source: dict[str, tuple[str, bool]]  # source id -> (target id, active)
    by_name: dict[str, tuple[str, bool]]
    fallback: str | None
    fell_back: int = 0

    @classmethod
    def build(cls, source_users: list[dict[str, Any]], target_users: list[dict[str, Any]],
              me: str | None) -> UserMap:
        def active(u: dict[str, Any]) -> bool:
            return str(u.get("status", "active")).lower() == "active"

        # Active users win a tie: two target users with one email or name, one of them active.
        ordered = sorted(target_users, key=active)
        by_email = {str(u.get("email") or "").lower(): (str(u["id"]), active(u)) for u in ordered if u.get("email")}
        by_name = {str(u.get("full_name") or u.get("name") or "").lower(): (str(u["id"]), active(u))
                   for u in ordered if u.get("full_name") or u.get("name")}
        mapping: dict[str, tuple[str, bool]] = {}
        for u in source_users:
            hit = by_email.get(str(u.get("email") or "").lower()) or by_name.get(str(u.get("name") or "").lower())
            if hit:
                mapping[str(u.get("id"))] = hit
        return cls(mapping, by_name, me)

    def active_target(self, source_id: str) -> str | None:
        """The active target user a source user is (no fallback: None when there is none)."""
        hit = self.by_source.get(source_id)
        return hit[0] if hit is not None and hit[1] else None

    def map(self, source_id: str | None, name: str | None) -> str | None:
        if source_id is None and not name:
            return None
        hit = self.by_source.get(str(source_id)) or self.by_name.get(str(name or "").lower())
        if hit is None or not hit[1]:
            self.fell_back += 1
            return self.fallback
        return hit[0]


@dataclass
class Prepared:
    """One chunk's rows as the target takes them, as Arrow (a chunk's Python dicts would not fit
    in memory at 25,000 rows of 60 fields; they live one slice at a time)."""

    inserts: pa.Table | None = None  # with ``__source_id``; a null is "not sent" on insert
    updates: list[pa.Table] = field(default_factory=list)  # ``id`` = target id, ``__source_id``
    deferred: list[tuple[str, str, str, str]] = field(default_factory=list)  # (source id, field, ref, ref module)
    #: rows not sent, and why: (source id, code, message) — a mandatory lookup or line item not in the target
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: meeting participants left out: records not in the target (see participants.py)
    participants_dropped: int = 0


#: target parent ids -> the ids of the lines each has now (for a whole replacement on update)
ExistingLines = Callable[[list[str]], dict[str, list[str]]]


class RowPlanner:
    """How one module's source rows become target rows (built once per module per run)."""

    def __init__(self, ts: TableSchema, lookups: list[LookupColumn], source_columns: list[str], *,
                 users: UserMap, layouts: dict[str, str], source_id_field: str | None = None,
                 lines: Sequence[tuple[LineItems, ExistingLines]] = (), would_load: frozenset[str] = frozenset()
                 ) -> None:
        self.ts, self.users, self.layouts = ts, users, layouts
        #: a dry run's modules: their records would be in the target by the time they are pointed at
        self.would_load = would_load
        #: subforms whose rows go inside each record (line items), with how to find the target's lines
        self.lines = list(lines)
        self.lookups = [lc for lc in lookups if lc.column in source_columns]
        lookup_cols = {lc.column for lc in self.lookups} | {lc.module_column for lc in self.lookups}
        self.values: list[str] = []
        self.skipped: list[str] = []
        self.tag_column: str | None = None  # the record's tags, sent with it (read-only in the metadata)
        self.participant_columns: list[str] = []  # Events' Participants, re-pointed (participants.py)
        # where an export put each record's photo: sent by the Photo API after the records (zoho_files.py)
        photo_files = {c.name + suffix for c in ts.columns if c.field in ts.fields
                       and ts.fields[c.field].data_type == "profileimage" for suffix, _ in PHOTO_SUFFIXES}
        for name in source_columns:
            col = ts.by_name.get(name)
            if col is None:
                if name not in photo_files:
                    self.skipped.append(name)
                continue
            if col.value_type == "tag":
                self.tag_column = name
                continue
            f = ts.fields.get(col.field)
            if col.field == "id" or f is None or col.part == "name" or name in lookup_cols:
                continue
            if col.part in ("id", "module"):
                continue  # a lookup that is not writable (Converted_Account, Created_By ...)
            if f.data_type == "participants" and f.writable:
                self.participant_columns.append(name)
                continue
            if f.writable and f.data_type not in NOT_SETTABLE:
                self.values.append(name)
        self.source_id_field = source_id_field if source_id_field in ts.by_name else None
        #: source columns a row is built from (see prepare)
        self._reads = {"id", *self.values, *self.participant_columns, *(c for c in lookup_cols if c),
                       *(lc.name_column for lc in self.lookups), *((self.tag_column,) if self.tag_column else ())}
        #: columns whose values this planner writes as text (re-pointed ids, their modules, the source id)
        self.text_columns = ({c for c in lookup_cols if c} | ({self.source_id_field} if self.source_id_field else set())
                             | {li.sub.field for li, _ in self.lines} | set(self.participant_columns))
        #: values written as the source holds them: they go from the source's Arrow to the rows' untouched,
        #: never through Python (most of a row; converting them was most of a chunk's CPU)
        self.passed = [n for n in self.values if n not in self.text_columns]
        self._built = [n for n in self.values if n in self.text_columns]  # values the planner rewrites as text
        self._python = self._reads - set(self.passed)

    def output_schema(self, source: pa.Schema) -> pa.Schema:
        """Every column this planner may write: values keep the source's types (a CSV without a
        schema brings text, which the writer converts and validates); re-pointed ids are text."""
        names = list(self.values)
        for lc in self.lookups:
            names += [lc.column] + ([lc.module_column] if lc.module_column else [])
        if self.source_id_field and self.source_id_field not in names:
            names.append(self.source_id_field)
        names += [li.sub.field for li, _ in self.lines] + self.participant_columns
        if self.tag_column:
            names.append(self.tag_column)
        return pa.schema([pa.field(n, source.field(n).type if n in source.names and n not in self.text_columns
                                   else pa.string()) for n in names])

    def prepare(self, table: pa.Table, mapped: dict[str, str], resolve: Resolver) -> Prepared:
        out = Prepared()
        schema = self.output_schema(table.schema)
        inserts: list[pa.Table] = []
        # Updates leave a deferred lookup alone by not naming its column (a null would clear it),
        # so updates are grouped by the columns they carry.
        updates: dict[tuple[str, ...], list[pa.Table]] = {}
        # Only the columns a row is built from become Python values (a source row carries system fields,
        # formulas and names this planner never writes: converting them cost more than the rest of a chunk);
        # the values passed as they are stay Arrow and are taken by row number (:func:`_arrow`).
        needed = table.select([n for n in table.column_names if n in self._python])
        passed = table.select([n for n in table.column_names if n in self.passed])
        for start in range(0, needed.num_rows, SLICE_ROWS):
            rows = needed.slice(start, SLICE_ROWS).to_pylist()
            for i, r in enumerate(rows):
                r[_ROW] = i
            given = passed.slice(start, SLICE_ROWS)
            ins, ins_ids, upd, upd_ids = self._slice(rows, mapped, resolve, out)
            if ins:
                # Tags go through the records API only (their batches never Bulk): left out where none has any.
                sent = [n for n in schema.names if n != self.tag_column or any(r.get(n) for r in ins)]
                inserts.append(_arrow(ins, ins_ids, schema, sent, given))
            groups: dict[tuple[str, ...], list[int]] = {}
            for i, row in enumerate(upd):  # every row carries every value passed as is
                groups.setdefault(tuple(n for n in schema.names if n in row or n in self.passed), []).append(i)
            for cols, idx in groups.items():
                t = _arrow([upd[i] for i in idx], [upd_ids[i] for i in idx], schema, list(cols), given)
                updates.setdefault(cols, []).append(t.append_column("id", pa.array(
                    [upd[i]["id"] for i in idx], pa.string())))
        out.inserts = pa.concat_tables(inserts, promote_options="default") if inserts else None
        out.updates = [pa.concat_tables(ts) for ts in updates.values()]
        return out

    def _slice(self, rows: list[dict[str, Any]], mapped: dict[str, str], resolve: Resolver, out: Prepared
               ) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]], list[str]]:
        refs: dict[str, set[str]] = {}
        for lc in self.lookups:
            if lc.kind != RECORD:
                continue
            for r in rows:
                ref = r.get(lc.column)
                target = (r.get(lc.module_column) if lc.module_column else None) or (lc.targets[0] if lc.targets
                                                                                     else None)
                if ref is not None and target:
                    refs.setdefault(str(target), set()).add(str(ref))
        for name in self.participant_columns:
            for module, ids in participants.record_refs(r.get(name) for r in rows).items():
                refs.setdefault(module, set()).update(ids)
        maps = {m: resolve(m, ids) for m, ids in refs.items()}
        ins: list[dict[str, Any]] = []
        ins_ids: list[str] = []
        upd: list[dict[str, Any]] = []
        upd_ids: list[str] = []
        failed_before = len(out.failed)
        for r in rows:
            sid = str(r["id"])
            row = {c: r.get(c) for c in self._built}
            row[_ROW] = r[_ROW]
            if self.source_id_field:
                row[self.source_id_field] = sid
            if self.tag_column and r.get(self.tag_column):
                row[self.tag_column] = r[self.tag_column]  # absent when none: a write adds tags only
            for lc in self.lookups:
                self._lookup(lc, r, row, sid, maps, out)
            for name in self.participant_columns:
                if r.get(name) is not None or sid in mapped:  # an update clears what the source cleared
                    row[name], dropped = participants.rewrite(r.get(name), maps, self.users.active_target)
                    out.participants_dropped += dropped
            failed_now = {f[0] for f in out.failed[failed_before:]}
            if sid in failed_now:
                continue
            if sid in mapped:
                row["id"] = mapped[sid]
                upd.append(row)
                upd_ids.append(sid)
            else:
                ins.append(row)
                ins_ids.append(sid)
        for lines, existing in self.lines:
            ins, ins_ids, upd, upd_ids = _with_lines(lines, existing, ins, ins_ids, upd, upd_ids, resolve, out,
                                                     self.would_load)
        return ins, ins_ids, upd, upd_ids

    def _lookup(self, lc: LookupColumn, r: dict[str, Any], row: dict[str, Any], sid: str,
                maps: dict[str, dict[str, str]], out: Prepared) -> None:
        ref = r.get(lc.column)
        if lc.kind == USER:
            row[lc.column] = self.users.map(ref, r.get(lc.name_column))
            return
        if lc.kind == LAYOUT:
            hit = self.layouts.get(str(r.get(lc.name_column) or "").lower())
            if hit:
                row[lc.column] = hit  # else left out: the target's default layout
            return
        target = (r.get(lc.module_column) if lc.module_column else None) or (lc.targets[0] if lc.targets else None)
        if ref is None or not target:
            row[lc.column] = None
            if lc.module_column:
                row[lc.module_column] = None
            return
        hit = maps.get(str(target), {}).get(str(ref))
        if hit is not None:
            row[lc.column] = hit
            if lc.module_column:
                row[lc.module_column] = target
        elif lc.mandatory and str(target) not in self.would_load:
            # Written empty it would only come back as MANDATORY_NOT_FOUND: say which record is missing.
            out.failed.append((sid, "LOOKUP_NOT_IN_TARGET",
                               f"{lc.field} points at {target} record {ref}, which is not in the target (not "
                               "migrated, or it failed: see its own row); migrate it, then run again without "
                               "--incremental (only what is missing is inserted)"))
        else:
            out.deferred.append((sid, lc.field, str(ref), str(target)))  # set by the second pass


def _with_lines(lines: LineItems, existing: ExistingLines, ins: list[dict[str, Any]], ins_ids: list[str],
                upd: list[dict[str, Any]], upd_ids: list[str], resolve: Resolver, out: Prepared,
                would_load: frozenset[str]) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]], list[str]]:
    """Each row with its lines in the subform field; rows whose lines cannot be written are left out."""
    field = lines.sub.field
    made = lines.payloads(ins_ids + upd_ids, resolve, would_load)
    # On update the target's present lines are removed and the source's added (see line_items.py).
    now = existing([r["id"] for r in upd]) if upd else {}
    kept: list[tuple[list[dict[str, Any]], list[str]]] = []
    for rows, sids in ((ins, ins_ids), (upd, upd_ids)):
        keep_rows, keep_ids = [], []
        for row, sid in zip(rows, sids, strict=True):
            got = made[sid]
            if isinstance(got, LineFailure):
                out.failed.append((sid, got.code, got.message))
                continue
            if "id" in row:
                got = [{"id": old, "_delete": None} for old in now.get(row["id"], [])] + got
            row[field] = encode(got)
            keep_rows.append(row)
            keep_ids.append(sid)
        kept.append((keep_rows, keep_ids))
    return kept[0][0], kept[0][1], kept[1][0], kept[1][1]


#: a built row's key for its row number in the slice it came from (never a column: no field's name starts with NUL)
_ROW = "\x00row"


def _arrow(rows: list[dict[str, Any]], source_ids: list[str], schema: pa.Schema, names: list[str],
           given: pa.Table) -> pa.Table:
    """The rows as a table of ``names``: the values the planner built from Python, and those passed as the
    source holds them (``given``'s columns) taken from it by each row's number."""
    at = pa.array([r[_ROW] for r in rows], pa.int64())
    table = pa.table({n: given.column(n).take(at) if n in given.column_names
                      else pa.array([r.get(n) for r in rows], schema.field(n).type) for n in names})
    return table.append_column("__source_id", pa.array(source_ids, pa.string()))


def fixed_chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last shorter), whatever the sizes of the source's batches."""
    buf: list[pa.RecordBatch] = []
    have = 0
    for b in batches:
        while b.num_rows:
            take = b.slice(0, rows - have)
            buf.append(take)
            have += take.num_rows
            b = b.slice(take.num_rows)
            if have >= rows:
                yield pa.Table.from_batches(buf)
                buf, have = [], 0
    if buf:
        yield pa.Table.from_batches(buf)
