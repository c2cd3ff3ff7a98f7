"""Readers of the tables that are not modules: metadata (``_Users`` ...) and per-parent lists (Attachments).

``MetadataReader`` (APIType name ``Metadata``) reads a table of
:mod:`connector.schema.org_tables` from its endpoint: once, once per module, or
once per parent record (``_Stage_History``: ``/Deals/{id}/Stage_History``).
``RelatedReader`` (``Related``) reads Attachments, which Zoho lists per record
only (``GET /{module}/{id}/Attachments``): the parent modules are those the
Attachments' ``Parent_Id`` may point at, each parent's ids are listed through
the cheapest API that serves that module (COQL, else the list API), and each
parent is asked for its attachments — one call per parent record, which is
what Zoho offers. A pushed equality/``IN`` on the key column (``module``,
``Deal_Id``, ``Parent_Id_Id``, ``Parent_Id_Module``) limits the calls.

Both honour the reader contract: batches in the catalog's schema for the
columns asked for, ``modified_since`` applied to ``Modified_Time`` when the
table has one (after the read: these endpoints take no such filter).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import FatalApiError
from connector.http.client import cancellable
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.access import PER_PARENT, fallback_api, read_apis
from connector.schema.convert import _to_datetime as to_datetime
from connector.schema.convert import records_to_batch
from connector.schema.org_tables import PER_PARENT_KEYS, OrgColumn, OrgTable, org_table
from connector.schema.types import TableSchema

from .base import ReaderContext, resolve_columns
from .coql import CoqlReader
from .rest import RestReader

log = logging.getLogger("connector.readers")

PER_PAGE = 200
#: rows per batch the metadata reader yields
CHUNK = 1_000
#: answers meaning "this module has none of these" (tags of a module without tags, /deleted of a subform)
NOT_HERE = ("INVALID_MODULE", "NOT_SUPPORTED", "MODULE_NOT_SUPPORTED", "INVALID_DATA", "NO_PERMISSION",
            "FEATURE_NOT_SUPPORTED", "INVALID_URL_PATTERN")


def _keys(pd: Pushdown) -> dict[str, tuple[str, ...]]:
    return {k: v for k, v in pd.keys}


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for i, part in enumerate(path):
        if part == "*":
            rest = path[i + 1:]
            return [_dig(x, rest) for x in obj] if isinstance(obj, list) else None
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _value(c: OrgColumn, raw: Any) -> Any:
    """One answer value as the column's Arrow type wants it."""
    if raw is None or raw == "":
        return None
    t = c.arrow
    if pa.types.is_list(t):
        return [str(x) for x in raw if x is not None] if isinstance(raw, list) else [str(raw)]
    if pa.types.is_timestamp(t):
        return to_datetime(raw)
    if pa.types.is_date(t):
        return date.fromisoformat(str(raw)[:10])
    if pa.types.is_boolean(t):
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    if pa.types.is_integer(t):
        return int(raw)
    if pa.types.is_decimal(t):
        return Decimal(str(raw)).quantize(Decimal(1).scaleb(-t.scale))
    if isinstance(raw, (dict, list)):
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    return str(raw)


class MetadataReader:
    name = "Metadata"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def batches(self, module: str, columns: list[str] | None = None,
                pushdown: Pushdown | None = None) -> Iterator[pa.RecordBatch]:
        spec = org_table(module)
        if spec is None:
            raise FatalApiError(f"{module} is not a metadata table", code="INVALID_MODULE")
        ts = spec.schema()
        cols = resolve_columns(ts, columns)
        pd = pushdown or NO_PUSHDOWN
        wanted = _keys(pd).get(spec.key_column or "")
        rows: list[dict[str, Any]] = []
        read = 0
        for scope, obj in self._objects(spec, wanted):
            rows.append({c.name: _value(c, self._extra(c, scope, obj) if c.path[0].startswith("@")
                                        else _dig(obj, c.path)) for c in spec.columns})
            if len(rows) >= CHUNK:  # per-deal stage history of a big org: never the whole table in memory
                read += len(rows)
                yield _since(pa.RecordBatch.from_pylist(rows, schema=ts.arrow_schema).select(cols), pd)
                self.ctx.report(module, read)
                rows = []
        if rows or not read:  # an empty table still gives its schema
            yield _since(pa.RecordBatch.from_pylist(rows, schema=ts.arrow_schema).select(cols), pd)
            self.ctx.report(module, read + len(rows))

    def _extra(self, c: OrgColumn, scope: str, obj: dict[str, Any]) -> Any:
        key = c.path[0]
        if key == "@module":
            return scope
        if key in ("@parent_id", "@related"):  # per-parent lists: which record, which of its lists
            return obj.get(key)
        if key == "@link_key":  # a link is unique per parent, list and linked record
            return f"{obj.get('@parent_id')}:{obj.get('id')}"
        if key == "@read_apis":
            info = self.ctx.catalog.modules().get(str(obj.get("api_name") or ""))
            if info is None:
                return None  # a module the connector does not read (Home, Reports)
            return sorted(read_apis(info.api_name, info.generated_type))
        if key == "@columns":  # the columns this field becomes in the module's table
            try:
                ts = self.ctx.catalog.table(scope)
            except FatalApiError:
                return None
            return [x.name for x in ts.columns if x.field == obj.get("api_name")]
        return None

    def _objects(self, spec: OrgTable, wanted: tuple[str, ...] | None) -> Iterator[tuple[str, dict[str, Any]]]:
        if spec.scope == "org":
            for obj in self._pages(spec.path, spec):
                yield "", obj
            return
        if spec.scope == "parent":
            assert spec.parent is not None
            ids = list(wanted) if wanted is not None else _ids(self.ctx, spec.parent)
            for rid in ids:
                for related in spec.related or ("",):
                    path = spec.path.replace("{id}", rid).replace("{related}", related)
                    try:
                        for obj in self._pages(path, spec):
                            yield spec.parent, {**obj, "@parent_id": rid, "@related": related}
                    except FatalApiError as exc:
                        # "The relation name given seems to be invalid" (the path's 5th part): this org
                        # has no such list (a Standard edition without contact roles): no rows, not an error
                        if exc.code != "INVALID_DATA" or (exc.details or {}).get("resource_path_index") != 4:
                            raise
                        log.info("%s: %s has no %s related list", spec.name, spec.parent, related)
                        return
            return
        for module in self._modules(spec, wanted):
            path = spec.path.replace("{module}", module)
            extra = () if "{module}" in spec.path else (("module", module),)
            try:
                for obj in self._pages(path, spec, extra):
                    yield module, obj
            except FatalApiError as exc:
                if exc.code not in NOT_HERE:
                    raise
                log.info("%s: %s has none (%s)", spec.name, module, exc.code)

    def _modules(self, spec: OrgTable, wanted: tuple[str, ...] | None) -> list[str]:
        mods = self.ctx.catalog.modules()
        names = []
        for name, info in mods.items():
            if info.generated_type == "metadata" or (wanted is not None and name not in wanted):
                continue
            apis = read_apis(name, info.generated_type)
            if spec.modules == "records" and apis == PER_PARENT:
                continue
            if spec.modules == "tagged" and (info.generated_type not in ("default", "custom") or "COQL" not in apis):
                continue
            names.append(name)
        return names

    def _pages(self, path: str, spec: OrgTable, extra: tuple[tuple[str, str], ...] = ()) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            params: dict[str, Any] = dict(spec.params + extra)
            if spec.paged:
                params.update(page=page, per_page=PER_PAGE)
            # per-parent lists: INVALID_DATA may only say the org has no such list (see _objects)
            r = self.ctx.http.get(path, params=params, kind="metadata", what=f"{spec.name} {path}",
                                  expected=("INVALID_DATA",) if spec.scope == "parent" else ())
            if r.empty or not isinstance(r.body, dict):
                return
            yield from (o for o in r.body.get(spec.key) or [] if isinstance(o, dict))
            if not spec.paged or not (r.body.get("info") or {}).get("more_records"):
                return
            page += 1


def _since(batch: pa.RecordBatch, pd: Pushdown) -> pa.RecordBatch:
    """Rows modified at or after ``pd.modified_since`` (these endpoints cannot filter by it)."""
    name = next((n for n in ("Modified_Time", "modified_time") if n in batch.schema.names), None)
    if pd.modified_since is None or name is None:
        return batch
    stamp = pa.scalar(pd.modified_since, batch.schema.field(name).type)
    return batch.filter(pc.fill_null(pc.greater_equal(batch.column(name), stamp), False))


def _ids(ctx: ReaderContext, module: str, modified_since: Any = None) -> list[str]:
    """Every record id of ``module``, through the cheapest API that serves it."""
    apis = ctx.catalog.table(module).read_apis
    # A parent is a record module: COQL where it serves (2,000 ids a call), else the list API, which serves all.
    reader = CoqlReader(ctx) if fallback_api(apis, "COQL") == "COQL" else RestReader(ctx)
    return [str(i) for b in reader.batches(module, ["id"], Pushdown(modified_since=modified_since))
            for i in b.column("id").to_pylist() if i]


class RelatedReader:
    """Attachments: each parent record's list, for every module the attachments may hang off."""

    name = "Related"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def parents(self, module: str) -> list[str]:
        """The modules records of ``module`` hang off (its ``Parent_Id``'s lookup modules) that this org reads."""
        mods = self.ctx.catalog.modules()
        out: list[str] = []
        for f in self.ctx.catalog.fields(module):
            if f.get("api_name") == "Parent_Id":
                lookup = f.get("lookup") or {}
                for m in lookup.get("modules") or [lookup.get("module") or {}]:
                    name = m.get("api_name") if isinstance(m, dict) else None
                    if name and name in mods and name != module and name not in out:
                        out.append(name)
        return out

    def batches(self, module: str, columns: list[str] | None = None,
                pushdown: Pushdown | None = None) -> Iterator[pa.RecordBatch]:
        ts: TableSchema = self.ctx.catalog.table(module)
        module = ts.module
        cols = resolve_columns(ts, columns)
        pd = pushdown or NO_PUSHDOWN
        id_col, module_col = PER_PARENT_KEYS[module]
        keys = _keys(pd)
        fields = [f for f in ts.fields if not f.startswith("$") and f != "id"]
        parents = self.parents(module)
        if module_col in keys:
            parents = [p for p in parents if p in keys[module_col]]
        read = 0
        # One call per parent record is all Zoho offers: up to MaxConcurrency of them at a time (the
        # client's semaphore bounds them anyway), in chunks so memory holds one chunk's answers.
        workers = max(1, min(int(self.ctx.config.max_concurrency), 8))
        cancel = threading.Event()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"related-{module}")
        try:
            for parent in parents:
                probe = id_col in keys and len(parents) > 1
                ids = list(keys[id_col]) if id_col in keys else _ids(self.ctx, parent)
                for at in range(0, len(ids), CHUNK):
                    lists = pool.map(cancellable, repeat(cancel), repeat(self._list), repeat(parent),
                                     ids[at:at + CHUNK], repeat(module), repeat(fields), repeat(probe))
                    found = [rec for one in lists for rec in one]
                    if found:
                        read += len(found)
                        yield _since(records_to_batch(ts, cols, found), pd)
                        self.ctx.report(module, read)
        finally:
            cancel.set()  # a stopped read: the workers' queued calls are not sent
            pool.shutdown(wait=True, cancel_futures=True)

    def _list(self, parent: str, rid: str, module: str, fields: list[str], probe: bool) -> list[dict[str, Any]]:
        """``probe``: the id was given without its module, so every parent module is asked for it."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            try:
                r = self.ctx.http.get(f"/{parent}/{rid}/{module}", kind="list", what=f"{module} of {parent}/{rid}",
                                      params={"fields": ",".join(fields), "page": page, "per_page": PER_PAGE},
                                      expected=("INVALID_DATA",) if probe else ())
            except FatalApiError as exc:
                if exc.code == "INVALID_DATA":  # the parent went away meanwhile (or an id that is none)
                    return out
                raise
            if r.empty:
                return out
            for rec in r.body.get("data") or []:
                pid = rec.get("Parent_Id")
                if not isinstance(pid, dict) or "module" not in pid:
                    rec["Parent_Id"] = {**(pid if isinstance(pid, dict) else {"id": rid}),
                                        "module": {"api_name": rec.get("$se_module") or parent}}
                out.append(rec)
            if not (r.body.get("info") or {}).get("more_records"):
                return out
            page += 1
