"""Display names and target modules that some read APIs leave out, looked up once per read.

* Bulk Read CSV cells hold only ids for owner/user lookups and ``Layout``
  (bulk-read.md section 4), so the bulk reader maps them to names with the
  users list (``/users?type=AllUsers``, disabled users included) and
  ``/settings/layouts?module=`` — one or two metadata calls per read.
* Polymorphic lookups (``What_Id``: one field, several target modules) and
  multi-module lookups: the CSV has the id only, and COQL returns the name of a
  ``What_Id`` but not which module it points at (search-and-coql.md B.5 offers
  ``'What_Id->Accounts.Account_Name'`` per target; the COQL reader selects the
  ``'$se_module'`` pseudo-column, the list API's answer, where Zoho gives it:
  :mod:`.coql`). What neither says is resolved here by *membership*: the ids
  are looked up in each target module (``lookup.modules`` in the field
  metadata) with ``select id, <display field> from <Target> where id in (...)``,
  100 ids a call (COQL's ``in`` limit), stopping at the first target that holds
  them. Cost: about ``distinct ids / 100`` COQL calls (1 credit each) for the
  first target plus the same for the ids the first target did not hold. Ids
  are cached for the read so repeated targets cost nothing; only reads that ask
  for such columns pay.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.api import coql as coql_api
from connector.api import metadata

from .base import ReaderContext, heavy_slots
from .concurrent import at_once
from .dialects.coql import CoqlQuery

#: COQL accepts at most 100 values in ``in (...)`` (search-and-coql.md B.7)
IN_LIMIT = 100
#: resolved polymorphic ids kept per read; past this the cache starts over (bounded memory)
CACHE_LIMIT = 200_000

Resolved = tuple[str | None, str | None]  # (target module api_name, display name)


def map_values(ids: pa.Array | pa.ChunkedArray, keys: pa.Array, values: pa.Array) -> pa.Array:
    """``values[keys.index(id)]`` for every id, null where the id is null or unknown — vectorised."""
    return pc.take(values, pc.index_in(ids, value_set=keys))


class LookupNames:
    """Per-read caches of user names, layout names and polymorphic lookup targets."""

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx
        self._users: tuple[pa.Array, pa.Array] | None = None
        self._layouts: dict[str, tuple[pa.Array, pa.Array]] = {}
        self._targets: dict[str, dict[str, list[str]]] = {}
        self._resolved: dict[tuple[str, str], Resolved] = {}
        #: one read's slices fill their pages at once (:mod:`.coql_slices`): an id is looked up once, by one of them
        #: (:meth:`resolve` takes it and calls nothing that takes it again)
        self._lock = threading.Lock()

    # -- users and layouts ------------------------------------------------------------

    def users(self) -> tuple[pa.Array, pa.Array]:
        if self._users is None:
            rows = metadata.list_users(self.ctx.http)
            self._users = _pairs((str(u.get("id")), _user_name(u)) for u in rows if u.get("id") is not None)
        return self._users

    def layouts(self, module: str) -> tuple[pa.Array, pa.Array]:
        hit = self._layouts.get(module)
        if hit is None:
            r = self.ctx.http.get("/settings/layouts", params={"module": module}, kind="metadata",
                                  what=f"layouts of {module}")
            rows = [] if r.empty else (r.body or {}).get("layouts", [])
            hit = self._layouts[module] = _pairs((str(x.get("id")), x.get("name")) for x in rows
                                                 if x.get("id") is not None)
        return hit

    # -- polymorphic lookups ------------------------------------------------------------

    def targets(self, module: str, field: str) -> list[str]:
        """Modules a lookup may point at: ``lookup.modules`` from the field metadata, else its one module."""
        per_module = self._targets.get(module)
        if per_module is None:
            per_module = {}
            for meta in self.ctx.catalog.fields(module):
                raw = meta.get("lookup")
                lookup: dict[str, Any] = raw if isinstance(raw, dict) else {}
                mods = [m.get("api_name") for m in lookup.get("modules") or [] if isinstance(m, dict)]
                primary = lookup.get("module")
                one = primary.get("api_name") if isinstance(primary, dict) else None
                names = [m for m in mods if m] or ([one] if one else [])
                if meta.get("api_name"):
                    per_module[str(meta["api_name"])] = names
            self._targets[module] = per_module
        return per_module.get(field, [])

    def resolve(self, module: str, field: str, ids: Iterable[str | None]) -> dict[str, Resolved]:
        """(target module, display name) of every id, looked up in the field's target modules."""
        wanted = {i for i in ids if i}
        with self._lock:  # the slices of a read wait for each other's look-ups rather than repeat them
            todo = sorted(i for i in wanted if (field, i) not in self._resolved)
            if todo:
                if len(self._resolved) + len(todo) > CACHE_LIMIT:
                    self._resolved.clear()
                mods = self.ctx.catalog.modules()
                for target in self.targets(module, field):
                    if not todo or target not in mods:
                        continue
                    found = self._lookup(target, mods[target].display_field, todo)
                    for rid, name in found.items():
                        self._resolved[(field, rid)] = (target, name)
                    todo = [i for i in todo if i not in found]
                for rid in todo:  # in no target module (a deleted record): no name, no module
                    self._resolved[(field, rid)] = (None, None)
            return {i: self._resolved.get((field, i), (None, None)) for i in wanted}

    def _lookup(self, target: str, display: str | None, ids: list[str]) -> dict[str, str | None]:
        """The ids ``target`` holds, with their display names: 100 ids a call, the calls of one target sent
        at once within the connection's heavy slots (the same calls and credits as one after another)."""
        select = ("id",) if display in (None, "id") else ("id", str(display))
        queries = []
        for i in range(0, len(ids), IN_LIMIT):
            chunk = [x for x in ids[i:i + IN_LIMIT] if x.isdigit()]  # ids are digits; never quote user input
            if chunk:
                queries.append(CoqlQuery(target, select, (f"id in ({', '.join(chunk)})",), order_by=(),
                                         limit=IN_LIMIT).text())
        out: dict[str, str | None] = {}
        for rows in self._run(queries):
            self.ctx.stats["polymorphic_lookup_calls"] = self.ctx.stats.get("polymorphic_lookup_calls", 0) + 1
            for row in rows:
                rid = str(row.get("id"))
                out[rid] = rid if display == "id" else (None if display is None else _text(row.get(display)))
        return out

    def _run(self, queries: list[str]) -> list[list[dict[str, Any]]]:
        return at_once([partial(self._rows, q) for q in queries], heavy_slots(self.ctx), "zoho-lookup-names")

    def _rows(self, query: str) -> list[dict[str, Any]]:
        return coql_api.run(self.ctx.http, query)[0]

    def polymorphic_arrays(self, module: str, field: str, ids: pa.Array | pa.ChunkedArray
                           ) -> tuple[pa.Array, pa.Array]:
        """(module, name) arrays aligned with ``ids`` (the bulk reader's vectorised path)."""
        found = self.resolve(module, field, pc.unique(ids).to_pylist())
        keys = list(found)
        key_arr = pa.array(keys, pa.string())
        mods = pa.array([found[k][0] for k in keys], pa.string())
        names = pa.array([found[k][1] for k in keys], pa.string())
        return map_values(ids, key_arr, mods), map_values(ids, key_arr, names)

    def fill_record_modules(self, module: str, fields: list[str], records: list[dict[str, Any]]) -> None:
        """Give COQL's ``{"name", "id"}`` lookup values the ``module`` the list API would show."""
        for f in fields:
            ids = [str(v["id"]) for r in records if isinstance(v := r.get(f), dict) and v.get("id") is not None
                   and not isinstance(v.get("module"), dict)]
            if not ids:
                continue
            found = self.resolve(module, f, ids)
            for r in records:
                v = r.get(f)
                if isinstance(v, dict) and v.get("id") is not None and not isinstance(v.get("module"), dict):
                    target, name = found.get(str(v["id"]), (None, None))
                    v["module"] = {"api_name": target}
                    if v.get("name") is None:
                        v["name"] = name


def _user_name(u: dict[str, Any]) -> str | None:
    name = u.get("full_name")
    if name:
        return str(name)
    parts = [str(u[k]) for k in ("first_name", "last_name") if u.get(k)]
    return " ".join(parts) or None


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def _pairs(items: Iterable[tuple[str, Any]]) -> tuple[pa.Array, pa.Array]:
    keys: list[str] = []
    values: list[str | None] = []
    for k, v in items:
        keys.append(k)
        values.append(_text(v))
    return pa.array(keys, pa.string()), pa.array(values, pa.string())
