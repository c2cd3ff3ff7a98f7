"""State shared by the records of one write call: lookup targets known to exist, unique-value claims.

Zoho processes a batch in order, so a record repeating a unique value that an
earlier valid record of the same call took gets ``DUPLICATE_DATA`` pointing at
that earlier record, even before it is written. :class:`WriteBatch` keeps those
claims (and fills in the ids of claimed-by inserts once they are written, see
:meth:`WriteBatch.resolve`), and prefetches, in one query per module or field,
what the records of a batch refer to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import schema
from .schema import FieldDef, ModuleDef
from .store import q
from .value_types import TEXT_LIKE, as_id

if TYPE_CHECKING:
    from .app import App


@dataclass
class WriteBatch:
    """State shared by the records of one write call.

    Caches lookup targets known to exist, and remembers the unique values claimed by
    earlier valid records of the batch, so a later record repeating one gets
    DUPLICATE_DATA pointing at the earlier record (as Zoho, which writes in order).
    """

    known: set[tuple[str, int]] = field(default_factory=set)
    claims: dict[tuple[str, Any], tuple[int, int | None]] = field(default_factory=dict)
    pending: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    claimed_by: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    #: unique field -> key -> [(id, owner)] oldest first, for the values the batch carries
    unique: dict[str, dict[Any, list[tuple[int, int | None]]]] = field(default_factory=dict)
    #: unique field -> existing records an earlier update of this batch gave a value of that field;
    #: whatever the store (or the prefetch) still says, they no longer hold their old value
    moved: dict[str, set[int]] = field(default_factory=dict)

    def claim(self, key: tuple[str, Any], index: int, record_id: int | None) -> None:
        """Record ``index`` (an existing record when ``record_id`` is given) takes a unique value."""
        if record_id is not None:
            self.moved.setdefault(key[0], set()).add(record_id)
        if key not in self.claims:
            self.claims[key] = (index, record_id)
            self.claimed_by.setdefault(index, []).append(key)

    def prefetch(self, app: App, module: ModuleDef, records: list[Any]) -> None:
        """Load, in one query per target module, the lookup targets the records name."""
        wanted: dict[str, set[int]] = {}
        exact = module.by_name
        for rec in records:
            if not isinstance(rec, dict):
                continue
            for key, raw in rec.items():
                if not isinstance(raw, dict):
                    continue  # a lookup is an object: other values name no target
                f = exact.get(key) if isinstance(key, str) else None
                if f is None and isinstance(key, str):
                    f = module.field(key)  # api names are case-insensitive
                if f is None or f.data_type not in ("lookup", "multi_module_lookup"):
                    continue
                rid = as_id(raw.get("id"))
                targets = f.targets or ((f.lookup,) if f.lookup else ())
                for t in targets:
                    if rid is not None:
                        wanted.setdefault(t, set()).add(rid)
        for target, ids in wanted.items():
            for rid in app.store.exists(schema.MODULES_BY_NAME[target], ids):
                self.known.add((target, rid))
        # ASCII only: there DuckDB's lower() and Python's agree; other keys are looked up one by one.
        keys = {f.api_name: {rec[f.api_name].lower() for rec in records
                             if isinstance(rec, dict) and isinstance(rec.get(f.api_name), str)
                             and rec[f.api_name].isprintable() and rec[f.api_name].isascii()}
                for f in module.unique_fields if f.data_type in TEXT_LIKE}
        for name, wanted_keys in keys.items():
            self.unique[name] = {k: [] for k in wanted_keys}
        asked = [name for name, wanted_keys in keys.items() if wanted_keys]
        if asked:
            # One scan for every unique field (a query per field scanned the table once each).
            for row in app.store.fetchall(unique_sql(module, asked), [sorted(keys[name]) for name in asked]):
                rid, owner = row[-2], row[-1]
                for name, key in zip(asked, row, strict=False):
                    if key in keys[name]:
                        self.unique[name][key].append((rid, owner))

    def holder(self, app: App, module: ModuleDef, f: FieldDef, key: Any, exclude: int | None
               ) -> tuple[int, int | None] | None:
        """(id, owner) of the oldest other record holding ``key`` in unique field ``f``, or None.

        Claims are not consulted here (the caller checks them first); records an earlier
        update of the batch moved off this field are skipped, so a value freed earlier in
        the call can be taken later in it, as when Zoho writes the records in order.
        """
        moved = self.moved.get(f.api_name, set())
        known = self.unique.get(f.api_name, {})
        if key in known:  # prefetched (keys the batch did not announce are looked up one by one)
            hits = known[key]
        else:
            hits = [(int(rid), owner) for _, rid, owner in app.store.fetchall(duplicate_sql(module, f, "= ?"), [key])]
        return next((hit for hit in hits if hit[0] != exclude and hit[0] not in moved), None)

    def exists(self, app: App, target: str, rid: int) -> bool:
        if (target, rid) in self.known:
            return True
        if app.store.exists(schema.MODULES_BY_NAME[target], [rid]):
            self.known.add((target, rid))
            return True
        return False

    def resolve(self, index: int, record_id: int, owner_id: int | None) -> None:
        """Tell the batch the id record ``index`` was written with (fills duplicate_record references)."""
        for key in self.claimed_by.pop(index, []):
            self.claims[key] = (index, record_id)
        for ref in self.pending.pop(index, []):
            ref["id"] = str(record_id)
            if owner_id is not None:
                ref["Owner"] = user_ref(owner_id, zuid=True)


def user_ref(user_id: int, *, zuid: bool = False) -> dict[str, Any]:
    u = schema.USERS_BY_ID.get(user_id)
    out: dict[str, Any] = {"name": u.full_name if u else None, "id": str(user_id)}
    if zuid:
        out["zuid"] = str(u.zuid) if u else None
    return out


def unique_key(f: FieldDef, value: Any) -> Any:
    # Zoho's unique check is case-insensitive for text (metadata: unique.casesensitive false).
    return value.lower() if f.data_type in TEXT_LIKE and isinstance(value, str) else value


def unique_sql(m: ModuleDef, names: list[str]) -> str:
    """(lower(value) per field named, id, owner) of the records holding one of the given keys in any of
    the text fields ``names`` (a list parameter per field), oldest first: :func:`duplicate_sql` for
    several fields in one scan."""
    cols = [f"lower(t.{q(name)})" for name in names]
    owner = "t.Owner" if m.field("Owner") else "NULL"
    order = "t.Created_Time NULLS LAST, t.id" if m.field("Created_Time") else "t.id"
    where = " OR ".join(f"{c} IN (SELECT unnest(?))" for c in cols)
    return f"SELECT {', '.join(cols)}, t.id, {owner} FROM {q(m.api_name)} t WHERE {where} ORDER BY {order}"


def duplicate_sql(m: ModuleDef, f: FieldDef, condition: str) -> str:
    """(key, id, owner) of the records whose unique field ``f`` satisfies ``condition``, oldest first."""
    col = f"lower(t.{q(f.api_name)})" if f.data_type in TEXT_LIKE else f"t.{q(f.api_name)}"
    owner = "t.Owner" if m.field("Owner") else "NULL"
    order = "t.Created_Time NULLS LAST, t.id" if m.field("Created_Time") else "t.id"
    return f"SELECT {col}, t.id, {owner} FROM {q(m.api_name)} t WHERE {col} {condition} ORDER BY {order}"
