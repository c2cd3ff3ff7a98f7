"""Readers: one per Zoho read API, one contract.

``reader.batches(module, columns, pushdown) -> Iterator[pyarrow.RecordBatch]``;
every batch has exactly the catalog's schema for ``columns`` (all columns when
None), whichever API serves it. ``reader_for("Bulk", ctx)`` picks one by the
APIType name the planner chose.

What each API can filter and how (``dialects``), how it pages (``paging``),
its limits, costs and partitions (``strategies``) live beside the readers.
"""

from __future__ import annotations

import difflib

from connector.errors import ConfigError

from .base import Reader, ReaderContext
from .bulk import BulkReader
from .coql import CoqlReader
from .org_tables import MetadataReader, RelatedReader
from .rest import RestReader
from .search import SearchReader

#: the four Zoho read APIs (the APIType values)
READERS: dict[str, type] = {"REST": RestReader, "COQL": CoqlReader, "Search": SearchReader, "Bulk": BulkReader}
#: the readers of tables no module-wide API serves (connector.schema.org_tables): chosen by the table, never
#: by APIType
TABLE_READERS: dict[str, type] = {"Metadata": MetadataReader, "Related": RelatedReader}


def reader_for(api_type: str, ctx: ReaderContext) -> Reader:
    """The reader for an APIType value (``REST``, ``COQL``, ``Search``, ``Bulk``; case-insensitive)."""
    by_lower = {k.lower(): v for k, v in {**READERS, **TABLE_READERS}.items()}
    cls = by_lower.get(api_type.strip().lower())
    if cls is None:
        close = difflib.get_close_matches(api_type, list(READERS), n=1, cutoff=0.4)
        hint = (f"did you mean {close[0]}?" if close else "") + " (Auto is resolved by the planner per table)"
        raise ConfigError(f"no reader for APIType {api_type!r}; expected one of {', '.join(READERS)}",
                          hint=hint.strip())
    reader: Reader = cls(ctx)
    return reader


__all__ = ["BulkReader", "CoqlReader", "MetadataReader", "RelatedReader", "Reader", "ReaderContext", "RestReader",
           "SearchReader", "READERS", "TABLE_READERS", "reader_for"]
