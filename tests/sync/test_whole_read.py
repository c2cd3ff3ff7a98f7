"""A small linking or subform module whose ids a run lists is read whole instead: one read for the ids and the delta.

Linking rows go with the records they join and subform rows with their parent, unlisted in the module's own
``/deleted``; an incremental run then lists every id of the module to find them. For a module of at most
``WHOLE_READ_ROWS`` rows that listing costs what reading every row costs (COQL charges by LIMIT), so the run
reads it whole, takes the ids and the changed rows from that read, and makes no delta read and no count. The
answer must be the one listing beside a delta read gives; the calls and credits fewer.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.sync.delta import changed_since
from connector.sync.source_zoho import ZohoSource

from .helpers import (
    MODULES,
    NO_SLOW_FAULTS,
    admin,
    assert_same,
    counted_sync,
    full_load,
    mutate,
    source,
    truth,
)

#: the classic org's small linking and subform modules (every one well under WHOLE_READ_ROWS at 600 records)
SMALL = ("Project_Milestones", "Projects_X_Contacts", "Projects_X_Users", "Deals_X_Competitors")


class ListingSource(ZohoSource):
    """Every module as any other source has it: the ids listed beside a delta read sized by a count."""

    def whole_read(self, module: str, expected: int | None) -> Any:
        return None

    def _small_linked(self, module: str, rows: int | None, listed_only: bool = False) -> bool:
        return False


def assert_matches_org(emu: Emulator, folder: Path) -> None:
    check = source(emu)
    try:
        for m in MODULES:
            ts = check.session.catalog.table(m)
            got = pq.read_table(folder / f"{m}.parquet").select(ts.arrow_schema.names).cast(ts.arrow_schema)
            assert_same(m, got, truth(emu, ts))
    finally:
        check.close()


@pytest.mark.parametrize("slots", [12, 1], ids=["read-ahead", "in-turn"])
def test_modules_whose_ids_are_listed_are_read_whole_with_the_listing_s_answer_and_fewer_calls(
        tmp_path: Path, slots: int) -> None:
    with Emulator(org="classic", records=600, seed=51) as emu:
        base = tmp_path / "base"
        full_load(emu, base)
        # parents' deletions take linking rows with them (unlisted); a project edited may drop milestones
        mutate(emu, "Projects", deletes=3, updates=6, seed=21)
        mutate(emu, "Contacts", deletes=4, updates=5, seed=22)
        mutate(emu, "Deals", deletes=3, seed=23)
        for i, m in enumerate(SMALL):
            mutate(emu, m, creates=2, updates=3, seed=30 + i)
        emu.advance_clock(2)
        runs = {}
        for name, cls in (("listing", ListingSource), ("whole", ZohoSource)):
            shutil.copytree(base, tmp_path / name)
            runs[name] = counted_sync(emu, tmp_path / name, slots, cls)
        listing, whole = runs["listing"], runs["whole"]
        # the same answer: rows written and deleted module by module, and the org itself in both folders
        assert whole["deleted_by_module"] == listing["deleted_by_module"]
        assert whole["written_by_module"] == listing["written_by_module"]
        assert sum(listing["deleted_by_module"][m] for m in SMALL if m != "Project_Milestones") > 0  # links went
        for name in runs:
            assert_matches_org(emu, tmp_path / name)
        # one COQL read a module where the listing and the delta read were two, and no count sizing the read
        fewer = {k: listing["calls"].get(k, 0) - whole["calls"].get(k, 0)
                 for k in set(listing["calls"]) | set(whole["calls"])}
        assert fewer["coql_query"] == len(SMALL), (listing["calls"], whole["calls"])
        assert fewer["count_records"] == len(SMALL), (listing["calls"], whole["calls"])
        assert {k: v for k, v in fewer.items() if k not in ("coql_query", "count_records")} == \
            dict.fromkeys(set(fewer) - {"coql_query", "count_records"}, 0)
        assert whole["credits"] < listing["credits"]


def test_whole_reads_through_faults_still_give_an_exact_copy(tmp_path: Path) -> None:
    """5% of calls fail (5xx, 429, Zoho's error-in-200, dropped connections) while the small modules are read
    whole: retried like any read, the run still ends with the org's rows."""
    with Emulator(org="classic", records=300, seed=53) as emu:
        folder = tmp_path / "out"
        full_load(emu, folder)
        mutate(emu, "Projects", deletes=2, updates=4, seed=24)
        mutate(emu, "Deals", deletes=2, seed=25)
        for i, m in enumerate(SMALL):
            mutate(emu, m, creates=2, updates=2, seed=41 + i)
        emu.advance_clock(2)
        admin(emu, "POST", "config", json={"fault_rate": 0.05, "fault_kinds": list(NO_SLOW_FAULTS)})
        try:
            counted_sync(emu, folder, 12)
            assert sum(emu.stats()["faults_injected"].values()) > 0
        finally:
            admin(emu, "POST", "config", json={"fault_rate": 0.0})
        assert_matches_org(emu, folder)


def test_a_small_linking_module_with_nothing_listed_reads_its_delta_without_a_count(tmp_path: Path) -> None:
    """No parent lost a record: nothing is listed, the delta read alone (COQL, no count to choose by) runs."""
    with Emulator(org="classic", records=600, seed=52) as emu:
        base = tmp_path / "base"
        full_load(emu, base)
        mutate(emu, "Projects_X_Contacts", creates=3, updates=4, seed=40)
        emu.advance_clock(2)
        shutil.copytree(base, tmp_path / "listing")
        listing = counted_sync(emu, tmp_path / "listing", 12, ListingSource)
        whole = counted_sync(emu, base, 12)
        assert whole["written_by_module"]["Projects_X_Contacts"] == listing["written_by_module"]["Projects_X_Contacts"] == 7
        assert whole["calls"]["coql_query"] == listing["calls"]["coql_query"]  # the delta read, no listing
        assert listing["calls"]["count_records"] - whole["calls"]["count_records"] == len(SMALL)
        assert_matches_org(emu, base)


def test_a_subform_with_a_column_only_the_records_api_returns_keeps_its_listing_and_its_count() -> None:
    """A file upload in a subform (Zoho allows it): COQL would ask the records API for that column of every
    row a whole read reads, 100 ids a call, where the delta read asks it for the changed rows only."""
    from connector.schema.catalog import CatalogSnapshot
    from connector.schema.types import build_table_schema

    with Emulator(org="classic", records=50, seed=54) as emu:
        plain, with_file = source(emu), source(emu)
        try:
            module = "Project_Milestones"
            assert plain.whole_read(module, 100) is not None
            info = plain.session.catalog.modules()[module]
            fields = [*plain.session.catalog.fields(module),
                      {"api_name": "Signed_Off", "data_type": "fileupload", "field_label": "Signed off",
                       "read_only": False}]
            table = build_table_schema(module, fields, generated_type=info.generated_type)
            assert table.records_only_columns  # the file upload's column
            with_file.session.catalog.seed(CatalogSnapshot(plain.session.catalog.modules(), {module: table}))
            assert with_file.whole_read(module, 100) is None
            assert not with_file._small_linked(module, 100)  # its delta is priced by a count, as any module's
        finally:
            plain.close()
            with_file.close()


# ---- the delta a whole read gives ------------------------------------------------------------------------

SECOND = datetime(2025, 6, 30, 12, 0, 0, tzinfo=UTC)
SCHEMA = pa.schema([("id", pa.string()), ("Modified_Time", pa.timestamp("s", tz="UTC"))])


def batch(rows: list[tuple[str, datetime | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([{"id": i, "Modified_Time": t} for i, t in rows], schema=SCHEMA)


@pytest.mark.parametrize(("rows", "since", "taken", "kept"), [
    ([("1", SECOND - timedelta(seconds=1)), ("2", SECOND), ("3", SECOND + timedelta(seconds=1))], SECOND, set(),
     ["2", "3"]),
    ([("1", SECOND), ("2", SECOND), ("3", SECOND + timedelta(seconds=1))], SECOND, {"1"}, ["2", "3"]),
    ([("1", SECOND + timedelta(seconds=1))], SECOND, {"1"}, ["1"]),  # modified again since: a later time
    ([("1", None), ("2", SECOND)], SECOND, set(), ["2"]),  # no time: a delta read's query finds no such row
    ([("1", None), ("2", SECOND)], None, set(), ["1", "2"]),  # no watermark: every row
    ([], SECOND, {"1"}, []),
])
def test_changed_since_keeps_what_the_delta_read_s_query_finds(rows: list[tuple[str, datetime | None]],
                                                                since: datetime | None, taken: set[str],
                                                                kept: list[str]) -> None:
    out = list(changed_since([batch(rows)], since, taken))
    assert [i for b in out for i in b.column("id").to_pylist()] == kept
    assert all(b.num_rows for b in out)  # no empty batches handed on


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1, 40), st.one_of(st.none(), st.integers(-3, 3))), max_size=8),
                max_size=4),
       st.one_of(st.none(), st.integers(-2, 2)), st.sets(st.integers(1, 40), max_size=6))
def test_changed_since_equals_the_closed_start_less_the_ids_taken(parts: list[list[tuple[int, int | None]]],
                                                                   offset: int | None, taken: set[int]) -> None:
    since = None if offset is None else SECOND + timedelta(seconds=offset)
    batches = [batch([(str(i), None if s is None else SECOND + timedelta(seconds=s)) for i, s in part])
               for part in parts]
    got = [(i, t) for b in changed_since(batches, since, {str(t) for t in taken})
           for i, t in zip(b.column("id").to_pylist(), b.column("Modified_Time").to_pylist(), strict=True)]
    every = [(i, t) for b in batches for i, t in zip(b.column("id").to_pylist(),
                                                     b.column("Modified_Time").to_pylist(), strict=True)]
    want = every if since is None else [
        (i, t) for i, t in every if t is not None and t >= since and not (t == since and int(i) in taken)]
    assert got == want

