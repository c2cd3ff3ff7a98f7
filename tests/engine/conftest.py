"""Engine fixtures: one read-only org per worker (with a few hand-made leads), sessions per setting.

The org is small (1,500 records: 525 leads, 330 contacts, 120 accounts, 180
deals) so every APIType can be run over many queries; a few leads are added
at start-up whose values carry what pushdown must escape: ``%`` and ``_`` in
text, quotes, parentheses and commas (Search criteria), a backslash and
unicode. Bulk jobs take at least 0.2 s on the emulator's clock; the engines
here poll them every 50 ms instead of Zoho's polite 0.5 s (the reader's own
tests cover the back-off).

Zoho (and the emulator) allow 10 access tokens per refresh token per 10
minutes, and these tests open many sessions (one per setting, and every CLI
run is a new process): they share one sealed token store
(``OAuthSettingsLocation``), so the whole suite mints one token per org.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.readers import BulkReader, reader_for
from connector.readers.base import Reader, ReaderContext
from connector.schema.convert import records_to_batch
from connector.session import ZohoSession

from ..conftest import ZohoClient

# Write reports of `zohocrm query` DML go to $XDG_STATE_HOME/zohocrm/reports by default: a throwaway
# folder for the test run (inherited by every CLI process), never the developer's own ~/.local/state.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="zohocrm-test-state-")

ORG = {"records": 1_500, "seed": 31, "downloads_per_minute": 100_000}
#: Leads whose values test escaping in every filter language (Company is what the queries look at)
SPECIAL_LEADS = [
    {"Last_Name": "Percent", "Company": "100% Organic", "Email": "pct@special.test", "City": "Zürich"},
    {"Last_Name": "Underscore", "Company": "Under_score Ltd", "Email": "under_score@special.test"},
    {"Last_Name": "Paren", "Company": "Smith (UK), Ltd", "Email": "paren@special.test", "City": "São Paulo"},
    {"Last_Name": "Back", "Company": "Back\\slash & Co", "Email": "back@special.test"},
    {"Last_Name": "O'Quote", "Company": "Zoë's ☕ Café", "Email": "quote@special.test", "City": "Kraków"},
    {"Last_Name": "Lookalike", "Company": "100 Organic", "Email": "pct2@special.test"},
]
DATA_CALLS = ("list_records", "get_record", "search_records", "coql_query", "create_read_job", "count_records")


def add_leads(client: ZohoClient, leads: list[dict[str, Any]]) -> list[str]:
    r = client.post("/Leads", json={"data": leads, "trigger": []})
    assert r.status_code in (200, 201), r.text
    return [str(d["details"]["id"]) for d in r.json()["data"]]


def data_calls(emu: Emulator) -> dict[str, int]:
    calls = emu.stats()["calls"]
    return {k: int(calls.get(k, 0)) for k in DATA_CALLS}


def calls_since(emu: Emulator, before: dict[str, int]) -> dict[str, int]:
    now = data_calls(emu)
    return {k: now[k] - before[k] for k in now if now[k] != before[k]}


def fast_readers(api: str, ctx: ReaderContext) -> Reader:
    if api.lower() == "bulk":
        return BulkReader(ctx, poll_initial=0.05, poll_cap=0.05)
    return reader_for(api, ctx)


@pytest.fixture(scope="session")
def org() -> Iterator[Emulator]:
    """Read-only org for engine tests (the special leads are added once, before any test reads)."""
    with Emulator(**ORG) as emu:
        add_leads(ZohoClient(emu), SPECIAL_LEADS)
        yield emu


def with_token_store(emu: Emulator, folder: Path) -> str:
    """The org's connection string, keeping its tokens in a store every session and process shares."""
    return emu.connection_string + f";OAuthSettingsLocation={folder / 'tokens.json'}"


@pytest.fixture(scope="session")
def org_conn(org: Emulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    return with_token_store(org, tmp_path_factory.mktemp("engine-tokens"))


@pytest.fixture(scope="session")
def org_client(org: Emulator) -> ZohoClient:
    return ZohoClient(org)


class Sessions:
    """One session per connection-string suffix, closed at the end."""

    def __init__(self, connection: str) -> None:
        self.connection = connection
        self.open: dict[str, ZohoSession] = {}

    def session(self, extra: str = "") -> ZohoSession:
        if extra not in self.open:
            self.open[extra] = ZohoSession(self.connection + extra, backoff_base=0.02, backoff_cap=0.2)
        return self.open[extra]

    def engine(self, extra: str = "", **kw: Any) -> Engine:
        kw.setdefault("reader_factory", fast_readers)
        return Engine(self.session(extra), **kw)

    def close(self) -> None:
        for s in self.open.values():
            s.close()


@pytest.fixture(scope="session")
def sessions(org_conn: str) -> Iterator[Sessions]:
    s = Sessions(org_conn)
    yield s
    s.close()


class Truth:
    """DuckDB over ``/__emulator/export/*``, converted to the catalog's columns (the ground truth)."""

    def __init__(self, client: ZohoClient, session: ZohoSession) -> None:
        self.client, self.session = client, session
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone='UTC'")
        self.loaded: set[str] = set()
        self.exports: dict[str, list[dict[str, Any]]] = {}

    def load(self, module: str) -> None:
        if module in self.loaded:
            return
        ts = self.session.catalog.table(module)
        records = self.client.export(module)
        self.exports[module] = records
        table = pa.Table.from_batches([records_to_batch(ts, [c.name for c in ts.columns], records)])
        self.con.register(module, table)
        self.loaded.add(module)

    def reload(self) -> None:
        for m in list(self.loaded):
            self.con.unregister(m)
        self.loaded.clear()

    def query(self, sql: str, params: Any = None, modules: tuple[str, ...] = ()) -> pa.Table:
        from connector.engine.statements import prepare_params

        for m in modules:
            self.load(m)
        text, bound = prepare_params(sql, params)
        return self.con.sql(text, params=bound).to_arrow_table()


@pytest.fixture(scope="session")
def truth(org_client: ZohoClient, sessions: Sessions) -> Truth:
    return Truth(org_client, sessions.session())


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols, strict=True)) if cols else []


def assert_same_result(got: pa.Table, want: pa.Table, *, ordered: bool, label: str = "") -> None:
    """Same column names and the same rows (as a multiset unless the query orders them totally)."""
    assert got.column_names == want.column_names, f"{label}: columns {got.column_names} != {want.column_names}"
    g, w = rows(got), rows(want)
    if not ordered:
        g, w = sorted(g, key=repr), sorted(w, key=repr)
    if g != w:
        missing = [r for r in w if r not in g][:3]
        extra = [r for r in g if r not in w][:3]
        raise AssertionError(f"{label}: {len(g)} rows vs {len(w)} expected; missing {missing}; extra {extra}")


@pytest.fixture
def private_org(make_emulator: Callable[..., Emulator]) -> Callable[..., Emulator]:
    """A private org (for writes, faults and index lag): same settings as the shared one unless told."""

    def make(**kw: Any) -> Emulator:
        settings = {**ORG, "records": 600, **kw}
        return make_emulator(**settings)

    return make
