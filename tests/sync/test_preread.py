"""A file target reads a changing module's file ahead of its rewrite (:mod:`connector.sync.preread`).

The rows read ahead are the file's rows as a turn would read them, or nothing: never the rows of a file
that was replaced since, of another schema, or over the budget. An incremental run into Parquet and into
CSV reads ahead exactly the modules that change, takes their rows from memory at their turns, and ends
with the same files as the source holds.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.emulator import Emulator
from connector.sync import open_target, run
from connector.sync.file_formats import FileFormat
from connector.sync.files import FileSource, FileTarget
from connector.sync.preread import Preread

from .helpers import assert_same, mutate, source

MEET = 30.0


def _table(n: int, start: int = 0) -> pa.Table:
    return pa.table({"id": [str(i) for i in range(start, start + n)], "n": list(range(start, start + n)),
                     "tag": [None if i % 3 else f"t{i}" for i in range(start, start + n)]})


def _write(path: Path, table: pa.Table) -> None:
    tmp = path.with_name("." + path.name)
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # a new generation, as a target commits one


def _reader(path: Path, schema: pa.Schema | None) -> Callable[[], Iterator[pa.Table]]:
    """The whole file in chunks, as a turn reads it."""
    return lambda: FileFormat("parquet").read(path, schema, None)


def _wait_read(ahead: Preread, module: str, path: Path, schema: pa.Schema | None) -> pa.Table | None:
    return ahead.rows(module, path, schema, wait=True)


@pytest.mark.parametrize("rows", [0, 1, 7, 60_000])
def test_the_rows_read_ahead_are_the_files_rows(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "Leads.parquet"
    table = _table(rows)
    _write(path, table)
    ahead = Preread("parquet")
    read = _reader(path, table.schema)
    assert ahead.start("Leads", path, table.schema, read)
    got = _wait_read(ahead, "Leads", path, table.schema)
    if rows == 0:
        assert got is None  # nothing to hold: the turn reads the (empty) file
    else:
        assert got is not None and got.equals(table)
        assert ahead.served == 1
    ahead.close()


def test_a_file_replaced_since_or_read_with_another_schema_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "Leads.parquet"
    _write(path, _table(10))
    ahead = Preread("parquet")
    read = _reader(path, _table(10).schema)
    ahead.start("Leads", path, _table(10).schema, read)
    assert _wait_read(ahead, "Leads", path, _table(10).schema) is not None
    other = pa.schema([("id", pa.string()), ("n", pa.int64())])
    assert ahead.rows("Leads", path, other, wait=True) is None  # not what the turn would read
    _write(path, _table(12, 100))  # a new generation (the module committed, or another run): a new inode
    assert ahead.rows("Leads", path, _table(10).schema, wait=True) is None
    assert ahead.rows("Leads", tmp_path / "gone.parquet", _table(10).schema, wait=True) is None
    ahead.close()


def test_reads_stay_within_the_budget_and_let_go_free_it(tmp_path: Path) -> None:
    small, large = tmp_path / "A.parquet", tmp_path / "B.parquet"
    _write(small, _table(100))
    _write(large, _table(50_000))
    ahead = Preread("parquet", budget=small.stat().st_size * 6 + 1)
    schema = _table(1).schema
    assert ahead.start("A", small, schema, _reader(small, schema))
    assert not ahead.start("B", large, schema, _reader(large, schema))
    assert ahead.started == ["A"]
    assert _wait_read(ahead, "A", small, schema) is not None
    assert ahead.held > 0  # the rows' own size once read
    ahead.drop("A")
    assert ahead.held == 0
    assert ahead.rows("A", small, schema, wait=True) is None
    assert not Preread("parquet", budget=0).start("A", small, schema, _reader(small, schema))
    assert not ahead.start("C", tmp_path / "none.parquet", schema, _reader(small, schema))
    ahead.close()
    assert not ahead.start("A", small, schema, _reader(small, schema))


def test_a_turn_never_waits_behind_other_modules_reads_nor_a_read_of_some_columns_for_any(tmp_path: Path) -> None:
    """One reading thread: a module whose read is still queued when its turn comes is read by the turn itself
    (the queued read is dropped); a read of some columns takes the rows only when they are in already."""
    path = tmp_path / "A.parquet"
    _write(path, _table(10))
    schema = _table(1).schema
    gate, entered = threading.Event(), threading.Event()

    def slow() -> Iterator[pa.Table]:
        entered.set()
        assert gate.wait(MEET)
        yield _table(10)

    ahead = Preread("parquet")
    assert ahead.start("Slow", path, schema, slow)
    assert entered.wait(MEET)
    assert ahead.start("A", path, schema, _reader(path, schema))
    assert ahead.rows("Slow", path, schema, wait=False) is None  # some columns: not waited for
    assert ahead.rows("A", path, schema, wait=True) is None  # queued behind Slow: the turn reads it now
    assert ahead.started == ["Slow", "A"] and ahead.skipped == 1
    gate.set()
    got = ahead.rows("Slow", path, schema, wait=True)
    assert got is not None and got.equals(_table(10))
    ahead.close()


def test_a_read_that_fails_leaves_the_file_to_its_turn(tmp_path: Path) -> None:
    path = tmp_path / "A.parquet"
    path.write_bytes(b"not parquet at all")
    ahead = Preread("parquet")
    fmt = FileFormat("parquet")
    assert ahead.start("A", path, None, lambda: fmt.read(path, None, None))
    assert ahead.rows("A", path, None, wait=True) is None
    ahead.close()


def _run(emu: Emulator, location: str, modules: list[str], incremental: bool = False,
         budget: int | None = None) -> FileTarget:
    """One run into ``location``; its target (closed) is handed back for what it counted."""
    src, target = source(emu), open_target(location)
    assert isinstance(target, FileTarget)
    if budget is not None:
        target._ahead.budget = budget
    try:
        assert run(src, target, modules=modules, incremental=incremental).ok
    finally:
        target.close()
        src.close()
    return target


def _rows(folder: Path, kind: str, module: str) -> pa.Table:
    return pa.Table.from_batches(list(FileSource(folder, kind).read(module))).sort_by("id")


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_an_incremental_run_reads_ahead_the_modules_that_change_and_ends_equal(tmp_path: Path, kind: str) -> None:
    """The same delta into two copies of one directory, one with nothing read ahead: the same files after."""
    changed, quiet = ("Leads", "Contacts", "Accounts"), ("Deals", "Tasks")
    modules = [*changed, *quiet]
    ahead_dir, plain_dir = tmp_path / "ahead", tmp_path / "plain"
    with Emulator(org="classic", records=600, seed=48) as emu:
        _run(emu, f"{kind}:{ahead_dir}", modules)
        shutil.copytree(ahead_dir, plain_dir)
        mutate(emu, "Leads", updates=30, creates=5, deletes=4, seed=1)
        mutate(emu, "Contacts", updates=12, seed=2)
        mutate(emu, "Accounts", deletes=3, seed=3)  # deletions only: the file is rewritten all the same
        emu.advance_clock(2)
        ahead = _run(emu, f"{kind}:{ahead_dir}", modules, incremental=True)._ahead
        assert sorted(ahead.started) == sorted(changed)  # the quiet modules' files were not read
        # each changed module's rewrite took its rows from memory, or (a turn that came before its module's
        # read left the queue) read the file itself: which of the two depends on the machine's timing
        assert ahead.served + ahead.skipped >= len(changed)
        assert ahead.held == 0  # let go once committed
        plain = _run(emu, f"{kind}:{plain_dir}", modules, incremental=True, budget=0)._ahead
        assert plain.started == [] and plain.served == 0
    for module in modules:
        got, want = _rows(ahead_dir, kind, module), _rows(plain_dir, kind, module)
        assert got.num_rows > 0
        assert_same(module, got, want)
