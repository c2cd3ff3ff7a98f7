"""Which module an incremental run writes next (:class:`connector.sync.turns.WriteTurns`), over a real
:class:`~connector.sync.prefetch.ReadAhead` whose reads are plain functions the test lets through one by one.

What is checked is order only, never time: a module is written once its read is in, whatever its place
in the run; never before every module ahead of it has its deletions settled and their lookups cleared; a
module that is not read ahead, or whose settling would wait, keeps the run's order from there on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future

import pyarrow as pa
import pytest

from connector.errors import ConnectorError
from connector.sync.delta import DeltaStart
from connector.sync.prefetch import ReadAhead
from connector.sync.state import BoundaryCheck, ModifiedTimeWatermark
from connector.sync.turns import WriteTurns

#: how long a test waits for something that must happen (a gate a read waits at, a turn in a thread)
MEET = 30.0


class Reads:
    """Module reads that each hold their rows until :meth:`let` lets them through; what was settled, cleared
    and written is logged in one list, in the order it happened."""

    def __init__(self, deleted: dict[str, list[str]] | None = None,
                 listing: dict[str, Future[frozenset[str] | None]] | None = None,
                 failing: set[str] | None = None, empty: set[str] | None = None) -> None:
        self.deleted = deleted or {}
        self.empty = empty or set()  # modules whose delta brings no row
        self.listing = listing or {}
        self.failing = failing or set()
        self.gates: dict[str, threading.Event] = {}
        self.log: list[str] = []
        self.lock = threading.Lock()

    def gate(self, module: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(module, threading.Event())

    def let(self, *modules: str) -> None:
        for m in modules:
            self.gate(m).set()

    def start(self, module: str, ahead: bool) -> tuple[DeltaStart | None, Iterator[pa.RecordBatch]]:
        if module in self.failing:
            raise ConnectorError(f"{module}: the deletion log could not be read")
        wm = ModifiedTimeWatermark()
        head = DeltaStart(self.deleted.get(module, []), wm, BoundaryCheck(wm), self.listing.get(module))

        def rows() -> Iterator[pa.RecordBatch]:
            assert self.gate(module).wait(MEET), f"{module} was never let through"
            yield pa.record_batch({"id": [] if module in self.empty else [f"{module}-1"]}, pa.schema([("id", pa.string())]))

        return head, rows()

    def settle(self, head: DeltaStart, module: str) -> DeltaStart:
        self.log.append(f"settle {module}")
        return DeltaStart(head.deleted, head.watermark, head.check)

    def clear(self, module: str, ids: list[str]) -> int:
        self.log.append(f"clear {module}")
        return len(ids)


def turns_of(reads: Reads, names: list[str], *, depth: int = 5, ahead: list[str] | None = None,
             downloading: dict[str, threading.Event] | None = None, told: list[str] | None = None
             ) -> tuple[WriteTurns, ReadAhead[DeltaStart | None]]:
    read_ahead: ReadAhead[DeltaStart | None] = ReadAhead(reads.start, names, depth, ahead)
    busy = downloading or {}
    return WriteTurns(names, read_ahead, reads.settle, reads.clear,
                      lambda m: m in busy and not busy[m].is_set(), None if told is None else told.append), read_ahead


def write(turns: WriteTurns, ahead: ReadAhead[DeltaStart | None], module: str, reads: Reads) -> list[str]:
    """What the runner does at a module's turn: its delta (settled ahead, or taken now), then its rows."""
    settled = turns.delta(module)
    head, rows = settled if settled is not None else ahead.take(module)
    assert head is not None
    cleared = turns.cleared(module)
    reads.log.append(f"write {module}" + ("" if settled is not None else " (settled at its turn)"))
    assert cleared is None or cleared == len(reads.deleted.get(module, []))
    return [i for b in rows for i in b.column("id").to_pylist()]


def write_all(turns: WriteTurns, ahead: ReadAhead[DeltaStart | None], reads: Reads) -> list[str]:
    """Every turn, written as it comes: the modules in the order they were written."""
    done = []
    for module in turns:
        done.append(module)
        write(turns, ahead, module, reads)
    return done


def next_in_thread(order: Iterator[str]) -> tuple[threading.Event, list[str]]:
    """``next(order)`` on a thread of its own: set once it returned, with what it returned."""
    done, got = threading.Event(), []

    def run() -> None:
        got.append(next(order))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, got


def test_the_module_whose_read_is_in_first_is_written_first_after_every_deletion_ahead_of_it_is_settled() -> None:
    reads = Reads(deleted={"Accounts": ["a1"], "Contacts": ["c1", "c2"]})
    turns, ahead = turns_of(reads, ["Accounts", "Contacts", "Leads"])
    try:
        order = iter(turns)
        reads.let("Leads")  # the last in the run's order is in first
        assert next(order) == "Leads"
        assert reads.log == ["settle Accounts", "clear Accounts", "settle Contacts", "clear Contacts",
                             "settle Leads"]
        assert write(turns, ahead, "Leads", reads) == ["Leads-1"]
        reads.let("Contacts")
        assert next(order) == "Contacts"
        assert write(turns, ahead, "Contacts", reads) == ["Contacts-1"]
        reads.let("Accounts")
        assert next(order) == "Accounts"
        assert write(turns, ahead, "Accounts", reads) == ["Accounts-1"]
        assert next(order, None) is None
        # each module settled and cleared once, before anything was written; then written as its read came in
        assert reads.log[5:] == ["write Leads", "write Contacts", "write Accounts"]
    finally:
        ahead.close()


def test_a_module_whose_settling_would_wait_holds_back_every_module_after_it() -> None:
    """Accounts' listing (rows gone unlisted) is still on the wire: Leads, in first, may not be written before
    Accounts is settled, or a clear its deletions cause could come after Leads was written."""
    listing: Future[frozenset[str] | None] = Future()
    reads = Reads(deleted={"Accounts": ["a1"]}, listing={"Accounts": listing})
    turns, ahead = turns_of(reads, ["Accounts", "Leads"])
    try:
        order = iter(turns)
        reads.let("Leads")
        done, got = next_in_thread(order)
        assert not done.wait(0.3), f"{got} was written before Accounts was settled"
        assert reads.log == []
        listing.set_result(None)  # the listing is in: Accounts settles; Leads' read is in, Accounts' is not
        assert done.wait(MEET) and got == ["Leads"]
        assert reads.log == ["settle Accounts", "clear Accounts", "settle Leads"]
        write(turns, ahead, "Leads", reads)
        reads.let("Accounts")
        assert next(order) == "Accounts"
        write(turns, ahead, "Accounts", reads)
    finally:
        ahead.close()


def test_a_module_not_read_ahead_is_written_at_its_place_and_so_are_those_after_it() -> None:
    reads = Reads()
    turns, ahead = turns_of(reads, ["Accounts", "Notes", "Leads"], ahead=["Accounts", "Leads"])
    try:
        reads.let("Accounts", "Notes", "Leads")
        assert write_all(turns, ahead, reads) == ["Accounts", "Notes", "Leads"]
        assert "write Notes (settled at its turn)" in reads.log  # a fence: read in the runner's thread
    finally:
        ahead.close()


def test_nothing_read_ahead_keeps_the_runs_order() -> None:
    """A credit budget reads nothing ahead (it is spent in module order): the turns are the run's order."""
    reads = Reads()
    turns, ahead = turns_of(reads, ["Accounts", "Contacts", "Leads"], depth=0)
    try:
        reads.let("Leads", "Contacts", "Accounts")
        assert write_all(turns, ahead, reads) == ["Accounts", "Contacts", "Leads"]
        assert all(line.endswith("(settled at its turn)") for line in reads.log if line.startswith("write"))
    finally:
        ahead.close()


def test_a_module_whose_files_are_still_downloading_waits_for_them() -> None:
    files = {"Accounts": threading.Event()}
    reads = Reads()
    turns, ahead = turns_of(reads, ["Accounts", "Leads"], downloading=files)
    try:
        order = iter(turns)
        reads.let("Accounts")
        done, got = next_in_thread(order)
        assert not done.wait(0.3), f"{got} was written while its files were downloading"
        reads.let("Leads")
        assert done.wait(MEET) and got == ["Leads"]
        write(turns, ahead, "Leads", reads)
        files["Accounts"].set()
        assert next(order) == "Accounts"
        write(turns, ahead, "Accounts", reads)
    finally:
        ahead.close()


def test_the_target_is_told_of_each_module_that_changes_before_its_turn_and_of_no_other() -> None:
    """Rows came (Contacts), or deletions were settled (Accounts): the target may read what it holds of them
    ahead of their turn (:meth:`.contract.Target.preread`). Leads' delta brings nothing: its file is not
    rewritten, so it is not read either; Notes is not read ahead, so nothing is known of it before its turn."""
    told: list[str] = []
    reads = Reads(deleted={"Accounts": ["a1"]}, empty={"Accounts", "Leads"})
    turns, ahead = turns_of(reads, ["Accounts", "Contacts", "Leads", "Notes"], ahead=["Accounts", "Contacts", "Leads"],
                            told=told)
    try:
        order = iter(turns)
        reads.let("Contacts")
        assert next(order) == "Contacts"
        assert told == ["Accounts", "Contacts"]  # in the run's order, each before its turn
        assert write(turns, ahead, "Contacts", reads) == ["Contacts-1"]
        reads.let("Accounts", "Leads", "Notes")
        for module in order:
            write(turns, ahead, module, reads)
        assert told == ["Accounts", "Contacts"]
    finally:
        ahead.close()


def test_a_read_that_failed_takes_its_turn_and_raises_there() -> None:
    reads = Reads(failing={"Contacts"})
    turns, ahead = turns_of(reads, ["Contacts", "Leads"])
    try:
        order = iter(turns)
        assert next(order) == "Contacts"  # ready at once: its turn reports the failure
        with pytest.raises(ConnectorError, match="deletion log"):
            turns.delta("Contacts")
        reads.let("Leads")
        assert next(order) == "Leads"
        assert write(turns, ahead, "Leads", reads) == ["Leads-1"]
    finally:
        ahead.close()


def test_a_read_taken_before_its_turn_leaves_the_reads_ahead_of_it_running() -> None:
    """Taking Leads before Accounts must not count Accounts' read as over: a read that looks at Accounts'
    whole read (a linking module's) still waits for it to end."""
    reads = Reads()
    started = threading.Event()

    def start(module: str, ahead: bool) -> tuple[DeltaStart | None, Iterator[pa.RecordBatch]]:
        if module == "Accounts_X_Leads":
            started.set()
        return reads.start(module, ahead)

    names = ["Accounts", "Leads", "Accounts_X_Leads"]
    read_ahead: ReadAhead[DeltaStart | None] = ReadAhead(
        start, names, 5, after=lambda m: {"Accounts": "rows"} if m == "Accounts_X_Leads" else {})
    try:
        read_ahead.begin()
        reads.let("Leads", "Accounts_X_Leads")
        _, rows = read_ahead.take("Leads")
        assert [b.num_rows for b in rows] == [1]
        assert not started.wait(0.3), "the linking module's read began before Accounts' read was over"
        reads.let("Accounts")
        _, rows = read_ahead.take("Accounts")
        assert [b.num_rows for b in rows] == [1]
        assert started.wait(MEET)
    finally:
        read_ahead.close()
