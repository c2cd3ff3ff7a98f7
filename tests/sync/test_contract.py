"""The backend contract, run against every sync backend (fsspec style: one class of tests, one subclass
per backend): ``duckdb:``, ``parquet:``, ``csv:`` and Zoho, each as a target and as a source.

As a target, every backend must: start empty; take a full load and keep its state with it; take a
delta with deletions (and change nothing when there is nothing to change); keep its old state when a
write fails part way; save a state alone and give it back after a reopen; close twice without harm
and open again on what it had; refuse a place it cannot use with a ConnectorError.

As a source, every backend holding the origin org's Leads must: list the module and give its schema
exactly; read every row and value of it (the ground truth: the emulator's export through the
schema converter); read a delta from a watermark second, taking that second's rows except the ids
already taken there; lose deleted records from ``ids()`` and reads, and list them when it keeps a
deletion log; close twice and open again; answer a module it lacks with a ConnectorError.

File and DuckDB backends hold the rows Zoho gave (loaded through their own target side); the Zoho
backend is the origin org itself as a source and a fresh org as a target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connector.emulator import Emulator
from connector.errors import ConnectorError
from connector.sync import Source, Target, open_source, open_target
from connector.sync.source_zoho import ZohoSource
from connector.sync.state import ModifiedTimeWatermark, ModuleState
from connector.sync.target_zoho import ZohoTarget
from tests.conftest import ZohoClient, org_fixture

from .helpers import ALLOW, assert_same, mutate, source, truth
from .roundtrip import clear_org

MODULE = "Leads"
PINNED = 6  # leads the origin has at one Modified_Time second

origin = org_fixture("The org every backend's rows come from (read only once set up)", records=160, seed=61)


@dataclass
class Origin:
    emu: Emulator
    feed: ZohoSource  # the origin as a Zoho source: what the targets are given
    schema: pa.Schema
    want: pa.Table  # the ground truth of MODULE
    second: Any  # a Modified_Time second PINNED leads (at least) share
    at_second: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def org(origin: Emulator) -> Iterator[Origin]:
    feed = source(origin)
    ts = feed.session.catalog.table(MODULE)
    before = truth(origin, ts)
    second = pc.max(before.column("Modified_Time")).as_py().replace(microsecond=0) - timedelta(minutes=10)
    mutate(origin, MODULE, updates=PINNED, seed=3, modified_time=second.isoformat())
    want = truth(origin, ts)
    at = [r["id"] for r in want.select(["id", "Modified_Time"]).to_pylist() if r["Modified_Time"] == second]
    assert len(at) >= PINNED
    yield Origin(origin, feed, ts.arrow_schema, want, second, sorted(at))
    feed.close()


@dataclass
class Place:
    """Where one fresh target goes."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)


def _state(rows_taken: pa.Table | None = None, *, at: Any = None) -> ModuleState:
    wm = ModifiedTimeWatermark()
    if rows_taken is not None:
        wm = wm.advanced(rows_taken.select(["id", "Modified_Time"]).to_batches(), signpost=at)
    return ModuleState(MODULE, loaded=True, watermark=wm, deleted_since=at, formulas_refreshed_at=at)


def _failing(table: pa.Table) -> Iterator[pa.RecordBatch]:
    yield from table.slice(0, 10).to_batches()
    raise ConnectorError("the source failed part way")


class BackendContract:
    """The tests every backend passes; a subclass says where its targets go and how it holds data."""

    scheme: ClassVar[str]
    #: data commits with the state (a failed write leaves the data as it was); Zoho keeps what it wrote
    keeps_copies: ClassVar[bool] = True

    # -- what each backend says ---------------------------------------------------------------------

    def place(self, tmp_path: Path, make_emulator: Callable[..., Emulator]) -> Place:
        raise NotImplementedError

    def bad_place(self, tmp_path: Path, make_emulator: Callable[..., Emulator]) -> Place:
        """A place this backend cannot use."""
        raise NotImplementedError

    def loaded(self, org: Origin, tmp_path: Path, make_emulator: Callable[..., Emulator]) -> tuple[str, Source]:
        """(url, source) of this backend holding the origin's MODULE: loaded through its own target side."""
        where = self.place(tmp_path, make_emulator)
        with self.started(where, org.feed) as target:
            target.replace_module(MODULE, org.schema, org.feed.read(MODULE), _state(org.want, at=org.second))
        return where.url, open_source(where.url)

    def deleted_upstream(self, tmp_path: Path, make_emulator: Callable[..., Emulator]
                         ) -> tuple[Source, Any, set[str], pa.Table]:
        """A source of this backend after two of its records were deleted upstream:
        (source, when the deletions began, the ids deleted, the ground truth now)."""
        org = make_emulator(records=40, seed=62)
        feed = source(org)
        ts = feed.session.catalog.table(MODULE)
        where = self.place(tmp_path, make_emulator)
        since = feed.now()
        with self.started(where, feed) as target:
            target.replace_module(MODULE, ts.arrow_schema, feed.read(MODULE), _state(at=since))
            gone = sorted(target.ids(MODULE))[:2]
            client = ZohoClient(org)
            assert client.delete(f"/{MODULE}", params={"ids": ",".join(gone)}).status_code == 200
            target.apply_changes(MODULE, ts.arrow_schema, iter(()), gone, _state(at=since))
        feed.close()
        return open_source(where.url), since, set(gone), truth(org, ts)

    # -- helpers ------------------------------------------------------------------------------------

    def started(self, where: Place, feed: Source) -> Target:
        target = open_target(where.url, **where.options)
        target.begin(feed, [MODULE])
        return target

    # -- as a target ----------------------------------------------------------------------------------

    def test_a_new_target_holds_nothing(self, org: Origin, tmp_path: Path, make_emulator: Any) -> None:
        with self.started(self.place(tmp_path, make_emulator), org.feed) as target:
            assert target.scheme == self.scheme
            assert target.load_state() == {} and target.ids(MODULE) == set()
            assert target.module_stats(MODULE).failed == 0

    def test_a_full_load_is_kept_with_its_state(self, org: Origin, tmp_path: Path, make_emulator: Any) -> None:
        state = _state(org.want, at=org.second)
        with self.started(self.place(tmp_path, make_emulator), org.feed) as target:
            written = target.replace_module(MODULE, org.schema, org.feed.read(MODULE), state)
            assert written == org.want.num_rows and state.rows == org.want.num_rows
            assert target.ids(MODULE) == set(org.want.column("id").to_pylist())
            assert target.load_state() == {MODULE: state}
            assert target.module_stats(MODULE).failed == 0

    def test_a_delta_upserts_by_id_deletes_and_moves_the_state(self, org: Origin, tmp_path: Path,
                                                              make_emulator: Any) -> None:
        rows = org.want.sort_by("id")
        ids = rows.column("id").to_pylist()
        edited = rows.slice(2, 3).set_column(rows.schema.get_field_index("Last_Name"), "Last_Name",
                                             pa.array(["Edited"] * 3, pa.string()))
        new = rows.slice(5, 1)
        new = new.set_column(0, "id", pa.array(["9" * 18], pa.string()))
        for name, value in (("Email", "new@contract.test"), ("External_Ref", "contract-new")):  # unique in Zoho
            new = new.set_column(new.schema.get_field_index(name), name, pa.array([value], pa.string()))
        delta = pa.concat_tables([edited, new]).combine_chunks()
        later = _state(delta, at=org.second + timedelta(hours=1))
        with self.started(self.place(tmp_path, make_emulator), org.feed) as target:
            target.replace_module(MODULE, org.schema, org.feed.read(MODULE), _state(org.want, at=org.second))
            written, removed = target.apply_changes(MODULE, org.schema, iter(delta.to_batches()), ids[:2], later)
            assert (written, removed) == (4, 2)
            assert target.ids(MODULE) == (set(ids) - set(ids[:2])) | {"9" * 18}
            assert target.load_state() == {MODULE: later} and later.rows == len(ids) - 2 + 1
            # Nothing to change: nothing written, and the state stays where it was.
            quiet = _state(at=org.second + timedelta(hours=2))
            assert target.apply_changes(MODULE, org.schema, iter(()), [], quiet) == (0, 0)
            assert target.load_state() == {MODULE: later}

    def test_a_write_that_fails_part_way_keeps_the_old_state(self, org: Origin, tmp_path: Path,
                                                            make_emulator: Any) -> None:
        first = _state(org.want, at=org.second)
        with self.started(self.place(tmp_path, make_emulator), org.feed) as target:
            target.replace_module(MODULE, org.schema, org.feed.read(MODULE), first)
            with pytest.raises(ConnectorError, match="failed part way"):
                target.replace_module(MODULE, org.schema, _failing(org.want), _state(at=org.second + timedelta(1)))
            with pytest.raises(ConnectorError, match="failed part way"):
                target.apply_changes(MODULE, org.schema, _failing(org.want), [], _state(at=org.second + timedelta(2)))
            assert target.load_state() == {MODULE: first}
            if self.keeps_copies:
                assert target.ids(MODULE) == set(org.want.column("id").to_pylist())

    def test_a_state_saved_alone_is_there_after_a_reopen(self, org: Origin, tmp_path: Path,
                                                        make_emulator: Any) -> None:
        where = self.place(tmp_path, make_emulator)
        with self.started(where, org.feed) as target:
            target.replace_module(MODULE, org.schema, org.feed.read(MODULE), _state(org.want, at=org.second))
            settled = _state(org.want, at=org.second)
            settled.watermark.checked_at = org.second + timedelta(hours=1)
            settled.rows = org.want.num_rows
            target.save_state(settled)
        with self.started(where, org.feed) as again:
            assert again.load_state() == {MODULE: settled}

    def test_close_twice_then_reopen_on_what_it_had(self, org: Origin, tmp_path: Path, make_emulator: Any) -> None:
        where = self.place(tmp_path, make_emulator)
        target = self.started(where, org.feed)
        state = _state(org.want, at=org.second)
        target.replace_module(MODULE, org.schema, org.feed.read(MODULE), state)
        target.close()
        target.close()
        with self.started(where, org.feed) as again:
            assert again.ids(MODULE) == set(org.want.column("id").to_pylist())
            assert again.load_state() == {MODULE: state}

    def test_a_place_it_cannot_use_is_a_connector_error(self, tmp_path: Path, make_emulator: Any) -> None:
        bad = self.bad_place(tmp_path, make_emulator)
        with pytest.raises(ConnectorError):
            open_target(bad.url, **bad.options).close()

    # -- as a source ----------------------------------------------------------------------------------

    def test_a_source_lists_the_module_and_its_exact_schema(self, org: Origin, tmp_path: Path,
                                                           make_emulator: Any) -> None:
        _, src = self.loaded(org, tmp_path, make_emulator)
        with src:
            assert src.scheme == self.scheme
            assert MODULE in src.modules()
            assert src.schema(MODULE) == org.schema

    def test_a_full_read_gives_every_row_and_value(self, org: Origin, tmp_path: Path, make_emulator: Any) -> None:
        _, src = self.loaded(org, tmp_path, make_emulator)
        with src:
            got = pa.Table.from_batches(list(src.read(MODULE)), schema=org.schema)
            assert_same(MODULE, got, org.want)
            want = set(org.want.column("id").to_pylist())
            assert src.ids(MODULE) == want
            # about how many (the target's rows after the last run): a guess, right or wrong, changes no id
            for guess in (1, len(want), 3 * len(want) + 2_500):
                assert src.ids(MODULE, guess) == want

    def test_a_delta_takes_the_watermark_second_less_the_ids_taken_there(self, org: Origin, tmp_path: Path,
                                                                         make_emulator: Any) -> None:
        taken = set(org.at_second[: len(org.at_second) // 2])
        mt = org.want.column("Modified_Time")
        second = pa.scalar(org.second, mt.type)
        later = pc.greater(mt, second)
        left = pc.and_(pc.equal(mt, second), pc.invert(pc.is_in(org.want.column("id"),
                                                                 value_set=pa.array(sorted(taken)))))
        want = org.want.filter(pc.or_(later, left))
        assert 0 < want.num_rows < org.want.num_rows
        _, src = self.loaded(org, tmp_path, make_emulator)
        with src:
            got = pa.Table.from_batches(list(src.read(MODULE, modified_since=org.second, exclude_ids=taken)),
                                        schema=org.schema)
            assert_same(MODULE, got, want)
            some = src.read(MODULE, ["Last_Name"], modified_since=org.second, exclude_ids=taken)
            narrow = pa.Table.from_batches(list(some))
            assert set(narrow.column_names) >= {"id", "Last_Name"}
            assert set(narrow.column("id").to_pylist()) == set(want.column("id").to_pylist())

    def test_records_deleted_upstream_are_gone_and_listed_where_a_log_is_kept(self, tmp_path: Path,
                                                                             make_emulator: Any) -> None:
        src, since, gone, want = self.deleted_upstream(tmp_path, make_emulator)
        with src:
            assert src.ids(MODULE) == set(want.column("id").to_pylist()) and not gone & src.ids(MODULE)
            read = {i for b in src.read(MODULE, ["id"]) for i in b.column("id").to_pylist()}
            assert read == src.ids(MODULE)
            listed = src.deleted_ids(MODULE, since)
            assert listed is None or gone <= set(listed)

    def test_a_source_closes_twice_and_opens_again(self, org: Origin, tmp_path: Path, make_emulator: Any) -> None:
        url, src = self.loaded(org, tmp_path, make_emulator)
        src.close()
        src.close()
        with open_source(url) as again:
            assert again.ids(MODULE) == set(org.want.column("id").to_pylist())

    def test_a_module_the_source_lacks_is_a_connector_error(self, org: Origin, tmp_path: Path,
                                                           make_emulator: Any) -> None:
        _, src = self.loaded(org, tmp_path, make_emulator)
        with src:
            with pytest.raises(ConnectorError):
                src.schema("No_Such_Module")
            with pytest.raises(ConnectorError):
                list(src.read("No_Such_Module"))


class TestDuckDB(BackendContract):
    scheme = "duckdb"

    def place(self, tmp_path: Path, make_emulator: Any) -> Place:
        return Place(f"duckdb:{tmp_path / 'crm.duckdb'}")

    def bad_place(self, tmp_path: Path, make_emulator: Any) -> Place:
        (tmp_path / "a-file").write_text("not a folder")
        return Place(f"duckdb:{tmp_path / 'a-file' / 'crm.duckdb'}")


class TestParquet(BackendContract):
    scheme = "parquet"

    def place(self, tmp_path: Path, make_emulator: Any) -> Place:
        return Place(f"parquet:{tmp_path / 'out'}")

    def bad_place(self, tmp_path: Path, make_emulator: Any) -> Place:
        (tmp_path / "a-file").write_text("not a folder")
        return Place(f"parquet:{tmp_path / 'a-file'}")


class TestCsv(BackendContract):
    scheme = "csv"

    def place(self, tmp_path: Path, make_emulator: Any) -> Place:
        return Place(f"csv:{tmp_path / 'out'}")

    def bad_place(self, tmp_path: Path, make_emulator: Any) -> Place:
        (tmp_path / "a-file").write_text("not a folder")
        return Place(f"csv:{tmp_path / 'a-file'}")


class TestZoho(BackendContract):
    """A fresh org as the target (its id map and state beside it); the origin org itself as the source."""

    scheme = "zoho"
    keeps_copies = False  # what reached Zoho stays there (and in the id map) when a later batch fails

    def place(self, tmp_path: Path, make_emulator: Any) -> Place:
        org = make_emulator(records=0, seed=63)
        clear_org(org)  # its few records would refuse the origin's as duplicates (same emails)
        return Place(org.connection_string + ALLOW, {"state_path": str(tmp_path / "state.duckdb"),
                                                     "write_api": "rest"})

    def bad_place(self, tmp_path: Path, make_emulator: Any) -> Place:
        (tmp_path / "a-file").write_text("not a folder")
        org = make_emulator(records=0, seed=64)
        return Place(org.connection_string + ALLOW, {"state_path": str(tmp_path / "a-file" / "state.duckdb")})

    def loaded(self, org: Origin, tmp_path: Path, make_emulator: Any) -> tuple[str, Source]:
        return org.emu.connection_string, open_source(org.emu.connection_string)

    def deleted_upstream(self, tmp_path: Path, make_emulator: Any) -> tuple[Source, Any, set[str], pa.Table]:
        org = make_emulator(records=40, seed=62)
        src = open_source(org.connection_string)
        assert isinstance(src, ZohoSource)
        since = src.now()
        org.advance_clock(1)
        client = ZohoClient(org)
        gone = sorted(src.ids(MODULE))[:2]
        assert client.delete(f"/{MODULE}", params={"ids": ",".join(gone)}).status_code == 200
        ts = src.session.catalog.table(MODULE)
        return src, since, set(gone), truth(org, ts)

    def test_the_target_is_a_zoho_target_that_works_out_derived_values(self, org: Origin, tmp_path: Path,
                                                                       make_emulator: Any) -> None:
        with self.started(self.place(tmp_path, make_emulator), org.feed) as target:
            assert isinstance(target, ZohoTarget) and target.derives_values
