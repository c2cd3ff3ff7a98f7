"""``POST /{module}/upsert``: insert or update by duplicate-check fields (records.md section 5).

Records are matched in order, as Zoho processes them: the ``duplicate_check_fields``
given (else the module's system duplicate-check field, then its unique fields)
are tried one after another and the first that matches an existing record wins;
a record matching one inserted earlier in the same call updates it. Under
``X-EXTERNAL`` the external-ID field is tried first (unconfirmed order).
"""

from __future__ import annotations

from typing import Any

from ..app import App
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..values import decode_record
from ..write_batch import WriteBatch
from ..writes import MATCHABLE, find_matches, insert_records, match_key, record_triggers, update_records
from ..zoho_errors import ZohoError
from .common import API, MODULE, get_module
from .external_ids import external_field
from .write_common import (
    caller,
    heavy_call,
    parse_body,
    record_details,
    record_states,
    refusal,
    respond,
    upsert_scopes,
)


def _check_fields(m: ModuleDef, body: dict[str, Any]) -> list[str]:
    given = body.get("duplicate_check_fields")
    if given is None:
        # Default: the module's system duplicate-check field, then its unique fields (records.md 5).
        names = list(m.duplicate_check_fields)
        return names + [f.api_name for f in m.fields if f.unique and f.api_name not in names]
    fields = [m.field(n) if isinstance(n, str) else None for n in given] if isinstance(given, list) else [None]
    if not fields or any(f is None or f.data_type not in MATCHABLE for f in fields):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"})
    return [f.api_name for f in fields if f is not None]


def _keys(m: ModuleDef, rec: Any, names: list[str]) -> list[tuple[str, Any]]:
    """(field, comparison key) of a record's duplicate-check values, in check order."""
    out = []
    for name in names:
        raw = rec.get(name) if isinstance(rec, dict) else None
        key = match_key(m.field(name), raw.get("id") if isinstance(raw, dict) else raw)
        if key is not None:
            out.append((name, key))
    return out


class _Upsert:
    """One upsert call. Records are matched in order, as Zoho processes them: a record matching one
    inserted earlier in the same call updates it. Inserts are buffered and written together unless a
    later record needs an earlier one's id."""

    def __init__(self, app: App, req: Request, m: ModuleDef, records: list[Any], names: list[str]) -> None:
        self.app, self.m, self.user, self.names = app, m, caller(req), names
        self.batch = WriteBatch()
        self.batch.prefetch(app, m, records)
        # comparison key -> id, per field, for every value the call carries (oldest record wins)
        self.known: dict[str, dict[Any, int]] = {}
        for name in names:
            raw = [k for r in records for n, k in _keys(m, r, [name]) if n == name]
            found = find_matches(app, m, name, raw)
            self.known[name] = {match_key(m.field(name), v): rid for v, rid in found.items()}
        self.states = record_states(app, m, [rid for ids in self.known.values() for rid in ids.values()])
        self.inserts: list[tuple[int, dict[str, Any], list[tuple[str, Any]]]] = []
        self.pending: set[tuple[str, Any]] = set()  # duplicate-check keys of the buffered inserts
        self.updates: list[tuple[int, int, dict[str, Any], str]] = []
        self.done: list[tuple[int, int, str, str | None]] = []

    def flush(self) -> None:
        ids = insert_records(self.app, self.m, [v for _, v, _ in self.inserts], self.user)
        for (i, values, keys), rid in zip(self.inserts, ids, strict=True):
            self.batch.resolve(i, rid, values.get("Owner") or self.user)
            self.done.append((i, rid, "insert", None))
            for name, key in keys:
                self.known[name].setdefault(key, rid)
        self.inserts = []
        self.pending.clear()

    def record(self, i: int, rec: Any) -> dict[str, Any] | None:
        keys = _keys(self.m, rec, self.names)
        if self.pending.intersection(keys):
            self.flush()  # this record matches one not written yet: write it first
        hit = next(((self.known[n][k], n) for n, k in keys if k in self.known[n]), None)
        if hit is None:
            values, errors = decode_record(self.app, self.m, rec, op="insert", index=i, batch=self.batch)
            if not errors:
                self.inserts.append((i, values, keys))
                self.pending.update(keys)
            return errors[0] if errors else None
        rid, name = hit
        refused = refusal(rid, self.states.get(rid, (None, False)), None)
        if refused is not None:
            return refused
        values, errors = decode_record(self.app, self.m, {**rec, "id": rid}, op="update", index=i, batch=self.batch)
        if errors:
            return errors[0]
        self.updates.append((i, rid, values, name))
        for n, k in keys:  # its new values now find it
            self.known[n].setdefault(k, rid)
        return None

    def finish(self) -> None:
        self.flush()
        update_records(self.app, self.m, [(rid, values) for _, rid, values, _ in self.updates], self.user)
        self.done += [(i, rid, "update", name) for i, rid, _, name in self.updates]


@route("POST", API + "/" + MODULE + "/upsert", scopes=upsert_scopes, heavy=heavy_call)
def upsert(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    records, fired, body = parse_body(req)
    names = _check_fields(m, body)
    ext = external_field(req, m)
    if ext is not None:
        names = [ext.api_name] + [n for n in names if n != ext.api_name]
    with app.store.write_lock:
        call = _Upsert(app, req, m, records, names)
        results = [call.record(i, rec) or {} for i, rec in enumerate(records)]
        call.finish()
        details = record_details(app, m, [rid for _, rid, _, _ in call.done])
    for i, rid, action, dup_field in call.done:
        results[i] = {"code": "SUCCESS", "duplicate_field": dup_field, "action": action, "details": details[rid],
                      "message": "record added" if action == "insert" else "record updated", "status": "success"}
    for action in ("insert", "update"):
        record_triggers(app, m, action, fired, sum(1 for d in call.done if d[2] == action))
    return respond(results, 200)
