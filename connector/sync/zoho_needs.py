"""Which writes a migration into Zoho will make, per module — asked of the guard before any of them.

A migration that is refused half-way has written some modules and left batches
pending; one refused before its first write has done nothing and says, in one
message, everything the target connection must allow
(:func:`connector.http.guard.require_writes`). The rule, per module of the run:

* ``insert`` (``upsert`` with ``--mode upsert``): rows the id map does not know;
* ``update``: rows the id map knows (an earlier run wrote them), lookups set by
  the second pass (the module points at itself or at a module loaded after it in
  this run), and modules with lookups still waiting from an earlier run.

A first load of a module with no such lookups needs only ``insert``. (The target adds
``query`` on the line-item modules of the orders it writes: it lists their lines there.) ``delete``
is not asked for: a target that may not delete keeps the records whose source
rows were deleted, and the run says so (a least-privilege migration target
leaves delete out on purpose; see ``connection_strings/migration-target-writes.txt``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .lookups import RECORD, LookupColumn

if TYPE_CHECKING:
    from .idmap import SyncStateStore


def writes_needed(mode: str, names: Sequence[str], lookups: Callable[[str], list[LookupColumn]],
                  mapped: Callable[[str], bool], deferred: Iterable[str] = ()) -> dict[str, list[str]]:
    """Module -> write operations this run may make on it (``names`` in load order)."""
    first = "upsert" if mode == "upsert" else "insert"
    needs: dict[str, set[str]] = {}
    for i, module in enumerate(names):
        ops = needs.setdefault(module, {first})
        if mapped(module):
            ops.add("update")
        later = {module, *names[i + 1:]}
        if any(lc.kind == RECORD and later & set(lc.targets) for lc in lookups(module)):
            ops.add("update")  # set by the second pass, once the record it points at exists
    for module in deferred:
        needs.setdefault(module, set()).add("update")
    order = ("insert", "upsert", "update")
    return {m: sorted(ops, key=order.index) for m, ops in needs.items()}


def store_facts(store: SyncStateStore | None) -> tuple[Callable[[str], bool], list[str]]:
    """What :func:`writes_needed` asks of a sync state (none yet: nothing mapped, nothing waiting)."""
    mapped = store.counts("idmap") if store is not None else {}
    waiting = store.counts("deferred") if store is not None else {}
    return (lambda m: mapped.get(m, 0) > 0), [m for m, n in waiting.items() if n]
