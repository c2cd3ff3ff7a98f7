"""A module larger than 100,000 records, read completely by every reader that can (``-m slow``).

REST passes its 100,000-record page-token ceiling through the COQL keyset
continuation, COQL pages by id with no OFFSET ceiling, and Bulk reads two
pages (the emulator's page size is lowered so two jobs are needed without a
200,000-record module). Search cannot list more than 2,000 records at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.readers import BulkReader, CoqlReader, Reader, RestReader
from connector.readers.base import resolve_columns
from connector.session import ZohoSession

from ..conftest import ZohoClient
from .expected import assert_same_rows, expected_table, read_table

CONTACTS = 104_000
COLUMNS = ["Last_Name", "Email", "Modified_Time", "Account_Name_Name", "Owner_Name", "Preferred_Channels",
           "Description"]


@pytest.fixture(scope="module")
def big_org() -> Iterator[Emulator]:
    with Emulator(records=CONTACTS + 2_000, seed=21, sizes={"Contacts": CONTACTS},
                  downloads_per_minute=1_000) as emu:
        emu.app.state["bulk_page_size"] = 60_000
        yield emu


@pytest.fixture(scope="module")
def big_export(big_org: Emulator) -> list[dict[str, Any]]:
    return ZohoClient(big_org).export("Contacts")


@pytest.mark.slow
@pytest.mark.parametrize("reader_cls", [RestReader, CoqlReader, BulkReader])
def test_more_than_100k_records(big_org: Emulator, big_export: list[dict[str, Any]], reader_cls: type) -> None:
    export = big_export
    assert len(export) == CONTACTS
    with ZohoSession(big_org.connection_string) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Contacts")
        reader: Reader = reader_cls(ctx)
        got = read_table(reader.batches("Contacts", COLUMNS), ts.select(resolve_columns(ts, COLUMNS)))
        assert_same_rows(got, expected_table(export, ts, COLUMNS), label=f"{reader_cls.__name__} 104k")
        if reader_cls is BulkReader:
            assert ctx.stats["bulk_jobs"] == 2
