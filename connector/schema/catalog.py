"""The catalog: which modules a connection can read and each one's table schema.

Loaded from the metadata API on first use, cached per connection, refreshable.
An unknown module name gets Zoho's own INVALID_MODULE treatment plus the
nearest api_name (``Lead`` -> ``Leads``), before any data call is made.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

from connector.api import metadata
from connector.errors import ConnectorError, FatalApiError
from connector.http.client import ZohoHttp

from .access import METADATA, PER_PARENT_MODULES, read_apis
from .org_tables import TABLES, org_table, with_attachment_keys
from .types import TableSchema, build_table_schema


@dataclass(frozen=True)
class ModuleInfo:
    api_name: str
    module_id: str
    singular_label: str
    plural_label: str
    generated_type: str
    api_supported: bool
    display_field: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class CatalogSnapshot:
    modules: dict[str, ModuleInfo] | None
    tables: dict[str, TableSchema]


class Catalog:
    def __init__(self, http: ZohoHttp) -> None:
        self.http = http
        self._lock = threading.Lock()
        self._listing = threading.Lock()
        self._modules: dict[str, ModuleInfo] | None = None
        self._tables: dict[str, TableSchema] = {}
        #: module -> its fields as Zoho describes them (``/settings/fields``): one call per module per catalog
        self._fields: dict[str, list[dict[str, Any]]] = {}
        #: what this Zoho refused that others accept (COQL's ``'$se_module'``): not asked again this session
        self.refused: set[str] = set()
        #: what this Zoho answered of those (a read may then ask it in many calls at once)
        self.answered: set[str] = set()

    def snapshot(self) -> CatalogSnapshot:
        """What this catalog has loaded (module list, table schemas): no secret, picklable, for :meth:`seed`."""
        with self._lock:
            return CatalogSnapshot(dict(self._modules) if self._modules is not None else None, dict(self._tables))

    def seed(self, snap: CatalogSnapshot) -> None:
        """Take over another process's loaded metadata (a Spark driver's, for its executors): not fetched again."""
        with self._lock:
            if self._modules is None and snap.modules is not None:
                self._modules = dict(snap.modules)
            for api, ts in snap.tables.items():
                self._tables.setdefault(api, ts)

    def refresh(self) -> None:
        with self._lock:
            self._modules = None
            self._tables.clear()
            self._fields.clear()

    def listed(self, module: str) -> ModuleInfo | None:
        """``module``'s entry when the module list is in already (None otherwise: nothing is asked)."""
        with self._lock:
            return self._modules.get(module) if self._modules is not None else None

    def modules(self) -> dict[str, ModuleInfo]:
        with self._listing:  # one list call; the state lock stays free meanwhile (fields may be asked at once)
            mods = self._modules
            if mods is None:
                mods = {}
                for m in metadata.list_modules(self.http):
                    per_parent = m.get("api_name") in PER_PARENT_MODULES  # Attachments: not api_supported
                    if (not m.get("api_supported", True) and not per_parent) or not m.get("api_name"):
                        continue
                    disp = m.get("display_field")
                    mods[m["api_name"]] = ModuleInfo(
                        m["api_name"], str(m.get("id", "")), str(m.get("singular_label", "")),
                        str(m.get("plural_label", "")), str(m.get("generated_type", "default")), True,
                        disp.get("api_name") if isinstance(disp, dict) else None, m)
                for t in TABLES:  # metadata, deletions, stage history: tables of every org, named _X
                    if t.scope != "parent" or t.parent in mods:
                        mods[t.name] = ModuleInfo(t.name, "", t.doc, t.doc, "metadata", True, None, {})
                with self._lock:
                    self._modules = mods
            return mods

    def resolve(self, name: str) -> str:
        """The exact api_name for a user-given module name, or a FatalApiError with a suggestion."""
        mods = self.modules()
        if name in mods:
            return name
        low = name.lower()
        for api in mods:
            if low == api.lower():  # SQL identifiers are case-insensitive
                return api
        # A label ("Lead", "Meetings") is not a table name — say which api_name it means instead of
        # guessing silently, the way Zoho answers INVALID_MODULE.
        by_label = [api for api, info in mods.items()
                    if low in (info.singular_label.lower(), info.plural_label.lower())]
        close = by_label or difflib.get_close_matches(name, list(mods), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}?" if close else f"known modules: {', '.join(sorted(mods))}"
        raise FatalApiError(f"INVALID_MODULE: no module named {name!r} in this org", code="INVALID_MODULE",
                            hint=hint)

    def has_fields(self, module: str) -> bool:
        """Whether :meth:`fields` has ``module``'s answer already (asking would cost no call)."""
        with self._lock:
            return module in self._fields

    def fields(self, module: str) -> list[dict[str, Any]]:
        """A module's field metadata as Zoho gives it (lookup targets, subforms, picklists...), asked once:
        every part of a run that needs more than the table schema reads it from here."""
        with self._lock:
            hit = self._fields.get(module)
        if hit is None:
            hit = metadata.list_fields(self.http, module)
            with self._lock:
                hit = self._fields.setdefault(module, hit)
        return hit

    def preload(self, names: Iterable[str]) -> None:
        """The module list and the fields of the modules ``names`` will need, asked at once: a cold query's
        metadata in one round trip instead of one per step (the list, then each module's fields).

        Before the list is in, a name is taken as its api_name only when it is spelled like one (a capital
        first, as Zoho writes them): a query that says ``leads`` waits for the list as before. Fields asked
        for a name that turns out not to be the api_name (a label, another case) are dropped, and an error
        there is not the query's: :meth:`table` asks again and reports it.
        """
        with self._lock:
            listed = self._modules
            known = set(self._tables) | set(self._fields)
        wanted = []
        for name in dict.fromkeys(names):
            if org_table(name) is not None or name in known:
                continue
            if listed is None:
                if name[:1].isupper():
                    wanted.append(name)
            elif name in listed or any(name.lower() == api.lower() for api in listed):
                api = name if name in listed else next(a for a in listed if a.lower() == name.lower())
                if api not in known and org_table(api) is None:
                    wanted.append(api)
        calls = ([self.modules] if listed is None else []) + [lambda m=m: self._guess_fields(m) for m in wanted]
        if len(calls) < 2:
            return  # one call or none: table() asks it in turn, no earlier
        pool = ThreadPoolExecutor(len(calls), thread_name_prefix="zoho-metadata")
        try:
            for done in [pool.submit(copy_context().run, call) for call in calls]:
                done.result()
        finally:  # an interrupt does not wait for an answer in flight
            pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            mods = self._modules or {}
            for m in wanted:
                if m not in mods:  # not an api_name after all
                    self._fields.pop(m, None)

    def _guess_fields(self, module: str) -> None:
        try:  # a name that is no module is an answer here, not a failure to log
            got = metadata.list_fields(self.http, module, expected=("INVALID_MODULE",))
        except ConnectorError:
            return  # not a module of this org (or not readable): table() asks in turn and says which
        with self._lock:
            self._fields.setdefault(module, got)

    def read_apis(self, module: str) -> frozenset[str]:
        """The read APIs that serve ``module`` (its table's ``read_apis``), known from the module list alone:
        a caller that only needs these (a count, a deletion log) does not wait for the module's fields."""
        api = self.resolve(module)
        with self._lock:
            hit = self._tables.get(api)
        if hit is not None:
            return hit.read_apis
        return METADATA if org_table(api) is not None else read_apis(api, self.modules()[api].generated_type)

    def table(self, module: str) -> TableSchema:
        api = self.resolve(module)
        with self._lock:
            hit = self._tables.get(api)
        if hit is not None:
            return hit
        info = self.modules()[api]
        spec = org_table(api)
        if spec is not None:
            ts = spec.schema()
        else:
            ts = build_table_schema(api, self.fields(api), display_field=info.display_field,
                                    generated_type=info.generated_type)
            if api in PER_PARENT_MODULES:
                ts = with_attachment_keys(ts)
        with self._lock:
            self._tables[api] = ts
        return ts
