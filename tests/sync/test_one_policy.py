"""A migration chooses its read API by the planner's policy: one set of numbers for SQL and sync.

50,000 Leads cost 76 credits in COQL keyset pages (and 750 in list pages joined
by id) against 55 for a Bulk Read job and its user and layout names (the cost
models are held to the emulator's meter in tests/readers/test_cost_models.py):
the planner reads ``SELECT * FROM Leads`` with Bulk, so the full load must too.
A small delta goes to COQL; a delta of tens of thousands of records to Bulk, as
the planner would read ``WHERE Modified_Time >= ...`` of that many rows.
The counts are the emulator's calls; the rows must equal the ground truth.
"""

from __future__ import annotations

import time
from pathlib import Path

from connector.emulator import Emulator
from connector.engine import Engine
from connector.sync import open_target, run

from .helpers import assert_same, duckdb_table, mutate, session, source, truth

READS = ("coql_query", "list_records", "search_records", "create_read_job")


def _migrate(emu: Emulator, db: Path, incremental: bool = False) -> dict[str, int]:
    before = emu.stats()["calls"]
    src, tgt = source(emu), open_target(f"duckdb:{db}")
    try:
        # records only: the API choice is the subject, not the 5,000 record photos a full load would fetch
        result = run(src, tgt, modules=["Leads"], incremental=incremental, files=False)
    finally:
        tgt.close()
        src.close()
    assert result.ok, result.as_rows()
    after = emu.stats()["calls"]
    return {k: after.get(k, 0) - before.get(k, 0) for k in READS if after.get(k, 0) != before.get(k, 0)}


def test_full_loads_and_deltas_read_with_the_api_the_planner_would_choose(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    with Emulator(org="classic", records=8_000, seed=91, sizes={"Leads": 50_000}) as emu:
        with session(emu) as s:
            assert [scan.api for scan in Engine(s).plan("SELECT * FROM Leads").scans] == ["Bulk"]
            ts = s.catalog.table("Leads")
        assert "create_read_job" in _migrate(emu, db)

        mutate(emu, "Leads", updates=20, seed=3)
        emu.advance_clock(2)
        small = _migrate(emu, db, incremental=True)
        assert "create_read_job" not in small and small.get("coql_query"), small

        mutate(emu, "Leads", updates=45_000, seed=4)
        emu.advance_clock(2)
        big = _migrate(emu, db, incremental=True)
        assert big.get("create_read_job"), big
        assert_same("Leads", duckdb_table(str(db), "Leads", ts.arrow_schema), truth(emu, ts))


def test_a_delta_of_a_module_with_file_fields_reads_list_pages_not_coql_then_ids(tmp_path: Path, caplog,
                                                                                   monkeypatch) -> None:
    """COQL returns no file-upload columns: its delta read asks the records API for them by id after each page
    (a second round trip, a credit per 100 ids). The list API's If-Modified-Since pages hold them: cheaper, one
    round trip; the watermark second, whose ids the list API cannot leave out, is checked by a count."""
    from connector.api import records

    db = tmp_path / "crm.duckdb"
    reads = ("coql_query", "list_records", "count_records", "download_field_file")
    asked: list[str] = []  # how each list page of Projects was asked: "first", "token" or its page number
    list_page = records.list_page

    def recorded(http, module, fields, **kw):  # the real call, its place in the list noted
        if module == "Projects":
            asked.append("token" if kw.get("page_token") else str(kw["page"]) if kw.get("page") else "first")
        return list_page(http, module, fields, **kw)

    monkeypatch.setattr(records, "list_page", recorded)
    count = records.count
    downloads_before_count: list[int] = []  # field files downloaded while Projects' count was asked

    def counted(http, module, criteria=None):  # the real count, once the first page's files have begun (or 10 s)
        if module == "Projects":
            start = emu.stats()["calls"].get("download_field_file", 0)
            deadline = time.monotonic() + 10
            while (seen := emu.stats()["calls"].get("download_field_file", 0) - start) == 0 and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
            downloads_before_count.append(seen)
        return count(http, module, criteria)

    monkeypatch.setattr(records, "count", counted)
    with Emulator(org="classic", records=1_200, seed=93) as emu:
        with session(emu) as s:
            ts = s.catalog.table("Projects")
            assert ts.records_only_columns  # the file-upload fields

        def delta(mode: str = "incremental") -> dict[str, int]:
            before = emu.stats()["calls"]
            asked.clear()
            src, tgt = source(emu), open_target(f"duckdb:{db}")
            try:
                with caplog.at_level("INFO", logger="connector.sync"):
                    caplog.clear()
                    result = run(src, tgt, modules=["Projects"], incremental=True)
            finally:
                tgt.close()
                src.close()
            assert result.ok, result.as_rows()
            assert result.modules[0].mode == mode and result.modules[0].rows_written >= 20
            assert [r.getMessage().split(":")[1] for r in caplog.records
                    if r.getMessage().startswith("Projects: reading with")] == [" reading with REST"]
            assert_same("Projects", duckdb_table(str(db), "Projects", ts.arrow_schema), truth(emu, ts))
            after = emu.stats()["calls"]
            return {k: after.get(k, 0) - before.get(k, 0) for k in reads}

        assert delta("full")["list_records"] >= 1  # the full load lists its pages, file fields and all
        mutate(emu, "Projects", updates=30, creates=5, seed=6)
        emu.advance_clock(2)
        # 35 changed rows: one list page, file fields and all, asked in place of a count (it holds them all);
        # the generated records' last second is long past (settled): nothing at it is checked
        assert delta() == {"coql_query": 0, "list_records": 1, "count_records": 0, "download_field_file": 9}
        mutate(emu, "Projects", updates=20, seed=7)
        emu.advance_clock(2)
        # the last run's rows were changed a second ago: the second they end at is checked by a COQL count
        calls = delta()
        assert calls["coql_query"] == 1 and calls["list_records"] == 1 and calls["count_records"] == 0, calls
        mutate(emu, "Projects", creates=230, seed=8)
        emu.advance_clock(2)
        # more rows changed than a page holds: the count the page stood in for is asked, and beside it the
        # second page by the first's token; the count says two pages: nothing more is asked, nothing twice
        calls = delta()
        assert calls["list_records"] == 2 and calls["count_records"] == 1, calls
        assert asked == ["first", "token"], asked
        # the first page's files began downloading as the read began, not once the count had chosen the API
        assert downloads_before_count and downloads_before_count[-1] > 0, downloads_before_count
        mutate(emu, "Projects", creates=450, seed=9)
        emu.advance_clock(2)
        # three pages: the count sizes the rest, asked by number after the two in hand (the numbered pages'
        # check for a record a deletion moved between them is a COQL count at most)
        calls = delta()
        assert calls["list_records"] == 3 and calls["count_records"] == 1 and calls["coql_query"] <= 2, calls
        assert asked == ["first", "token", "3"], asked
