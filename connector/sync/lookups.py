"""Lookups across modules when loading into Zoho: which columns point where, and in what order to load.

A record can only point at a record that exists, and the target org gives
every record a new id. So modules load parents first (Accounts before Contacts
before Deals ...) and every ``<Field>_Id`` is rewritten through the id map
(source id -> target id) before the row is sent. Self references
(``Parent_Account``, ``Reporting_To``) and cycles cannot be ordered away: those
lookups are written empty first and set by a second pass once both ends exist
(:func:`load_order` says which edges that applies to; at run time any reference
to a record not loaded yet is deferred the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.schema.types import FieldInfo, TableSchema

USER_TYPES = ("ownerlookup", "userlookup")
#: lookup kinds: a record of some module, a user (mapped by email), a layout (mapped by name)
RECORD, USER, LAYOUT = "record", "user", "layout"


@dataclass(frozen=True)
class LookupColumn:
    field: str  # api_name
    column: str  # "<Field>_Id"
    kind: str  # RECORD, USER or LAYOUT
    targets: tuple[str, ...]  # modules a RECORD lookup may point at
    name_column: str  # "<Field>_Name"
    module_column: str | None  # "<Field>_Module" (polymorphic What_Id, multi-module lookups)
    mandatory: bool


def raw_targets(fields_meta: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """api_name -> every module a lookup may point at, from ``/settings/fields`` (``lookup.modules``)."""
    out: dict[str, tuple[str, ...]] = {}
    for meta in fields_meta:
        lookup = meta.get("lookup")
        if not isinstance(lookup, Mapping):
            continue
        mods = [m.get("api_name") for m in lookup.get("modules") or [] if isinstance(m, Mapping)]
        one = (lookup.get("module") or {}).get("api_name") if isinstance(lookup.get("module"), Mapping) else None
        names = tuple(dict.fromkeys(str(m) for m in [*mods, one] if m))
        if names and meta.get("api_name"):
            out[str(meta["api_name"])] = names
    return out


def _kind(f: FieldInfo) -> str:
    if f.data_type in USER_TYPES or f.lookup_module == "Users":
        return USER
    if f.data_type == "layout":
        return LAYOUT
    return RECORD


def lookup_columns(ts: TableSchema, targets: Mapping[str, tuple[str, ...]] | None = None, *,
                   writable_only: bool = True) -> list[LookupColumn]:
    """The (writable) lookups of a module, with where each may point."""
    out = []
    for f in ts.fields.values():
        if not (f.is_lookup or f.data_type == "multi_module_lookup") or (writable_only and not f.writable):
            continue
        id_col = f"{f.api_name}_Id"
        if id_col not in ts.by_name:
            continue
        mod_col = f"{f.api_name}_Module"
        kind = _kind(f)
        where = tuple((targets or {}).get(f.api_name) or ((f.lookup_module,) if f.lookup_module else ()))
        out.append(LookupColumn(f.api_name, id_col, kind, where if kind == RECORD else (), f"{f.api_name}_Name",
                                mod_col if mod_col in ts.by_name else None, f.mandatory))
    return out


def parent_edges(lookups: Iterable[LookupColumn]) -> list[tuple[str, bool]]:
    """(parent module, mandatory) for every module a module's records point at."""
    return [(t, lc.mandatory) for lc in lookups if lc.kind == RECORD for t in lc.targets]


def load_order(modules: Iterable[str], parents: Mapping[str, Iterable[tuple[str, bool]]]
               ) -> tuple[list[str], set[tuple[str, str]]]:
    """Modules parents-first, and the (child, parent) edges that must be set in a second pass.

    Stable: among modules that are ready, the earlier in ``modules`` goes first. A cycle is
    broken at a module whose unloaded parents are all optional lookups (a mandatory lookup
    cannot be written empty), the earliest such; with none, the earliest module, and
    rows with an empty mandatory lookup are then reported per row. Self references are
    not edges here: they are always set in the second pass.
    """
    names = list(dict.fromkeys(modules))
    present = set(names)
    need: dict[str, dict[str, bool]] = {}
    for m in names:
        edges: dict[str, bool] = {}
        for p, mandatory in parents.get(m, ()):
            if p in present and p != m:
                edges[p] = edges.get(p, False) or bool(mandatory)
        need[m] = edges
    order: list[str] = []
    placed: set[str] = set()
    deferred: set[tuple[str, str]] = set()
    remaining = list(names)
    while remaining:
        pick = next((m for m in remaining if all(p in placed for p in need[m])), None)
        if pick is None:
            optional = [m for m in remaining if not any(mand for p, mand in need[m].items() if p not in placed)]
            pick = optional[0] if optional else remaining[0]
            deferred |= {(pick, p) for p in need[pick] if p not in placed}
        order.append(pick)
        placed.add(pick)
        remaining.remove(pick)
    return order, deferred
