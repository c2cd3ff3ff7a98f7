"""Bulk reader specifics: the job's field list, criteria, paging and pipelining, failures, limits."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import connector.emulator.bulk_read as emulator_bulk
from connector.emulator import Emulator
from connector.errors import FatalApiError
from connector.model import Pushdown
from connector.readers import BulkReader, ReaderContext
from connector.readers.bulk import POLL_FLOOR_S, job_criteria, poll_delays
from connector.session import ZohoSession

from ..conftest import ZohoClient
from .expected import assert_same_rows, expected_table, read_table


@pytest.mark.parametrize(("module", "columns", "fields"), [
    ("Deals", ["id"], ["id"]),  # an empty list would export every field
    ("Deals", ["Amount", "Stage"], ["Amount", "Stage"]),
    ("Deals", ["Account_Name_Name"], ["Account_Name.Account_Name"]),  # name only: no id column needed
    ("Deals", ["Contact_Name_Id", "Contact_Name_Name"], ["Contact_Name", "Contact_Name.Full_Name"]),
    ("Deals", ["Owner_Name", "Layout_Name"], ["Owner", "Layout"]),  # names from the users/layouts lists
    ("Tasks", ["What_Id_Module"], ["What_Id"]),  # polymorphic: looked up by id
    ("Tasks", ["Related_Record_Name", "Remind_At"], ["Remind_At", "Related_Record"]),
    ("Contacts", ["Reporting_To_Name", "Preferred_Channels"], ["Reporting_To.Full_Name", "Preferred_Channels"]),
])
def test_job_fields(ctx: ReaderContext, module: str, columns: list[str], fields: list[str]) -> None:
    assert BulkReader(ctx).plan(module, columns).fields == fields


IST = timezone(timedelta(hours=5, minutes=30))
LEAD_SOURCE = {"field": {"api_name": "Lead_Source"}, "comparator": "equal", "value": "Web"}
SINCE = {"field": {"api_name": "Modified_Time"}, "comparator": "greater_equal", "value": "2024-05-01T04:30:00+00:00"}


@pytest.mark.parametrize(("pushdown", "criteria"), [
    (Pushdown(), None),
    (Pushdown(bulk_criteria=LEAD_SOURCE), LEAD_SOURCE),
    (Pushdown(modified_since=datetime(2024, 5, 1, 10, 0, tzinfo=IST)), SINCE),
    (Pushdown(bulk_criteria=LEAD_SOURCE, modified_since=datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),
     {"group_operator": "and", "group": [LEAD_SOURCE, SINCE]}),
    (Pushdown(criteria="(Lead_Source:equals:Web)", coql_where="Lead_Source = 'Web'"), None),  # not bulk's
])
def test_job_criteria(pushdown: Pushdown, criteria: dict[str, Any] | None) -> None:
    assert job_criteria(pushdown) == criteria


def _session(emu: Emulator) -> ZohoSession:
    return ZohoSession(emu.connection_string)


def test_pages_are_pipelined(make_emulator: Callable[..., Emulator]) -> None:
    """Past one page, the next job is created while the current page is still being consumed."""
    emu = make_emulator(records=1_500, seed=4, downloads_per_minute=1_000)
    emu.app.state["bulk_page_size"] = 120  # Contacts: 330 records -> 3 pages
    with _session(emu) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Contacts")
        gen = BulkReader(ctx, poll_initial=0.1).batches("Contacts")
        first = next(gen)
        assert first.num_rows <= 120
        deadline = time.monotonic() + 120  # how long a loaded machine may take; a pass never waits that long
        while ctx.stats.get("bulk_jobs", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # (on a slow machine page 3's job may have started too, once page 2's was answered: not a failure)
        assert ctx.stats["bulk_jobs"] >= 2, "page 2's job should start before page 1 is consumed"
        got = read_table([first, *gen], ts.arrow_schema)
        assert ctx.stats["bulk_jobs"] == 3
        assert_same_rows(got, expected_table(ZohoClient(emu).export("Contacts"), ts), label="3 bulk pages")


def _first(n: int, delays: Any) -> list[float]:
    return [round(next(delays), 4) for _ in range(n)]


def test_poll_delays_follow_the_page_before() -> None:
    # no expectation: at once, then the plain backoff (0.5 growing by half, capped)
    assert _first(6, poll_delays(0.5, 2.0)) == [0.0, 0.5, 0.75, 1.125, 1.6875, 2.0]
    # a page job seen running 1.3 s: first asked at 1.04 s, then every tenth of it growing by half
    assert _first(4, poll_delays(0.5, 10.0, 1.3)) == [1.04, 0.13, 0.195, 0.2925]
    # a short one never polls faster than the floor; a long one waits at most the cap, from the start
    assert _first(2, poll_delays(0.5, 10.0, 0.2)) == [0.16, POLL_FLOOR_S]
    assert _first(3, poll_delays(0.5, 10.0, 600.0)) == [10.0, 10.0, 10.0]


class Polls(BulkReader):
    """The Bulk reader, noting what each page's wait expected and how many polls found the job running."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.waits: list[tuple[float | None, int]] = []

    def wait(self, module: str, job_id: str, cancel: threading.Event, expect: float | None = None,
             since: float | None = None, running: list[float] | None = None) -> dict[str, Any]:
        seen: list[float] = []
        try:
            return super().wait(module, job_id, cancel, expect, since, seen)
        finally:
            self.waits.append((expect, len(seen)))
            if running is not None:
                running.extend(seen)


def test_a_later_pages_job_is_first_polled_after_the_page_befores_length(
        make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=1_500, seed=4, downloads_per_minute=1_000)
    emu.app.state["bulk_page_size"] = 120  # Contacts: 330 records -> 3 pages
    with _session(emu) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Contacts")
        reader = Polls(ctx, poll_initial=0.05)
        got = read_table(list(reader.batches("Contacts")), ts.arrow_schema)
    assert_same_rows(got, expected_table(ZohoClient(emu).export("Contacts"), ts), label="3 bulk pages")
    (first, first_running), *later = reader.waits
    # page 1 is asked about at once (nothing known) and is still running then (0.2 virtual s at least)
    assert first is None and first_running >= 1
    # pages 2 and 3: their job is first asked about when the page before's job had been seen running
    assert len(later) == 2 and all(expect is not None and expect > 0 for expect, _ in later)


def test_failed_job_raises_with_its_id(make_emulator: Callable[..., Emulator],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    emu = make_emulator(records=300)

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(emulator_bulk, "page_table", broken)  # the emulated server fails the export
    with _session(emu) as session:
        with pytest.raises(FatalApiError) as info:
            list(BulkReader(session.reader_context(), poll_initial=0.1).batches("Accounts"))
    assert info.value.code == "BULK_READ_FAILED"
    assert info.value.details["job_id"] in str(info.value) and "disk full" in str(info.value)


def _page_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("zohocrm-bulk-pages-*"))


def test_stopping_early_cleans_up(make_emulator: Callable[..., Emulator], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A private temp dir: other test processes read bulk pages into the shared one at the same time.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    emu = make_emulator(records=1_500, downloads_per_minute=1_000)
    emu.app.state["bulk_page_size"] = 100
    before = _page_dirs()
    with _session(emu) as session:
        gen = BulkReader(session.reader_context(), poll_initial=0.1).batches("Contacts", ["Last_Name"])
        assert next(gen).num_rows > 0
        gen.close()  # the worker is creating page 2's job: it must stop and its files go
    assert _page_dirs() == before
    assert not [t for t in threading.enumerate() if t.name.startswith("bulk-read-Contacts")]


def test_exact_limit_stops_after_the_first_page(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=1_500, downloads_per_minute=1_000)
    emu.app.state["bulk_page_size"] = 100
    with _session(emu) as session:
        ctx = session.reader_context()
        rows = sum(b.num_rows for b in BulkReader(ctx, poll_initial=0.1).batches(
            "Contacts", ["Email"], Pushdown(limit=30, exact=True)))
        assert rows == 30 and ctx.stats["bulk_jobs"] == 1


def test_download_limit_is_waited_out(make_emulator: Callable[..., Emulator], caplog: pytest.LogCaptureFixture
                                      ) -> None:
    """Zoho allows 10 downloads a minute; the 429 that follows is retried, not fatal, and not logged as a
    failed call (a run that then succeeds showed ``bulk read download ... failed: throttled`` errors)."""
    caplog.set_level(logging.INFO, logger="connector")
    emu = make_emulator(records=300, downloads_per_minute=1)
    # no retries in the HTTP client: the 429 reaches the reader, which waits the minute out itself
    with ZohoSession(emu.connection_string + ";MaxRetries=0") as session:
        ctx = session.reader_context()
        reader = BulkReader(ctx, poll_initial=0.1)
        assert sum(b.num_rows for b in reader.batches("Accounts", ["Account_Name"])) > 0
        # The minute passes (virtual clock) while the second read is being throttled.
        timer = threading.Timer(1.0, emu.advance_clock, args=(61,))
        timer.start()
        try:
            assert sum(b.num_rows for b in reader.batches("Deals", ["Deal_Name"])) > 0
        finally:
            timer.cancel()
    assert emu.app.limits.rejected >= 1
    throttled = [r for r in caplog.records if "bulk read download" in r.getMessage() and "throttled" in r.getMessage()]
    assert throttled, "the wait is in the log"
    assert all(r.levelno < logging.WARNING for r in throttled), [r.getMessage() for r in throttled]


def test_polymorphic_lookups_resolve_by_target(ctx: ReaderContext, truth: dict[str, Any]) -> None:
    """What_Id's module is not in the CSV nor in COQL; it is found by looking the ids up per target."""
    ts = ctx.catalog.table("Tasks")
    columns = ["What_Id_Id", "What_Id_Name", "What_Id_Module", "Related_Record_Module"]
    got = read_table(BulkReader(ctx, poll_initial=0.25).batches("Tasks", columns), ts.select(["id", *columns]))
    assert set(got.column("What_Id_Module").to_pylist()) == {"Accounts", "Deals", None}
    assert_same_rows(got, expected_table(truth["Tasks"], ts, columns), label="Tasks polymorphic")
    assert ctx.stats["polymorphic_lookup_calls"] >= 2


def test_the_first_job_is_created_while_the_users_list_is_asked(make_emulator: Callable[..., Emulator],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A read whose owners' names come from the users list asks it beside its first job, not before: Zoho's
    bulk queue, which bounds a whole-org load, starts a round trip sooner."""
    import connector.api.bulk as bulk_api
    import connector.api.metadata as metadata_api

    emu = make_emulator(records=600, seed=4, latency_ms=150)
    spans: dict[str, tuple[float, float]] = {}

    def timed(name: str, real: Any) -> Any:
        def call(*a: Any, **kw: Any) -> Any:
            start = time.monotonic()
            try:
                return real(*a, **kw)
            finally:
                spans.setdefault(name, (start, time.monotonic()))
        return call

    monkeypatch.setattr(bulk_api, "create_read_job", timed("job", bulk_api.create_read_job))
    monkeypatch.setattr(metadata_api, "list_users", timed("users", metadata_api.list_users))
    with _session(emu) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Deals")
        got = read_table(BulkReader(ctx, poll_initial=0.1).batches("Deals", ["Deal_Name", "Owner_Name"]),
                         ts.select(["id", "Owner_Name", "Deal_Name"]))
    assert spans["job"][0] < spans["users"][1], "the first job waited for the users list"
    assert got.num_rows and set(got.column("Owner_Name").to_pylist()) - {None}
