"""The catalog: which modules a connection can read and each one's table schema.

Loaded from the metadata API on first use, cached per connection, refreshable.
An unknown module name gets Zoho's own INVALID_MODULE treatment plus the
nearest api_name (``Lead`` -> ``Leads``), before any data call is made.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from typing import Any

from connector.api import metadata
from connector.errors import FatalApiError
from connector.http.client import ZohoHttp

from .access import PER_PARENT_MODULES
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
        self._modules: dict[str, ModuleInfo] | None = None
        self._tables: dict[str, TableSchema] = {}
        #: module -> its fields as Zoho describes them (``/settings/fields``): one call per module per catalog
        self._fields: dict[str, list[dict[str, Any]]] = {}

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

    def modules(self) -> dict[str, ModuleInfo]:
        with self._lock:
            if self._modules is None:
                out = {}
                for m in metadata.list_modules(self.http):
                    per_parent = m.get("api_name") in PER_PARENT_MODULES  # Attachments: not api_supported
                    if (not m.get("api_supported", True) and not per_parent) or not m.get("api_name"):
                        continue
                    disp = m.get("display_field")
                    out[m["api_name"]] = ModuleInfo(
                        m["api_name"], str(m.get("id", "")), str(m.get("singular_label", "")),
                        str(m.get("plural_label", "")), str(m.get("generated_type", "default")), True,
                        disp.get("api_name") if isinstance(disp, dict) else None, m)
                for t in TABLES:  # metadata, deletions, stage history: tables of every org, named _X
                    if t.scope != "parent" or t.parent in out:
                        out[t.name] = ModuleInfo(t.name, "", t.doc, t.doc, "metadata", True, None, {})
                self._modules = out
            return self._modules

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
