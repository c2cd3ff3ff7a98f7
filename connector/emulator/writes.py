"""The write path shared by the REST handlers, ``/__emulator/mutate`` and bulk write.

Rows arrive as ``{column: db value}`` (from :func:`.values.decode_record`, or
built by the caller) and leave as stored records with everything Zoho fills in
itself: ids, autonumbers, ``Full_Name``, owner/creator/modifier, times, layout.
Every write stamps ``_written_at`` with the virtual now, which drives the
search index lag; updates keep the previous version in ``"<Module>$history"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import schema, stage_history, tags
from .arrow_rows import execute_with_rows, rows_table
from .references import clear_references, owned_by
from .schema import FieldDef, ModuleDef
from .store import WRITTEN_AT, Store, id_base, q, stored_columns
from .tags import TagRequest
from .value_types import MAX_ID, TEXT_LIKE, as_id
from .values import RelatedRows

if TYPE_CHECKING:
    from .app import App

#: automations a write can fire (records.md section 3, ``trigger``); omitted ``trigger`` = all
TRIGGERS = ("workflow", "approval", "blueprint", "pathfinder", "orchestration")
#: field types a duplicate check / find_by can compare on (records.md section 5; exact list unconfirmed)
NUMERIC = frozenset({"integer", "bigint", "double", "percent", "currency"})
MATCHABLE = TEXT_LIKE | NUMERIC | {"lookup", "ownerlookup", "userlookup"}


def _stamp(app: App, at: datetime | None) -> tuple[datetime, datetime]:
    """(record time at second precision, naive UTC; virtual now for ``_written_at``)."""
    written = app.clock.now().replace(tzinfo=None)
    if at is None:
        return app.clock.now_naive(), written
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.replace(microsecond=0), written


def full_name(first: str | None, last: str | None) -> str | None:
    """Zoho's Full_Name: "First Last", or just the last name (as the generator builds it)."""
    if not first:
        return last
    return f"{first} {last}" if last else first


def _with_arrow(store: Store, m: ModuleDef, rows: list[dict[str, Any]], columns: list[str], sql: str,
                given: Sequence[str] = ()) -> None:
    """Run ``sql`` with ``{rel}`` bound to the rows as an Arrow table (:mod:`.arrow_rows`); beside each
    column of ``given``, a boolean column ``<name>$given``: whether the row holds that column at all.

    Much faster than ``executemany`` (DuckDB runs that row by row): a 100-record batch
    costs milliseconds, which keeps the emulator out of the way of connector benchmarks.
    """
    table = rows_table(rows, columns, dict(stored_columns(m)))
    for c in given:
        table = table.append_column(f"{c}$given", pa.array([c in r for r in rows], pa.bool_()))
    execute_with_rows(store.cursor(), table, sql)


def _count_written(app: App, n: int) -> None:
    with app.stats.lock:
        app.stats.records_written += n


def insert_records(app: App, module: ModuleDef, rows: list[dict[str, Any]], user_id: int, *,
                   at: datetime | None = None) -> list[int]:
    """Insert decoded rows; returns the new ids in input order."""
    return insert_stamped(app, module, rows, user_id, at=at)[0]


def insert_stamped(app: App, module: ModuleDef, rows: list[dict[str, Any]], user_id: int, *,
                   at: datetime | None = None) -> tuple[list[int], datetime]:
    """:func:`insert_records`, and the Created_Time (= Modified_Time) the records got: with the
    user, all a success entry tells of a new record, so the caller need not read it back."""
    now, written = _stamp(app, at)
    if not rows:
        return [], now
    with app.store.write_lock:
        ids = _insert(app, module, rows, user_id, now, written)
    _count_written(app, len(ids))
    return ids, now


def _insert(app: App, m: ModuleDef, rows: list[dict[str, Any]], user_id: int, now: datetime,
            written: datetime) -> list[int]:
    store = app.store
    numbered = [f for f in m.fields if f.auto_number]
    # The ids and every autonumber reserved in one statement.
    ids, *numbers = store.next_values_many(
        [(f"id:{m.api_name}", len(rows), id_base(m) + 1)]
        + [(f"autonumber:{m.api_name}.{f.api_name}", len(rows), f.auto_number[1])
           for f in numbered if f.auto_number])
    autos: dict[str, list[str]] = {}
    for f, nums in zip(numbered, numbers, strict=True):
        assert f.auto_number is not None
        prefix, _, pad = f.auto_number
        autos[f.api_name] = [f"{prefix}{n:0{pad}d}" for n in nums]
    has = set(m.by_name)
    booleans = [f.api_name for f in m.fields if f.data_type == "boolean" and not f.read_only]
    fallback = {name: value for name, value in (("Owner", user_id), ("Layout", schema.DEFAULT_LAYOUT_ID))
                if name in has}
    # System fields are the server's: a client cannot backdate or re-attribute a record.
    system = {name: value for name, value in (("Created_By", user_id), ("Modified_By", user_id),
                                              ("Created_Time", now), ("Modified_Time", now),
                                              ("Converted__s", False)) if name in has}
    prepared: list[dict[str, Any]] = []
    related: list[tuple[int, RelatedRows]] = []
    tagged: list[tuple[int, TagRequest]] = []
    for i, (rid, row) in enumerate(zip(ids, rows, strict=True)):
        rec: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, RelatedRows):
                related.append((rid, v))
            elif isinstance(v, TagRequest):
                tagged.append((rid, v))
            else:
                rec[k] = v
        rec["id"] = rid
        for name, values in autos.items():
            rec[name] = values[i]
        for name in booleans:  # an unset checkbox reads false, never null
            if rec.get(name) is None:
                rec[name] = False
        for name, value in fallback.items():
            if rec.get(name) is None:
                rec[name] = value
        rec.update(system)
        if "Full_Name" in has:
            rec["Full_Name"] = full_name(rec.get("First_Name"), rec.get("Last_Name"))
        rec[WRITTEN_AT] = written
        prepared.append(rec)
    cols = [c for c, _ in stored_columns(m)]
    names = ", ".join(q(c) for c in cols)
    _with_arrow(store, m, prepared, cols, f"INSERT INTO {q(m.api_name)} ({names}) SELECT {names} FROM {{rel}}")
    for rid, rel in related:
        _write_related(app, rel, rid, user_id, now, written)
    for rid, request in tagged:
        tags.attach(store, m.api_name, rid, tags.ensure(store, m.api_name, list(request.names), user_id, now))
    if m.api_name == "Deals":  # a new deal enters its first stage
        _record_stages(app, [(rid, rec) for rid, rec in zip(ids, prepared, strict=True)], user_id, now)
    return ids


def _record_stages(app: App, deals: list[tuple[int, dict[str, Any]]], user_id: int, now: datetime) -> None:
    """Stage_History rows for deals that entered a stage (org/stage_history.py)."""
    history = schema.MODULES_BY_NAME["Stage_History"]
    new_ids = app.store.new_ids(history, len(deals))
    for new_id, (rid, rec) in zip(new_ids, deals, strict=True):
        stage_history.record_stage(app.store, new_id, {**rec, "id": rid}, user_id, now)


def update_record(app: App, module: ModuleDef, record_id: int, changes: dict[str, Any], user_id: int, *,
                  at: datetime | None = None) -> None:
    """Apply decoded changes to one record; Modified_Time/By move even when nothing changed (as in Zoho)."""
    update_records(app, module, [(record_id, changes)], user_id, at=at)


def update_records(app: App, module: ModuleDef, updates: list[tuple[int, dict[str, Any]]], user_id: int, *,
                   at: datetime | None = None) -> None:
    """:func:`update_record` for many records at once (one history insert and one UPDATE per wave)."""
    if not updates:
        return
    now, written = _stamp(app, at)
    # Waves: a record appears at most once per wave, so repeated updates of it apply in order.
    waves: list[list[tuple[int, dict[str, Any]]]] = []
    seen: dict[int, int] = {}
    for rid, changes in updates:
        wave = seen[rid] = seen.get(rid, -1) + 1
        if wave == len(waves):
            waves.append([])
        waves[wave].append((rid, changes))
    with app.store.write_lock:
        for batch in waves:
            _update_wave(app, module, batch, user_id, now, written)
    _count_written(app, len(updates))


def _update_wave(app: App, m: ModuleDef, wave: list[tuple[int, dict[str, Any]]], user_id: int, now: datetime,
                 written: datetime) -> None:
    store = app.store
    ids = [rid for rid, _ in wave]
    names: dict[int, tuple[Any, Any]] = {}
    if m.field("Full_Name") and any("First_Name" in c or "Last_Name" in c for _, c in wave):
        names = {r[0]: (r[1], r[2]) for r in store.fetchall(
            f"SELECT id, First_Name, Last_Name FROM {q(m.api_name)} WHERE id IN (SELECT unnest(?))", [ids])}
    stamp: dict[str, Any] = {"Modified_Time": now, "Modified_By": user_id}
    stamp = {k: v for k, v in stamp.items() if m.field(k)}
    rows: list[dict[str, Any]] = []
    for rid, changes in wave:
        cols = {k: v for k, v in changes.items() if not isinstance(v, (RelatedRows, TagRequest))}
        if rid in names and ("First_Name" in cols or "Last_Name" in cols):
            first, last = names[rid]
            cols["Full_Name"] = full_name(cols.get("First_Name", first), cols.get("Last_Name", last))
        cols.update(stamp)
        cols[WRITTEN_AT] = written
        rows.append({**cols, "id": rid})
    columns = sorted({c for r in rows for c in r} - {"id"})
    # Records change different fields: one UPDATE over the union, a column some rows leave out set only
    # where its row gives it (the others keep their value).
    partial = [c for c in columns if any(c not in r for r in rows)]
    table = q(m.api_name)
    store.execute(f"INSERT INTO {q(m.api_name + '$history')} SELECT *, ? FROM {table} "
                  "WHERE id IN (SELECT unnest(?))", [written, ids])
    sets = ", ".join(f"{q(c)} = CASE WHEN w.{q(c + '$given')} THEN w.{q(c)} ELSE {table}.{q(c)} END"
                     if c in partial else f"{q(c)} = w.{q(c)}" for c in columns)
    _with_arrow(store, m, rows, ["id", *columns], f"UPDATE {table} SET {sets} FROM {{rel}} w WHERE {table}.id = w.id",
                given=partial)
    if m.api_name == "Deals":
        moved = [rid for rid, changes in wave if "Stage" in changes]
        if moved:
            current = store.raw_rows(m, moved)
            _record_stages(app, [(rid, current[rid]) for rid in moved if rid in current], user_id, now)
    for rid, changes in wave:
        for rel in changes.values():
            if isinstance(rel, RelatedRows):
                _write_related(app, rel, rid, user_id, now, written)
            elif isinstance(rel, TagRequest):
                tags.attach(store, m.api_name, rid, tags.ensure(store, m.api_name, list(rel.names), user_id, now))


def _write_related(app: App, rel: RelatedRows, parent_id: int, user_id: int, now: datetime,
                   written: datetime) -> None:
    """Subform rows (replace semantics) or linking rows (add / ``_delete``) of one parent record."""
    store = app.store
    rm, link = rel.module, rel.link
    table = q(rm.api_name)
    existing = {r[0] for r in store.fetchall(f"SELECT id FROM {table} WHERE {q(link)} = ?", [parent_id])}
    doomed = set(rel.deletes)
    if rel.replace:
        doomed |= existing - {rid for rid, _ in rel.rows if rid is not None}
    if doomed:
        store.execute(f"DELETE FROM {table} WHERE id IN (SELECT unnest(?))", [sorted(doomed)])
    new_rows: list[dict[str, Any]] = []
    # Linking the same record twice keeps one row (Zoho does not duplicate an association).
    other = "" if rel.replace else next(
        f.api_name for f in rm.fields if f.data_type in ("lookup", "userlookup") and f.api_name != link)
    linked = set() if rel.replace else {
        r[0] for r in store.fetchall(f"SELECT {q(other)} FROM {table} WHERE {q(link)} = ?", [parent_id])}
    for rid, values in rel.rows:
        if rid is not None:
            changes = {**values, WRITTEN_AT: written}
            if rm.field("Modified_Time"):
                changes["Modified_Time"] = now
            store.update_row(rm, rid, changes, written, keep_history=False)
            continue
        if not rel.replace:
            target = values.get(other)
            if target in linked:
                continue
            linked.add(target)
        new_rows.append({**values, link: parent_id})
    if new_rows:
        _insert(app, rm, new_rows, user_id, now, written)


def delete_records(app: App, module: ModuleDef, ids: list[int], user_id: int, *, cascaded: bool = False
                   ) -> list[int]:
    """Move records to the recycle bin (``deleted_records``); returns the ids that existed.

    ``cascaded``: the records go because their owner went (notes of a deleted lead): the
    deletion is not counted as a write of its own.
    """
    now = app.clock.now_naive()
    with app.store.write_lock:
        deleted = app.store.delete_rows(module, ids, deleted_by=user_id, now=now)
        # Subform rows and associations die with their parent record.
        for f in module.fields:
            if f.related_module and deleted:
                rm = schema.MODULES_BY_NAME[f.related_module]
                link = next(x.api_name for x in rm.fields if x.data_type == "lookup" and x.lookup == module.api_name)
                app.store.execute(f"DELETE FROM {q(rm.api_name)} WHERE {q(link)} IN (SELECT unnest(?))", [deleted])
        # Notes and attachments go with their record; lookups elsewhere read null from now on
        # (Zoho clears them; see references.py).
        for owned_module, owned in owned_by(app.store, module, deleted) if deleted else ():
            delete_records(app, owned_module, owned, user_id, cascaded=True)
        clear_references(app.store, module, deleted)
        if deleted:
            tags.forget_records(app.store, module.api_name, deleted)
    if not cascaded:
        _count_written(app, len(deleted))
    return deleted


# -- matching (upsert duplicate check, bulk-write find_by) ------------------------------------

def match_key(f: FieldDef | None, value: Any) -> Any:
    """A value as given by a client (JSON or CSV text) -> the key it is compared with, or None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if f is None or f.data_type in ("lookup", "ownerlookup", "userlookup"):
        return as_id(value)
    dt = f.data_type
    if dt in TEXT_LIKE:
        text = str(value).lower()
        try:
            text.encode("utf-8")  # lone surrogates match nothing (and DuckDB cannot take them)
        except UnicodeEncodeError:
            return None
        return text or None
    if isinstance(value, bool):
        return None
    try:
        if dt in ("integer", "bigint"):
            if isinstance(value, float) and not value.is_integer():
                return None
            n = int(value)
            return n if abs(n) <= MAX_ID else None
        if dt in NUMERIC:
            x = float(value)
            return x if math.isfinite(x) else None
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def find_matches(app: App, module: ModuleDef, field_api_name: str, values: list[Any]) -> dict[Any, int]:
    """Existing record id per given value of a field (values not found are absent).

    Text-like fields compare case-insensitively, like Zoho's unique check; when several
    records match, the oldest (by Created_Time, then id) wins (records.md section 5,
    unconfirmed detail). ``field_api_name`` may be ``"id"``. Values must be hashable
    scalars: give a lookup's id, not its ``{"id": ...}`` object.
    """
    f = None if field_api_name == "id" else module.field(field_api_name)
    if field_api_name != "id" and (f is None or f.data_type not in MATCHABLE):
        return {}
    keys: dict[Any, list[Any]] = {}
    for v in values:
        try:
            k = match_key(f, v)
            hash(v)
        except TypeError:
            continue
        if k is not None:
            keys.setdefault(k, []).append(v)
    if not keys:
        return {}
    if f is None:
        col = "t.id"
    elif f.data_type in TEXT_LIKE:
        col = f"lower(t.{q(f.api_name)})"
    elif f.data_type in ("double", "percent", "currency"):
        col = f"CAST(t.{q(f.api_name)} AS DOUBLE)"
    else:
        col = f"t.{q(f.api_name)}"
    order = "t.Created_Time NULLS LAST, t.id" if module.field("Created_Time") else "t.id"
    rows = app.store.fetchall(
        f"SELECT {col}, t.id FROM {q(module.api_name)} t WHERE {col} IN (SELECT unnest(?)) ORDER BY {order}",
        [list(keys)])
    out: dict[Any, int] = {}
    for key, rid in rows:
        for original in keys.get(key, []):
            out.setdefault(original, int(rid))
    return out


# -- automation bookkeeping -------------------------------------------------------------------

def record_triggers(app: App, module: ModuleDef, action: str, fired: Sequence[str], count: int) -> None:
    """Count the automation runs ``count`` written records would have started.

    Shown under ``triggers`` in ``/__emulator/stats`` as {module: {action: {trigger: runs}}},
    so a test can assert a migration (``"trigger": []``) fired nothing.
    """
    if count <= 0 or not fired:
        return
    with app.state_lock:
        per_action = app.state.setdefault("triggers", {}).setdefault(module.api_name, {}).setdefault(action, {})
        for name in fired:
            per_action[name] = per_action.get(name, 0) + count
