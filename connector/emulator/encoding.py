"""Stored values -> Zoho's record JSON (metadata-and-types.md section 5).

:class:`RecordReader` turns a list of requested fields into SQL select
expressions (through :class:`~.query.Selection`) and decodes the result rows
into record dicts exactly as the Records API renders them: ids as strings,
datetimes with the user's offset, lookups as ``{"name", "id"}``, multi-select
picklists as arrays, currency as numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import fastjson, schema
from .clock import VirtualClock
from .query import Selection, clauses, page_first
from .schema import FieldDef, ModuleDef
from .store import Store, display_expr, module_column, q
from .tags import tag_sql

Decoder = Callable[[Sequence[Any]], Any]
#: polymorphic lookups with more targets than this read their names after the page (a join per
#: target module would hash every target table for a 200-record page)
LATE_NAME_TARGETS = 2


def scalar_to_json(value_type: str, v: Any, clock: VirtualClock) -> Any:
    """One stored scalar -> its JSON form for a given (value) data type."""
    if v is None:
        return None
    if value_type == "bigint":
        return str(v)
    if value_type in ("double", "percent", "currency", "rollup_summary"):
        return float(v)
    if value_type == "integer":
        return int(v)
    if value_type == "datetime":
        return clock.render(v) if isinstance(v, datetime) else v
    if value_type == "date":
        return v.isoformat() if isinstance(v, date) else v
    if value_type == "multiselectpicklist":
        return list(v)
    if value_type in schema.JSON_DOCUMENT_TYPES:
        return fastjson.loads(v) if isinstance(v, str) else v
    if isinstance(v, Decimal):
        return float(v)
    return v


def _as_stored(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def scalar_converter(value_type: str, clock: VirtualClock) -> Callable[[Any], Any]:
    """:func:`scalar_to_json` for one data type, chosen once for a column rather than per value."""
    def bigint(v: Any) -> Any:
        return None if v is None else str(v)

    def number(v: Any) -> Any:
        return None if v is None else float(v)

    def integer(v: Any) -> Any:
        return None if v is None else int(v)

    def when(v: Any) -> Any:
        return clock.render(v) if isinstance(v, datetime) else v

    def day(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v

    def many(v: Any) -> Any:
        return None if v is None else list(v)

    def document(v: Any) -> Any:
        return fastjson.loads(v) if isinstance(v, str) else v

    if value_type == "bigint":
        return bigint
    if value_type in ("double", "percent", "currency", "rollup_summary"):
        return number
    if value_type == "integer":
        return integer
    if value_type == "datetime":
        return when
    if value_type == "date":
        return day
    if value_type == "multiselectpicklist":
        return many
    if value_type in schema.JSON_DOCUMENT_TYPES:
        return document
    return _as_stored


class ScalarDecoder:
    """The decoder of a one-column scalar field: :func:`scalar_converter` of the value at ``index`` (a page's
    loop may call ``convert`` on the value itself, without the call through the row)."""

    __slots__ = ("index", "convert")

    def __init__(self, index: int, convert: Callable[[Any], Any]) -> None:
        self.index = index
        self.convert = convert

    def __call__(self, r: Sequence[Any]) -> Any:
        return self.convert(r[self.index])


class RecordReader:
    """Reads records of one module in the API's JSON shape."""

    def __init__(self, store: Store, module: ModuleDef, clock: VirtualClock, fields: list[FieldDef], *,
                 as_of: datetime | None = None, single_record: bool = False) -> None:
        self.store = store
        self.module = module
        self.clock = clock
        self.single_record = single_record
        now = clock.now_naive()
        self.sel = Selection(module, now, as_of=as_of)
        #: what filters compile against: a page is chosen with only the joins its filter needs
        self.page = Selection(module, now, as_of=as_of)
        self.exprs: list[str] = [f"{self.sel.alias}.id"]
        self.decoders: list[tuple[str, Decoder]] = []
        self.post: list[FieldDef] = []  # subform / linking values fetched after the main query
        #: (lookup value, target module, target id) whose name is read after the main query
        self.pending_names: list[tuple[dict[str, Any], str | None, int]] = []
        #: meeting participants whose name and address are read after the main query
        self.pending_participants: list[dict[str, Any]] = []
        self.se_module_col: int | None = None
        for f in fields:
            self._add(f)

    def _add_person_or_layout(self, f: FieldDef) -> None:
        """A user or layout lookup: its id read, its name (and a user's email) from the store's tables of them,
        read once (a join per page cost more than the rest of a 100-record page together)."""
        i_id = self._col(self.sel.value_expr(f))
        if f.data_type == "layout":
            layouts = self.store.layout_names()

            def layout(r: Sequence[Any], i: int = i_id) -> Any:
                v = r[i]
                return None if v is None else {"name": layouts.get(v), "id": str(v)}

            self.decoders.append((f.api_name, layout))
            return
        people = self.store.people()

        def person(r: Sequence[Any], i: int = i_id) -> Any:
            v = r[i]
            if v is None:
                return None
            name, email = people.get(v, (None, None))
            return {"name": name, "id": str(v), "email": email}

        self.decoders.append((f.api_name, person))

    def _col(self, expr: str) -> int:
        self.exprs.append(expr)
        return len(self.exprs) - 1

    def _add(self, f: FieldDef) -> None:
        dt = f.data_type
        name = f.api_name
        sel = self.sel
        if dt in schema.SINGLE_RECORD_ONLY_TYPES:
            if self.single_record:
                self.post.append(f)
            return
        if dt in ("layout", "ownerlookup", "userlookup"):  # one target each, and no extra columns
            self._add_person_or_layout(f)
            return
        if dt in ("lookup", "multi_module_lookup"):
            late = len(f.targets) > LATE_NAME_TARGETS  # names looked up after the page is read
            i_id = self._col(sel.value_expr(f))
            i_name = None if late else self._col(sel.name_expr(f))
            i_mod = self._col(f"{sel.alias}.{q(module_column(f) or '')}") if f.targets else None
            extra = [(c, self._col(f"{sel.lookup_alias(sel.alias, f, (name,), f.lookup)}.{q(c)}"))
                     for c in f.lookup_extra if f.lookup and not f.targets]
            if f.targets and dt == "lookup":
                self.se_module_col = i_mod
            with_module = dt == "multi_module_lookup" or f.module_in_value
            pending = self.pending_names

            def dec(r: Sequence[Any], i_id: int = i_id, i_name: int | None = i_name, i_mod: int | None = i_mod,
                    with_module: bool = with_module, extra: list[tuple[str, int]] = extra) -> Any:
                if r[i_id] is None:
                    return None
                out: dict[str, Any] = {c: r[i] for c, i in extra}
                out.update({"name": None if i_name is None else r[i_name], "id": str(r[i_id])})
                if with_module and i_mod is not None:
                    mod = schema.MODULES_BY_NAME.get(r[i_mod])
                    out = {"module": {"api_name": r[i_mod], "id": str(mod.module_id) if mod else None},
                           **out}
                if i_name is None and i_mod is not None:
                    pending.append((out, r[i_mod], r[i_id]))
                return out

            self.decoders.append((name, dec))
            return
        if f.virtual == "tags":
            i_tags = self._col(tag_sql(self.module.api_name, sel.alias))

            def tag_list(r: Sequence[Any], i: int = i_tags) -> Any:
                return fastjson.loads(r[i]) if r[i] else []

            self.decoders.append((name, tag_list))
            return
        i = self._col(sel.value_expr(f))
        vt = f.value_type
        if dt == "participants":
            people = self.pending_participants

            def participants(r: Sequence[Any], i: int = i) -> Any:
                if r[i] is None:
                    return None
                items = fastjson.loads(r[i])
                people.extend(items)
                return items

            self.decoders.append((name, participants))
            return

        self.decoders.append((name, ScalarDecoder(i, scalar_converter(vt, self.clock))))

    # -- running --------------------------------------------------------------------

    def sql(self, where: str = "", order_by: str = "", limit: int | None = None, offset: int = 0) -> str:
        """The select list over the rows ``where`` picks (alias ``t``; filters compiled against :attr:`page`).

        A page (``limit``) picks its ids first (:func:`.query.page_first`). ``order_by`` names columns of
        ``t`` only and ends in a unique key, so both halves order the page alike."""
        if limit is None and not self.page.joins:
            s = f"SELECT {', '.join(self.exprs)} FROM {self.sel.from_clause()}" + clauses(where=where, order_by=order_by)
            return s + f" OFFSET {int(offset)}" if offset else s
        head, tail = page_first(self.page, where, order_by, limit, offset, self.sel.alias, order_by)
        return f"{head}SELECT {', '.join(self.exprs)} FROM {self.sel.from_clause()}{tail}"

    def fetch(self, where: str = "", params: Sequence[Any] | None = None, order_by: str = "",
              limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.store.fetchall(self.sql(where, order_by, limit, offset), params)
        return self.decode(rows)

    def decode(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        out = []
        # a scalar column is converted from its one value (no call through the row): pages of 200 x 50
        steps: list[tuple[str, int, Callable[[Any], Any] | None, Decoder]] = [
            (name, dec.index, dec.convert, dec) if isinstance(dec, ScalarDecoder) else (name, 0, None, dec)
            for name, dec in self.decoders]
        for r in rows:
            rec: dict[str, Any] = {}
            for name, i, conv, dec in steps:
                rec[name] = dec(r) if conv is None else conv(r[i])
            if self.se_module_col is not None:
                rec["$se_module"] = r[self.se_module_col]
            rec["id"] = str(r[0])
            out.append(rec)
        if self.post and out:
            self._attach_related(out)
        if self.pending_names:
            self._resolve_names()
        if self.pending_participants:
            self._resolve_participants()
        return out

    def _resolve_participants(self) -> None:
        """Participants read like lookups: name and address from the contact, lead or user named."""
        found: dict[tuple[str, str], tuple[Any, Any]] = {}
        for kind, module in (("contact", "Contacts"), ("lead", "Leads")):
            wanted = sorted({int(p["participant"]) for p in self.pending_participants if p.get("type") == kind})
            if wanted:
                rows = self.store.fetchall(f"SELECT id, Full_Name, Email FROM {q(module)} "
                                           "WHERE id IN (SELECT unnest(?))", [wanted])
                found.update(((kind, str(r[0])), (r[1], r[2])) for r in rows)
        found.update((("user", str(uid)), person) for uid, person in self.store.people().items())
        for p in self.pending_participants:
            who = str(p.get("participant"))
            name, email = (who, who) if p.get("type") == "email" else found.get((str(p.get("type")), who),
                                                                                  (None, None))
            entry = {"name": name, "Email": email, **{k: v for k, v in p.items() if k not in ("name", "Email")}}
            p.clear()
            p.update(entry)
        self.pending_participants.clear()

    def _resolve_names(self) -> None:
        """Fill the names of many-target lookups: one id query per target module, not one join each."""
        by_module: dict[str, set[int]] = {}
        for _, mod, rid in self.pending_names:
            if mod in schema.MODULES_BY_NAME:
                by_module.setdefault(mod, set()).add(rid)
        names: dict[tuple[str, int], Any] = {}
        for mod, wanted in by_module.items():
            m = schema.MODULES_BY_NAME[mod]
            rows = self.store.fetchall(f"SELECT t.id, {display_expr(m, 't')} FROM {q(m.api_name)} t "
                                       "WHERE t.id IN (SELECT unnest(?))", [sorted(wanted)])
            names.update(((mod, rid), name) for rid, name in rows)
        for value, mod, rid in self.pending_names:
            value["name"] = names.get((mod or "", rid))
        self.pending_names.clear()

    def _attach_related(self, records: list[dict[str, Any]]) -> None:
        ids = [int(r["id"]) for r in records]
        for f in self.post:
            assert f.related_module is not None
            rm = schema.MODULES_BY_NAME[f.related_module]
            parent_link = next(x for x in rm.fields if x.data_type == "lookup" and x.lookup == self.module.api_name)
            if f.data_type == "subform":
                child_fields = [x for x in rm.fields if x.api_name not in ("Created_Time", "Modified_Time")]
            else:
                # the parent link is read to group rows by parent, then dropped from each row
                child_fields = [parent_link] + [x for x in rm.fields
                                                if x.data_type in ("lookup", "userlookup") and x is not parent_link]
            reader = RecordReader(self.store, rm, self.clock, child_fields)
            order = "t.Sequence_Number, t.id" if rm.field("Sequence_Number") else "t.id"  # line items in order
            rows = reader.fetch(f"t.{q(parent_link.api_name)} IN (SELECT unnest(?))", [ids], order_by=order)
            by_parent: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                parent = row.get(parent_link.api_name) or {}
                pid = parent.get("id") if isinstance(parent, dict) else None
                if f.data_type != "subform":
                    row.pop(parent_link.api_name, None)
                if pid is not None:
                    by_parent.setdefault(pid, []).append(row)
            for rec in records:
                rec[f.api_name] = by_parent.get(rec["id"], [])


def record_fields(m: ModuleDef, names: list[str] | None = None) -> list[FieldDef]:
    """FieldDefs for requested names (all fields when None); unknown names are skipped by callers."""
    if names is None:
        return list(m.fields)
    out = []
    for n in names:
        f = m.field(n)
        if f is not None:
            out.append(f)
    return out


def meta_keys(m: ModuleDef) -> dict[str, Any]:
    """A realistic subset of the ``$`` keys Zoho adds to every record (connectors must ignore them)."""
    if m.api_name == "Notes":  # the v8 spec's Note schema (notes.json)
        return {"$editable": True, "$sharing_permission": "full_access", "$is_shared_to_client": False,
                "$size": None, "$state": "save", "$voice_note": False, "$attachments": None}
    return {"$approved": True, "$editable": True, "$currency_symbol": "$", "$state": "save",
            "$process_flow": False, "$approval_state": "approved"}
