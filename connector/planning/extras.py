"""The name look-ups a read's columns make some readers do: a part of every read's cost, known from the
columns alone (no SQL involved, so a sync prices its reads without loading the SQL planner)."""

from __future__ import annotations

from collections.abc import Sequence

from connector.config.config import ConnectionConfig
from connector.http.concurrency import HEAVY_LIMIT
from connector.readers.strategies import Extras
from connector.schema.types import TableSchema


def extras_for(ts: TableSchema, columns: Sequence[str], config: ConnectionConfig) -> Extras:
    """The name look-ups the requested columns make some readers do (see :class:`~.strategies.Extras`)."""
    users = layouts = False
    module_lookups: set[str] = set()
    name_lookups: set[str] = set()
    for name in columns:
        col = ts.by_name[name]
        f = ts.fields.get(col.field)
        if f is None or col.part not in ("name", "module"):
            continue
        if col.part == "module":
            # COQL names the module of a multi-module lookup in its value, and of the polymorphic lookup
            # '$se_module' describes in that column: the others are looked up
            if f.data_type == "lookup" and col.field != ts.se_module_field:
                module_lookups.add(col.field)
            name_lookups.add(col.field)
        elif f.data_type in ("ownerlookup", "userlookup"):
            users = True
        elif f.data_type == "layout":
            layouts = True
        elif f.polymorphic or f.data_type == "multi_module_lookup":
            name_lookups.add(col.field)
    return Extras(users=users, layouts=layouts, module_lookups=len(module_lookups), name_lookups=len(name_lookups),
                  index_lag=config.search_index_lag > 0, page_size=config.page_size,
                  fill_ins=not ts.records_only_columns.isdisjoint(columns),
                  slots=min(config.max_concurrency, HEAVY_LIMIT))
