"""One contract for every file/database target (and, read back, every file/database source).

Against a private emulator: a full load equals the ground truth for every module
and type; after ``/__emulator/mutate`` (creates, updates pinned to the
watermark second, deletes) an incremental run equals the new ground truth;
a second run with nothing new reads no rows and leaves the target untouched;
and the target, read back as a source, gives the same tables again.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.emulator import Emulator
from connector.sync import open_source, open_target, run
from connector.sync.files import FileSource, FileTarget
from connector.sync.runner import MigrationResult
from tests.conftest import ZohoClient

from .helpers import MODULES, assert_same, duckdb_table, mutate, source, truth


def read_target(kind: str, where: Path, module: str, schema: pa.Schema) -> pa.Table:
    if kind == "duckdb":
        return duckdb_table(str(where), module, schema)
    if kind == "parquet":  # read with pyarrow alone: the files must stand on their own
        # (a photo's Record_Image_Path/_Size/_SHA256 ride beside the fields: test_record_photos.py)
        return pq.read_table(where / f"{module}.parquet").select(schema.names).cast(schema)
    batches = list(FileSource(where, "csv").read(module))
    return pa.Table.from_batches(batches).select(schema.names).cast(schema) if batches else schema.empty_table()


def fingerprint(kind: str, where: Path) -> dict[str, tuple[int, int]]:
    files = [where] if kind == "duckdb" else [p for p in where.iterdir() if p.is_file() and not p.name.endswith(".lock")]
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in files}


@dataclass
class Scenario:
    kind: str
    where: Path
    schemas: dict[str, Any] = field(default_factory=dict)
    full: MigrationResult | None = None
    after_full: dict[str, tuple[pa.Table, pa.Table]] = field(default_factory=dict)
    incremental: MigrationResult | None = None
    after_incremental: dict[str, tuple[pa.Table, pa.Table]] = field(default_factory=dict)
    pinned_second: Any = None
    boundary_edit: str = ""
    quiet: MigrationResult | None = None
    quiet_rows_read: int = -1
    quiet_calls: dict[str, int] = field(default_factory=dict)
    before_quiet: dict[str, tuple[int, int]] = field(default_factory=dict)
    after_quiet: dict[str, tuple[int, int]] = field(default_factory=dict)
    read_back: dict[str, tuple[pa.Table, pa.Table]] = field(default_factory=dict)
    #: file targets: new generations of each module's file in the incremental run (the formula refresh's aside)
    commits: dict[str, int] = field(default_factory=dict)


def _snapshot(emu: Emulator, sc: Scenario) -> dict[str, tuple[pa.Table, pa.Table]]:
    return {m: (read_target(sc.kind, sc.where, m, sc.schemas[m].arrow_schema), truth(emu, sc.schemas[m]))
            for m in MODULES}


def _run(url: str, emu: Emulator, **kw: Any) -> MigrationResult:
    src, tgt = source(emu), open_target(url)
    try:
        return run(src, tgt, **kw)
    finally:
        tgt.close()
        src.close()


@pytest.fixture(scope="module", params=["duckdb", "parquet", "csv"])
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    kind = request.param
    base = tmp_path_factory.mktemp(kind)
    where = base / "crm.duckdb" if kind == "duckdb" else base / "out"
    url = f"{kind}:{where}"
    sc = Scenario(kind, where)
    with Emulator(org="classic", records=400, seed=11) as emu:
        src = source(emu)
        sc.schemas = {m: src.session.catalog.table(m) for m in MODULES}
        src.close()
        sc.full = _run(url, emu)
        sc.after_full = _snapshot(emu, sc)
        # Updates and creates pinned to the watermark second: only the boundary ids tell them apart.
        state = open_target(url)
        states = state.load_state()
        state.close()
        wm = states["Leads"].watermark
        sc.pinned_second = wm
        mutate(emu, "Leads", creates=4, updates=6, deletes=3, seed=5,
               modified_time=wm.modified_time.isoformat())
        # A record taken at the watermark second, edited again later: it must come back.
        sc.boundary_edit = sorted(states["Contacts"].watermark.boundary_ids)[0]
        r = ZohoClient(emu).put("/Contacts", json={"data": [{"id": sc.boundary_edit, "Title": "Edited again"}],
                                                   "trigger": []})
        assert r.status_code == 200, r.text
        mutate(emu, "Contacts", creates=3, updates=4, deletes=2, seed=6)
        mutate(emu, "Deals", updates=5, deletes=1, seed=7)  # moves the Accounts rollup without touching Accounts
        emu.advance_clock(2)  # a sync never takes the current second; let it pass
        real = FileTarget._commit

        def counted(self: FileTarget, module: str, *args: Any) -> None:
            # the formula refresh this run asks for writes a generation of its own (after the module's changes)
            if sys._getframe(1).f_code.co_name != "update_columns":
                sc.commits[module] = sc.commits.get(module, 0) + 1
            real(self, module, *args)

        FileTarget._commit = counted  # type: ignore[method-assign]
        try:
            sc.incremental = _run(url, emu, incremental=True, refresh_formulas=True)
        finally:
            FileTarget._commit = real  # type: ignore[method-assign]
        sc.after_incremental = _snapshot(emu, sc)
        sc.before_quiet = fingerprint(kind, where)
        before = emu.stats()
        sc.quiet = _run(url, emu, incremental=True)
        after = emu.stats()
        sc.after_quiet = fingerprint(kind, where)
        sc.quiet_rows_read = after["records_read"] - before["records_read"]
        sc.quiet_calls = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()
                          if v != before["calls"].get(k, 0)}
        copy = base / "copy.duckdb"
        back, tgt = open_source(url), open_target(f"duckdb:{copy}")
        try:
            res = run(back, tgt)
        finally:
            tgt.close()
            back.close()
        assert res.ok, res.as_rows()
        sc.read_back = {m: (duckdb_table(str(copy), m, sc.schemas[m].arrow_schema), truth(emu, sc.schemas[m]))
                        for m in MODULES}
    return sc


def test_full_load_equals_the_ground_truth_for_every_module_and_type(scenario: Scenario) -> None:
    assert scenario.full is not None and scenario.full.ok, scenario.full.as_rows() if scenario.full else None
    assert [m.mode for m in scenario.full.modules] == ["full"] * len(MODULES)
    for module, (got, want) in scenario.after_full.items():
        assert want.num_rows > 0
        assert_same(module, got, want)


def test_incremental_after_mutations_equals_the_new_ground_truth(scenario: Scenario) -> None:
    inc = scenario.incremental
    assert inc is not None and inc.ok, inc.as_rows() if inc else None
    assert [m.module for m in inc.modules] == inc.planned  # in the run's order, whichever was written first
    by = {m.module: m for m in inc.modules}
    assert by["Leads"].rows_written == 4 + 6 and by["Leads"].rows_deleted == 3
    assert by["Contacts"].rows_written == 3 + 4 + 1 and by["Contacts"].rows_deleted == 2
    got, want = scenario.after_incremental["Contacts"]
    edited = [r for r in got.to_pylist() if r["id"] == scenario.boundary_edit]
    assert edited and edited[0]["Title"] == "Edited again"
    assert by["Deals"].rows_deleted == 1
    assert by["Accounts"].rows_written == 0 and by["Accounts"].formulas_refreshed > 0  # the rollup moved
    for module, (got, want) in scenario.after_incremental.items():
        assert_same(module, got, want)


def test_an_incremental_run_writes_each_file_once_however_many_parents_lost_records(scenario: Scenario) -> None:
    """Leads, Contacts and Deals lose records that other modules look up (Tasks: several of them): each
    module's file is still rewritten at most once, its lookups emptied with its own changes."""
    inc = scenario.incremental
    assert inc is not None and sum(m.lookups_cleared for m in inc.modules) > 0
    if scenario.kind == "duckdb":
        return  # one database: lookups are emptied in place, there is no file to rewrite
    assert scenario.commits and max(scenario.commits.values()) == 1, scenario.commits
    assert {"Contacts", "Deals", "Leads"} <= set(scenario.commits)  # their own changes and deletions


def test_a_run_with_nothing_new_reads_no_rows_and_writes_nothing(scenario: Scenario) -> None:
    quiet = scenario.quiet
    assert quiet is not None and quiet.ok
    assert quiet.rows_written == 0 and sum(m.rows_read for m in quiet.modules) == 0
    assert scenario.quiet_rows_read == 0, scenario.quiet_calls
    # only the (empty) deltas and /deleted calls: Projects' delta (file-upload columns, which COQL does not
    # return) may be its one list page since the watermark, which comes back empty
    assert scenario.quiet_calls.get("list_records", 0) <= 1, scenario.quiet_calls
    assert scenario.after_quiet == scenario.before_quiet


def test_the_target_read_back_as_a_source_gives_the_same_tables(scenario: Scenario) -> None:
    for module, (got, want) in scenario.read_back.items():
        assert_same(module, got, want)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_lookups_pointing_at_deleted_records_read_empty_and_nothing_else_moves(tmp_path: Path, kind: str) -> None:
    from connector.sync.state import ModuleState

    schema = pa.schema([("id", pa.string()), ("Subject", pa.string()), ("What_Id_Id", pa.string()),
                        ("What_Id_Name", pa.string()), ("What_Id_Module", pa.string())])
    rows = {"id": ["1", "2", "3", "4"], "Subject": ["a", "b", "c", "d"], "What_Id_Id": ["10", "10", "11", None],
            "What_Id_Name": ["Acme", "Acme", "Beta", None], "What_Id_Module": ["Accounts", "Deals", "Accounts", None]}
    tgt = open_target(f"{kind}:{tmp_path / 'out'}")
    try:
        tgt.replace_module("Tasks", schema, iter([pa.RecordBatch.from_pydict(rows, schema=schema)]),
                           ModuleState("Tasks", loaded=True))
        _accounts_loaded(tgt)
        # Account 10 deleted: task 1 points at it; task 2 points at a deal with the same id
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["10"]) == 1
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["99"]) == 0
        mine = pa.concat_tables(tgt.tables("Tasks")).to_pydict()  # the target's own reads: at once
        before = _read(kind, tmp_path / "out", "Tasks")  # another reader: with the account, until it commits
        _accounts_commit(tgt, ["10"])
        got = _read(kind, tmp_path / "out", "Tasks")
    finally:
        tgt.close()
    assert mine["What_Id_Id"] == [None, "10", "11", None]
    assert before["What_Id_Id"] == rows["What_Id_Id"] and _read(kind, tmp_path / "out", "Accounts")["id"] == ["11"]
    assert got["id"] == rows["id"] and got["Subject"] == rows["Subject"]
    assert got["What_Id_Id"] == [None, "10", "11", None]
    assert got["What_Id_Name"] == [None, "Acme", "Beta", None]
    assert got["What_Id_Module"] == [None, "Deals", "Accounts", None]


ACCOUNTS = pa.schema([("id", pa.string()), ("Account_Name", pa.string())])


def _read(kind: str, out: Path, module: str) -> dict[str, list[Any]]:
    """The module as another reader of the folder sees it (this package's source: pending clears applied)."""
    return pa.Table.from_batches(list(open_source(f"{kind}:{out}").read(module))).to_pydict()


def _accounts_loaded(tgt: Any) -> None:
    """Accounts 10 and 11 in the target: the parent whose deletions the lookup tests clear."""
    from connector.sync.state import ModuleState

    tgt.replace_module("Accounts", ACCOUNTS, iter([pa.RecordBatch.from_pydict(
        {"id": ["10", "11"], "Account_Name": ["Acme", "Beta"]}, schema=ACCOUNTS)]), ModuleState("Accounts", loaded=True))


def _accounts_commit(tgt: Any, deleted: list[str]) -> None:
    """The parent's own commit (its deletions): the clears its deletions caused land in the manifest with it."""
    from connector.sync.state import ModuleState

    tgt.apply_changes("Accounts", ACCOUNTS, iter(()), deleted, ModuleState("Accounts", loaded=True))


def _raw(kind: str, out: Path, module: str) -> dict[str, list[Any]]:
    """The module's file as another tool reads it: pyarrow alone, no pending clear applied."""
    if kind == "parquet":
        return pq.read_table(out / f"{module}.parquet").to_pydict()
    import pyarrow.csv as pcsv

    names = pcsv.read_csv(out / f"{module}.csv").column_names
    text = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    return pcsv.read_csv(out / f"{module}.csv", convert_options=text).to_pydict()


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_lookup_clears_of_a_run_land_in_the_files_once_and_survive_a_killed_run(tmp_path: Path, kind: str) -> None:
    """Parents lose records a module looks up: the lookups read empty at once through the target, and for
    every reader of the folder from the commit of the parent whose deletions they follow (the clears land in
    the manifest with it); the module's file gets them in one generation when the run ends; a run killed
    before that (its target never finished) leaves them kept in the manifest, read empty by every reader
    here, and written by the next run's end."""
    from connector.sync.files import MANIFEST, PENDING
    from connector.sync.state import ModuleState

    schema = pa.schema([("id", pa.string()), ("What_Id_Id", pa.string()), ("What_Id_Name", pa.string()),
                        ("What_Id_Module", pa.string()), ("Who_Id_Id", pa.string()), ("Who_Id_Name", pa.string())])
    rows = {"id": ["1", "2", "3"], "What_Id_Id": ["10", "20", "10"], "What_Id_Name": ["Acme", "Big deal", "Acme"],
            "What_Id_Module": ["Accounts", "Deals", "Deals"], "Who_Id_Id": ["7", "8", "7"],
            "Who_Id_Name": ["Ann", "Bob", "Ann"]}
    out = tmp_path / "out"
    tgt = open_target(f"{kind}:{out}")
    try:
        tgt.replace_module("Tasks", schema, iter([pa.RecordBatch.from_pydict(rows, schema=schema)]),
                           ModuleState("Tasks", loaded=True))
        _accounts_loaded(tgt)
        commits: list[str] = []
        real = tgt._commit  # type: ignore[attr-defined]

        def counted(module: str, *args: Any) -> None:
            commits.append(module)
            real(module, *args)

        tgt._commit = counted  # type: ignore[attr-defined]
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["10"]) == 1
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Deals", ["20"]) == 1
        assert tgt.clear_references("Tasks", "Who_Id_Id", "Who_Id_Name", None, "Contacts", ["7"]) == 2
        assert tgt.clear_references("Tasks", "Who_Id_Id", "Who_Id_Name", None, "Contacts", ["7"]) == 0  # done
        assert commits == []  # nothing rewritten yet
        assert _read(kind, out, "Tasks") == rows  # another reader: no parent has committed its deletions yet
        assert json.loads((out / MANIFEST).read_text()).get(PENDING) in (None, {})
        _accounts_commit(tgt, ["10"])  # one parent's commit: every clear staged so far lands with it
        assert commits == ["Accounts"]
        read = _read(kind, out, "Tasks")  # every reader here applies the pending clears
        assert read["What_Id_Id"] == [None, None, "10"] and read["What_Id_Name"] == [None, None, "Acme"]
        assert read["What_Id_Module"] == [None, None, "Deals"] and read["Who_Id_Id"] == [None, "8", None]
        assert read["Who_Id_Name"] == [None, "Bob", None]
        assert _raw(kind, out, "Tasks")["What_Id_Id"] == rows["What_Id_Id"]  # the file itself: not yet
        only = list(open_source(f"{kind}:{out}").read("Tasks", ["id", "Who_Id_Name"]))  # a clear needs its id
        assert pa.Table.from_batches(only).to_pydict() == {"id": ["1", "2", "3"], "Who_Id_Name": [None, "Bob", None]}
    finally:
        tgt.close()  # killed before the run's end: the clears wait in the manifest

    assert set(json.loads((out / MANIFEST).read_text())[PENDING]) == {"Tasks"}
    again = open_target(f"{kind}:{out}")
    try:
        assert again.finish() == []
    finally:
        again.close()
    raw = _raw(kind, out, "Tasks")
    assert raw["id"] == rows["id"]
    assert raw["What_Id_Id"][:2] == [None, None] and raw["Who_Id_Name"] == [None, "Bob", None]
    assert PENDING not in json.loads((out / MANIFEST).read_text()) or \
        not json.loads((out / MANIFEST).read_text())[PENDING]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("told", [False, True], ids=["lookup-by-lookup", "lookups-told-first"])
def test_lookup_clears_are_counted_on_one_read_of_the_file_as_it_is_now(tmp_path: Path, kind: str,
                                                                       told: bool) -> None:
    """Every parent with deletions counts the lookups it empties in a module: the module's lookup columns are
    read from its file once for all of them, and again only when a new generation of the file replaces it
    (counted on the new rows, with the clears that generation dropped no longer applied). Told the module's
    lookups first (as a run tells it), the target reads them all on the first clear: one read a generation."""
    from connector.sync.state import ModuleState

    schema = pa.schema([("id", pa.string()), ("What_Id_Id", pa.string()), ("What_Id_Name", pa.string()),
                        ("What_Id_Module", pa.string()), ("Who_Id_Id", pa.string()), ("Who_Id_Name", pa.string())])

    def tasks(what: list[str], modules: list[str], who: list[str]) -> pa.RecordBatch:
        ids = [str(i) for i in range(1, len(what) + 1)]
        return pa.RecordBatch.from_pydict({"id": ids, "What_Id_Id": what, "What_Id_Name": ["n"] * len(what),
                                           "What_Id_Module": modules, "Who_Id_Id": who,
                                           "Who_Id_Name": ["p"] * len(who)}, schema=schema)

    tgt = open_target(f"{kind}:{tmp_path / 'out'}")
    try:
        tgt.replace_module("Tasks", schema, iter([tasks(["10", "20", "10"], ["Accounts", "Deals", "Deals"],
                                                        ["7", "8", "7"])]), ModuleState("Tasks", loaded=True))
        reads: list[list[str] | None] = []
        real = tgt.fmt.read

        def counted(path: Path, schema: pa.Schema | None, columns: list[str] | None = None) -> Any:
            reads.append(columns)
            return real(path, schema, columns)

        tgt.fmt.read = counted  # type: ignore[method-assign]
        if told:
            tgt.lookups_of("Tasks", ["What_Id_Id", "What_Id_Module", "Who_Id_Id", "Not_In_The_File"])
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["10"]) == 1
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Deals", ["10", "20"]) == 2
        assert tgt.clear_references("Tasks", "Who_Id_Id", "Who_Id_Name", None, "Contacts", ["7"]) == 2
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["10"]) == 0
        assert len(reads) == (1 if told else 2)  # What_Id's columns once, Who_Id's once: not once per parent
        # a new generation (the module loaded again): its own rows are counted, the clears it dropped are gone
        tgt.replace_module("Tasks", schema, iter([tasks(["10", "10"], ["Accounts", "Accounts"], ["9", "7"])]),
                           ModuleState("Tasks", loaded=True))
        assert tgt.clear_references("Tasks", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Accounts", ["10"]) == 2
        assert tgt.clear_references("Tasks", "Who_Id_Id", "Who_Id_Name", None, "Contacts", ["7"]) == 1
        assert len(reads) == (2 if told else 4)
    finally:
        tgt.close()


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("held", [64 << 20, 1], ids=["changes-in-memory", "changes-spilled-to-the-work-folder"])
def test_a_delta_is_applied_whole_whether_its_rows_are_held_in_memory_or_spilled(
        tmp_path: Path, kind: str, held: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changed rows replace theirs, new ones are added, deleted ones go (a deleted id the file never had
    counts for nothing), in either place the changes wait while the file is written again."""
    import connector.sync.files as files
    from connector.sync.state import ModuleState

    monkeypatch.setattr(files, "DELTA_IN_MEMORY", held)
    schema = pa.schema([("id", pa.string()), ("Last_Name", pa.string()), ("Score", pa.int64())])

    def batch(ids: list[str], name: str) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict({"id": ids, "Last_Name": [f"{name}{i}" for i in ids],
                                           "Score": [int(i) for i in ids]}, schema=schema)

    out = tmp_path / "out"
    tgt = open_target(f"{kind}:{out}")
    try:
        tgt.replace_module("Leads", schema, iter([batch([str(i) for i in range(1, 101)], "old")]),
                           ModuleState("Leads", loaded=True))
        changes = iter([batch(["5", "6"], "new"), batch([], "none"), batch(["7", "200", "201"], "new")])
        written, removed = tgt.apply_changes("Leads", schema, changes, ["8", "9", "999"],
                                             ModuleState("Leads", loaded=True))
        assert (written, removed) == (5, 2)
        # only deletions, of ids the file does not hold: nothing to write, the file stays as it is
        before = (out / f"Leads.{kind}").stat().st_mtime_ns
        assert tgt.apply_changes("Leads", schema, iter(()), ["998"], ModuleState("Leads", loaded=True)) == (0, 0)
        assert (out / f"Leads.{kind}").stat().st_mtime_ns == before
        assert tgt.apply_changes("Leads", schema, iter(()), ["10"], ModuleState("Leads", loaded=True)) == (0, 1)
    finally:
        tgt.close()
    got = _read(kind, out, "Leads")
    rows = dict(zip(got["id"], got["Last_Name"], strict=True))
    assert len(got["id"]) == len(rows) == 100 - 3 + 2  # 8, 9 and 10 gone; 200 and 201 new
    assert {i: rows[i] for i in ("5", "6", "7", "200", "201", "11")} == {
        "5": "new5", "6": "new6", "7": "new7", "200": "new200", "201": "new201", "11": "old11"}
    assert not {"8", "9", "10", "999"} & set(rows)
    assert not list((out / ".zohocrm-tmp").glob("*"))  # the work folder is left empty either way
