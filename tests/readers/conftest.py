"""Reader fixtures: one session-wide org big enough for paging limits, read through one session.

3,000 records with Leads at 2,500, so Leads pass the list API's 2,000-record
discrete paging limit (page tokens) and search's 2,000 cap. Bulk downloads
are limited to 10 a minute by Zoho; the contract suite downloads more than
that, so the limit is raised here (tests/readers/test_bulk.py checks the
reader copes with the real limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.readers import ReaderContext
from connector.session import ZohoSession

from ..conftest import ZohoClient

ORG_RECORDS = 3_000
ORG_SIZES = {"Leads": 2_500}


@pytest.fixture(scope="session")
def reader_org() -> Iterator[Emulator]:
    """Read-only org for the contract suite. Do not write to it."""
    with Emulator(records=ORG_RECORDS, seed=11, sizes=ORG_SIZES, downloads_per_minute=10_000) as emu:
        yield emu


@pytest.fixture(scope="session")
def reader_session(reader_org: Emulator) -> Iterator[ZohoSession]:
    with ZohoSession(reader_org.connection_string) as session:
        yield session


@pytest.fixture
def ctx(reader_session: ZohoSession) -> ReaderContext:
    ctx: ReaderContext = reader_session.reader_context()
    return ctx


@pytest.fixture(scope="session")
def truth(reader_org: Emulator) -> dict[str, list[dict[str, Any]]]:
    """Export per module, fetched once (the org never changes during the session)."""

    class Exports(dict[str, list[dict[str, Any]]]):
        client = ZohoClient(reader_org)

        def __missing__(self, module: str) -> list[dict[str, Any]]:
            self[module] = rows = self.client.export(module)
            return rows

    return Exports()
