"""Zoho CRM as a migration/sync source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pyarrow as pa

from connector.api import records as api
from connector.model import Pushdown
from connector.readers.base import Reader
from connector.session import ZohoSession

#: linking and subform modules are read as tables of their own (see ARCHITECTURE.md)
DEFAULT_MODULE_TYPES = ("default", "custom", "subform", "linking")


class ZohoSource:
    scheme = "zoho"

    def __init__(self, session: ZohoSession, *, api_type: str | None = None) -> None:
        self.session = session
        self.api_type = api_type or session.config.api_type

    def __repr__(self) -> str:
        return f"ZohoSource({self.session.config.api_domain})"

    def modules(self) -> list[str]:
        return [m for m, info in self.session.catalog.modules().items()
                if info.generated_type in DEFAULT_MODULE_TYPES]

    def schema(self, module: str) -> pa.Schema:
        return self.session.catalog.table(module).arrow_schema

    def now(self) -> datetime:
        """Zoho's clock (from the Date header), second precision: the run's signpost."""
        r = self.session.http.get("/org", kind="metadata", what="server time")
        raw = r.headers.get("Date") or r.headers.get("date")
        now = parsedate_to_datetime(raw).astimezone(UTC) if raw else datetime.now(UTC)
        return now.replace(microsecond=0)

    def _reader(self, module: str, incremental: bool) -> Reader:
        from connector.readers.coql import CoqlReader
        from connector.readers.rest import RestReader

        ctx = self.session.reader_context(progress=getattr(self, "progress", None))
        choice = self.api_type
        if choice in ("COQL",) or (incremental and choice == "Auto"):
            return CoqlReader(ctx)
        if choice == "Bulk" or (choice == "Auto" and not incremental):
            try:
                from connector.readers.bulk import BulkReader

                return BulkReader(ctx)  # type: ignore[no-any-return]
            except ImportError:
                return RestReader(ctx)
        return RestReader(ctx)

    def read(self, module: str, *, modified_since: datetime | None = None) -> Iterator[pa.RecordBatch]:
        reader = self._reader(module, modified_since is not None)
        yield from reader.batches(module, None, Pushdown(modified_since=modified_since))

    def deleted(self, module: str, since: datetime | None) -> list[str]:
        """Ids deleted after ``since`` (all of the recycle bin list when None)."""
        header = (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00") if since else None
        ids: list[str] = []
        page = 1
        while True:
            p = api.deleted_page(self.session.http, module, page=page, if_modified_since=header)
            ids += [str(r["id"]) for r in p.records if r.get("id")]
            if not p.more:
                return ids
            page += 1
