"""What deleting a record does to the records that point at it.

Zoho clears a lookup whose target is deleted: the Contact of a deleted Account
reads ``"Account_Name": null`` afterwards, through every API. The emulator does
this at delete time, in the store, rather than hiding dangling ids at read
time, so every read path (records, search, COQL, Bulk Read CSV, the admin
export) and every filter agrees without each of them joining the target.

Choices (the reference gives no detail; unconfirmed):

* The referencing records keep their ``Modified_Time`` and ``Modified_By`` (Zoho
  does not bump them for this) and their ``_written_at``, so the change is no
  edit for incremental syncs and shows in search at once, like the deletion.
* Previous versions kept for the lagged search view lose the lookup too.
* A linking row (multi-select lookup association) whose other end is deleted
  is removed, as the association no longer exists; subform rows and
  associations of a deleted parent are removed by :func:`.writes.delete_records`.
* Polymorphic lookups (``What_Id``, multi-module lookups) are cleared only where
  they point into the deleted record's module.
* Notes and attachments are not orphaned: their ``Parent_Id`` is a ``cascade``
  lookup, and they are deleted (into the recycle bin) with their parent.
"""

from __future__ import annotations

from functools import cache

from . import schema
from .schema import FieldDef, ModuleDef
from .store import Store, module_column, q

#: lookups whose value is a record of another (or the same) module
RECORD_LOOKUP_TYPES = ("lookup", "multi_module_lookup")


@cache
def lookups_to(target: str) -> tuple[tuple[ModuleDef, FieldDef], ...]:
    """Every (module, lookup field) that can point at a record of module ``target``."""
    out = []
    for m in schema.ALL_MODULES:
        for f in m.fields:
            if f.data_type in RECORD_LOOKUP_TYPES and target in (f.targets or (f.lookup,)):
                out.append((m, f))
    return tuple(out)


def owned_by(store: Store, target: ModuleDef, ids: list[int]) -> list[tuple[ModuleDef, list[int]]]:
    """Records that belong to the deleted records ``ids`` of ``target`` (their notes, attachments ...)."""
    out = []
    for m, f in lookups_to(target.api_name):
        if not f.cascade:
            continue
        mod_col = module_column(f)
        where = f"{q(f.api_name)} IN (SELECT unnest(?))" + (f" AND {q(mod_col)} = ?" if mod_col else "")
        params: list[object] = [ids] + ([target.api_name] if mod_col else [])
        found = [r[0] for r in store.fetchall(f"SELECT id FROM {q(m.api_name)} WHERE {where}", params)]
        if found:
            out.append((m, found))
    return out


def clear_references(store: Store, target: ModuleDef, ids: list[int]) -> None:
    """Clear every lookup pointing at the deleted records ``ids`` of ``target`` (caller holds the write lock)."""
    if not ids:
        return
    for m, f in lookups_to(target.api_name):
        if f.cascade:
            continue  # the owned records were deleted with their owner (writes.delete_records)
        col, mod_col = q(f.api_name), module_column(f)
        where = f"{col} IN (SELECT unnest(?))"
        if mod_col:
            where += f" AND {q(mod_col)} = '{target.api_name}'"
        if m.generated_type == "linking":
            store.execute(f"DELETE FROM {q(m.api_name)} WHERE {where}", [ids])
            continue
        sets = f"{col} = NULL" + (f", {q(mod_col)} = NULL" if mod_col else "")
        for table in (m.api_name, m.api_name + "$history"):
            store.execute(f"UPDATE {q(table)} SET {sets} WHERE {where}", [ids])
