"""``POST /__emulator/mutate`` (not part of Zoho): create, update and delete records now.

For incremental-sync tests. Body::

    {"module": "Leads", "creates": 10, "updates": 5, "deletes": 2,
     "modified_time": "2025-07-01T10:00:00+05:30", "seed": 7}

Fresh records come from the generator's pools (:func:`..generate.generate_chunk`
with the mutation's seed, so they look like the rest of the org), and every
change goes through :mod:`..writes` exactly like an API write: history rows,
``_written_at`` for the search index lag, the deleted-records list.
``modified_time`` pins Modified_Time of created/updated records to that second
(ties at a sync watermark). The same ``seed`` on the same org state gives the
same changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from .. import files, schema
from ..app import App
from ..generate import generate_chunk
from ..http import Request, Response, route
from ..schema import FieldDef, ModuleDef
from ..store import id_base, module_column, q
from ..value_types import NOT_SETTABLE
from ..writes import delete_records, find_matches, insert_records, update_records
from ..zoho_errors import ZohoError

MAX_PER_CALL = 100_000
# Field types an "ordinary edit" touches (unique fields and lookups stay put: no clashes, no dangling ids).
EDITABLE_TYPES = frozenset({"text", "textarea", "phone", "website", "picklist", "multiselectpicklist", "integer",
                            "double", "percent", "currency", "boolean", "date", "datetime"})


def _count(body: dict[str, Any], key: str) -> int:
    v = body.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_PER_CALL:
        raise ZohoError(400, "INVALID_DATA", f"{key} must be an integer between 0 and {MAX_PER_CALL}", {"key": key})
    return v


def _modified_time(body: dict[str, Any]) -> datetime | None:
    raw = body.get("modified_time")
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ZohoError(400, "INVALID_DATA", "modified_time must be an ISO datetime with an offset",
                        {"key": "modified_time", "expected_data_type": "datetime"})
    return at.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _writable(m: ModuleDef) -> list[FieldDef]:
    return [f for f in m.fields if f.writable and not f.read_only and f.data_type not in NOT_SETTABLE]


def _fresh_rows(app: App, m: ModuleDef, seed: int, n: int) -> list[dict[str, Any]]:
    """n generated records, numbered after the ids issued so far (so index-based values stay unique)."""
    row = app.store.fetchone("SELECT value FROM counters WHERE name = ?", [f"id:{m.api_name}"])
    offset = max(0, int(row[0]) - id_base(m)) if row else 0
    side: dict[str, list[pa.Table]] = {}
    table = generate_chunk(m, seed, app.sizes, offset, n, side)
    for generated in side.get("files", []):  # the files their file/image upload fields name
        files.register(app.store, generated)
    keep: set[str] = set()
    for f in _writable(m):
        keep.add(f.api_name)
        if f.targets:
            keep.add(module_column(f) or "")
    rows = [{k: v for k, v in r.items() if k in keep} for r in table.to_pylist()]
    _drop_dangling(app, m, rows)
    _avoid_unique_clashes(app, m, rows)
    return rows


def _fresh_lines(app: App, m: ModuleDef, parents: list[int], seed: int, user: int) -> None:
    """New orders get line items, 1-3 each, as generated ones have (Zoho requires at least one)."""
    for f in m.fields:
        if f.data_type != "subform" or not f.mandatory or not parents or not f.related_module:
            continue
        rm = schema.MODULES_BY_NAME[f.related_module]
        link = next(x.api_name for x in rm.fields if x.data_type == "lookup" and x.lookup == m.api_name)
        counts = np.random.default_rng([seed, rm.id_slot, len(parents)]).integers(1, 4, len(parents))
        rows = _fresh_rows(app, rm, seed, int(counts.sum()))
        k = 0
        for parent, count in zip(parents, counts.tolist(), strict=True):
            for seq in range(count):
                rows[k].update({link: parent, "Sequence_Number": seq + 1})
                k += 1
        insert_records(app, rm, rows, user)


def _drop_dangling(app: App, m: ModuleDef, rows: list[dict[str, Any]]) -> None:
    """The generator points lookups at ids 1..size; some of those records may be gone by now."""
    for f in m.fields:
        if f.data_type not in ("lookup", "multi_module_lookup") or f.api_name not in (rows[0] if rows else {}):
            continue
        mc = module_column(f)
        by_target: dict[str, set[int]] = {}
        for r in rows:
            target = r.get(mc) if mc else f.lookup
            if r.get(f.api_name) is not None and target:
                by_target.setdefault(target, set()).add(r[f.api_name])
        alive = {(t, i) for t, ids in by_target.items() for i in app.store.exists(schema.MODULES_BY_NAME[t], ids)}
        for r in rows:
            target = r.get(mc) if mc else f.lookup
            if r.get(f.api_name) is not None and (target, r[f.api_name]) not in alive:
                # a mandatory lookup (a note's parent, a line's product) moves to a live record instead
                live = app.store.fetchone(f"SELECT min(id) FROM {q(target or '')}") if f.mandatory else None
                r[f.api_name] = live[0] if live else None
                if mc and r[f.api_name] is None:
                    r[mc] = None


def _avoid_unique_clashes(app: App, m: ModuleDef, rows: list[dict[str, Any]]) -> None:
    for f in m.fields:
        if not f.unique:
            continue
        taken = find_matches(app, m, f.api_name, [r.get(f.api_name) for r in rows if r.get(f.api_name)])
        for r in rows:
            if r.get(f.api_name) in taken:
                r[f.api_name] = None if not f.mandatory else f"{r[f.api_name]} ({len(taken)})"


def _changes(rng: np.random.Generator, m: ModuleDef, fresh: dict[str, Any]) -> dict[str, Any]:
    """A few ordinary fields of one record, new values taken from a freshly generated row."""
    candidates = [f for f in _writable(m) if f.data_type in EDITABLE_TYPES and not f.unique
                  and f.api_name in fresh and not (f.mandatory and fresh[f.api_name] is None)]
    if not candidates:
        return {}
    k = int(rng.integers(1, min(3, len(candidates)) + 1))
    picked = rng.choice(len(candidates), size=k, replace=False)
    return {candidates[int(i)].api_name: fresh[candidates[int(i)].api_name] for i in sorted(picked)}


@route("POST", r"/__emulator/mutate", kind="admin")
def mutate(app: App, req: Request) -> Response:
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise ZohoError(400, "INVALID_DATA", "the body must be a JSON object", {})
    m = app.org.module(str(body.get("module") or ""))
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                        {"module": body.get("module")})
    creates, updates, deletes = (_count(body, k) for k in ("creates", "updates", "deletes"))
    at = _modified_time(body)
    seed = body.get("seed")
    if seed is None:
        with app.state_lock:  # without a seed: a new, still reproducible, stream per call
            app.state["mutations"] = app.state.get("mutations", 0) + 1
            seed = app.settings.seed * 1_000 + app.state["mutations"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ZohoError(400, "INVALID_DATA", "seed must be a non-negative integer", {"key": "seed"})
    rng = np.random.default_rng([seed, m.id_slot])
    user = schema.ADMIN_USER.id
    with app.store.write_lock:
        created = insert_records(app, m, _fresh_rows(app, m, seed, creates), user, at=at) if creates else []
        _fresh_lines(app, m, created, seed, user)
        editable = "NOT coalesce(Converted__s, false)" if m.field("Converted__s") else "true"
        pool = [r[0] for r in app.store.fetchall(
            f"SELECT id FROM {q(m.api_name)} WHERE {editable} AND id NOT IN (SELECT unnest(?)) ORDER BY id",
            [created])]
        picked = rng.permutation(len(pool))
        updated = sorted(pool[int(i)] for i in picked[:updates])
        doomed = sorted(pool[int(i)] for i in picked[updates:updates + deletes])
        if updated:
            fresh = generate_chunk(m, seed + 1, app.sizes, 0, len(updated)).to_pylist()
            update_records(app, m, [(rid, _changes(rng, m, row)) for rid, row in zip(updated, fresh, strict=True)],
                           user, at=at)
        deleted = delete_records(app, m, doomed, user) if doomed else []
    return Response.json({"created": [str(i) for i in created], "updated": [str(i) for i in updated],
                          "deleted": [str(i) for i in deleted]})
