"""The runner's read-ahead (:class:`connector.sync.prefetch.ReadAhead`) with reads made of plain functions.

What is checked is who may start before whom — never how long anything takes: a read that must run
beside another meets it at a barrier (a barrier that breaks means they did not run together), and a
read that must wait records what it saw when it started.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from connector.sync.prefetch import BUFFER, ROWS_AHEAD, ReadAhead, _Stream

#: how long a barrier waits for reads that should all be running before it says they were not
MEET = 30.0


def batch(module: str) -> pa.RecordBatch:
    return pa.record_batch({"module": [module]})


class Reads:
    """``start`` for a ReadAhead: records which reads began, in which thread, and what had ended by then."""

    def __init__(self, meet: dict[str, threading.Barrier] | None = None) -> None:
        self.meet = meet or {}
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.ended_before: dict[str, list[str]] = {}
        self.in_thread: dict[str, bool] = {}

    def start(self, module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        with self.lock:
            self.started.append(module)
            self.ended_before[module] = list(self.ended)
            self.in_thread[module] = ahead
        barrier = self.meet.get(module)
        if barrier is not None:
            barrier.wait(MEET)

        def rows() -> Iterator[pa.RecordBatch]:
            yield batch(module)
            with self.lock:
                self.ended.append(module)

        return f"head of {module}", rows()


def drain(ahead: ReadAhead[str], modules: list[str]) -> list[str]:
    out = []
    for m in modules:
        head, rows = ahead.take(m)
        assert head == f"head of {m}"
        out += [b.column("module")[0].as_py() for b in rows]
    return out


def test_the_first_module_is_read_beside_the_next_ones_not_before_them() -> None:
    names = ["A", "B", "C"]
    together = threading.Barrier(3)  # A, B and C each wait here until all three have started
    reads = Reads({m: together for m in names})
    ahead = ReadAhead(reads.start, names, depth=2)
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()
    assert not together.broken
    assert all(reads.in_thread.values())


def test_a_module_read_ahead_starts_once_the_reads_it_looks_at_have_ended() -> None:
    names = ["Projects", "Contacts", "Projects_X_Contacts", "Deals"]
    looks_at = {"Projects_X_Contacts": {"Projects": "rows", "Contacts": "rows"}}
    reads = Reads()
    ahead = ReadAhead(reads.start, names, depth=3, after=lambda m: looks_at.get(m, {}))
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()
    # Read ahead, yet its parents' reads had both ended when it began; a module it does not look at had not
    # necessarily, and no order is imposed on those.
    assert reads.in_thread["Projects_X_Contacts"]
    assert {"Projects", "Contacts"} <= set(reads.ended_before["Projects_X_Contacts"])


def test_a_module_that_needs_only_its_parents_head_starts_while_their_rows_are_read() -> None:
    # A linking module's cascade check needs its parents' deletions, not their rows.
    names = ["Parent", "Linking"]
    started = {"Parent": threading.Event(), "Linking": threading.Event()}

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        started[module].set()

        def rows() -> Iterator[pa.RecordBatch]:
            if module == "Parent":  # its rows wait for the linking module's read to have begun
                assert started["Linking"].wait(MEET), "the linking module waited for its parent's rows"
            yield batch(module)

        return f"head of {module}", rows()

    ahead = ReadAhead(start, names, depth=2, after=lambda m: {"Parent": "head"} if m == "Linking" else {})
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()


def test_a_module_that_settles_against_its_parents_rows_reads_at_once_and_waits_only_to_settle() -> None:
    # A subform's cascade check needs its parents' edits (their whole read); its own changed rows do not.
    names = ["Parent", "Child"]
    child_started, parent_ended = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    runs: list[ReadAhead[str]] = []

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        if module == "Child":
            child_started.set()
            seen["settles later"] = runs[0].settles_later("Child")

            def child_rows() -> Iterator[pa.RecordBatch]:
                runs[0].wait_settle("Child")  # what the check settles waits for the parent's read
                seen["parent ended by then"] = parent_ended.is_set()
                yield batch(module)

            return "head of Child", child_rows()

        def parent_rows() -> Iterator[pa.RecordBatch]:
            assert child_started.wait(MEET), "the child's read waited for its parent's rows to begin"
            yield batch(module)
            parent_ended.set()

        return "head of Parent", parent_rows()

    ahead = ReadAhead(start, names, depth=2, after=lambda m: {"Parent": "settle"} if m == "Child" else {})
    runs.append(ahead)
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()
    assert seen == {"settles later": True, "parent ended by then": True}
    assert not ahead.settles_later("Parent")


def test_settling_waits_no_longer_once_the_run_closes() -> None:
    names = ["Parent", "Child"]
    never = threading.Event()
    refused: list[BaseException] = []

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        def rows() -> Iterator[pa.RecordBatch]:
            if module == "Parent":
                never.wait(MEET)  # a parent read that does not end
            yield batch(module)
        return f"head of {module}", rows()

    ahead = ReadAhead(start, names, depth=2, after=lambda m: {"Parent": "settle"} if m == "Child" else {})
    ahead.take("Parent")  # both reads are under way now
    waiter = threading.Thread(target=lambda: _expect_cancel(ahead, refused))
    waiter.start()
    ahead.close()
    waiter.join(MEET)
    never.set()
    assert not waiter.is_alive() and len(refused) == 1 and "stopped" in str(refused[0])


def _expect_cancel(ahead: ReadAhead[str], out: list[BaseException]) -> None:
    try:
        ahead.wait_settle("Child")
    except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
        out.append(exc)


def test_a_module_that_comes_later_in_the_run_is_not_waited_for() -> None:
    # Its read would not have happened yet at this module's turn either: waiting for it would hang the run.
    names = ["Child", "Parent"]
    reads = Reads()
    ahead = ReadAhead(reads.start, names, depth=1, after=lambda m: {"Parent": "rows"} if m == "Child" else {})
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()
    assert reads.ended_before["Child"] == []


def test_a_fence_starts_at_its_turn_and_nothing_after_it_before_then() -> None:
    names = ["A", "Fence", "B"]
    reads = Reads()
    ahead = ReadAhead(reads.start, names, depth=2, ahead=["A", "B"])
    try:
        head, rows = ahead.take("A")
        list(rows)
        assert "Fence" not in reads.started and "B" not in reads.started
        assert drain(ahead, ["Fence", "B"]) == ["Fence", "B"]
    finally:
        ahead.close()
    assert reads.in_thread == {"A": True, "Fence": False, "B": True}


def test_without_depth_every_read_is_made_at_its_turn_in_the_callers_thread() -> None:
    names = ["A", "B", "C"]
    reads = Reads()
    ahead = ReadAhead(reads.start, names, depth=0)
    assert drain(ahead, names) == names
    assert reads.in_thread == {"A": False, "B": False, "C": False}
    assert reads.ended_before == {"A": [], "B": ["A"], "C": ["A", "B"]}


def test_a_read_waiting_for_another_stops_when_the_run_closes() -> None:
    names = ["Parent", "Child"]
    parent_may_end = threading.Event()

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        def rows() -> Iterator[pa.RecordBatch]:
            parent_may_end.wait(MEET)
            yield batch(module)

        return f"head of {module}", rows() if module == "Parent" else iter(())

    ahead = ReadAhead(start, names, depth=2, after=lambda m: {"Parent": "rows"} if m == "Child" else {})
    ahead.take("Parent")  # its read is under way; the child's waits for it
    child = ahead._streams["Child"]
    ahead.close()
    parent_may_end.set()
    child.thread.join(MEET)
    assert not child.thread.is_alive()
    with pytest.raises(Exception, match="stopped"):
        child.head.result()


@pytest.mark.parametrize(("extra", "full", "deltas"), [
    (";MaxConcurrency=20", 8, 10),  # a full read holds batches in memory: at most 8 wait read
    (";MaxConcurrency=25", 8, 12),  # a delta is a few pages: half the connection's calls
    (";MaxConcurrency=4", 2, 2),
    (";MaxConcurrency=20;CreditBudget=500", 0, 0),  # a budget is spent in module order: nothing ahead
])
def test_an_incremental_run_reads_more_modules_ahead_than_a_full_load(emulator, extra, full, deltas) -> None:
    from connector.sync.backends import open_source

    with open_source(emulator.connection_string + extra) as source:
        assert (source.read_ahead(), source.read_ahead(deltas_only=True)) == (full, deltas)


def test_a_read_that_waits_for_its_parents_asks_what_they_do_not_decide_first() -> None:
    # A subform's deletion log and count depend on no other read: they go out while its parent is still read.
    names = ["Parent", "Child"]
    warmed = threading.Event()
    calls: list[str] = []

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        calls.append(f"start {module}")

        def rows() -> Iterator[pa.RecordBatch]:
            if module == "Parent":  # its rows wait until the child's warm-up has been asked
                assert warmed.wait(MEET), "the child asked nothing before its parent's read ended"
            yield batch(module)

        return f"head of {module}", rows()

    def warm(module: str) -> None:
        calls.append(f"warm {module}")
        warmed.set()

    ahead = ReadAhead(start, names, depth=2, after=lambda m: {"Parent": "rows"} if m == "Child" else {}, warm=warm)
    try:
        assert drain(ahead, names) == names
    finally:
        ahead.close()
    # the parent waits for nothing, so its own read asks at once (no warm-up); the child's warm-up comes
    # before its read, which began only after the parent's had ended
    assert calls.index("warm Child") < calls.index("start Child")
    assert "warm Parent" not in calls


def test_a_warm_up_that_fails_is_the_reads_error_at_its_turn() -> None:
    names = ["Parent", "Child"]

    def warm(module: str) -> None:
        raise RuntimeError(f"no deletion log for {module}")

    reads = Reads()
    ahead = ReadAhead(reads.start, names, depth=2, after=lambda m: {"Parent": "rows"} if m == "Child" else {},
                      warm=warm)
    try:
        head, rows = ahead.take("Parent")
        assert [b.column("module")[0].as_py() for b in rows] == ["Parent"]
        with pytest.raises(RuntimeError, match="no deletion log for Child"):
            ahead.take("Child")
    finally:
        ahead.close()
    assert "Child" not in reads.started


def test_the_related_lists_a_run_needs_are_asked_beside_the_modules_metadata() -> None:
    # Which org tables a run reads (contact roles, campaign members) depends on their parents' related lists;
    # those go out with the record modules' fields and the users, which the run asks next anyway.
    import requests

    from connector.emulator import Emulator
    from connector.sync.backends import open_source

    with Emulator(records=200, seed=3, latency_ms=40) as emu:
        def listing(extra: str) -> tuple[list[str], dict[str, int], int, dict[str, int]]:
            requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)
            before = emu.stats()["calls"]
            with open_source(emu.connection_string + extra) as source:
                names = source.modules_for_run()
                listed = emu.stats()
                source.prepare(names)
                after = emu.stats()["calls"]
            return (names, {k: v - before.get(k, 0) for k, v in listed["calls"].items() if v != before.get(k, 0)},
                    listed["concurrency"]["peak"],
                    {k: v - listed["calls"].get(k, 0) for k, v in after.items() if v != listed["calls"].get(k, 0)})

        serial, serial_calls, serial_peak, _ = listing(";MaxConcurrency=1")
        names, calls, peak, then = listing(";MaxConcurrency=8")
    assert names == serial and "_Contact_Roles" in names
    parents = {"Deals", "Campaigns", "Price_Books"}  # contact roles; campaign members; price book products
    assert serial_calls["list_related_lists"] == calls["list_related_lists"] == len(parents)  # once each
    assert "list_fields" not in serial_calls and serial_peak == 1
    assert calls["list_fields"] == sum(1 for m in names if not m.startswith("_")) and calls["users"] == 1
    assert peak >= 2 and then == {}  # prepare finds them all asked

    # Listing the modules alone (a Zoho target binding its source) asks no module's metadata
    with Emulator(records=200, seed=3) as emu, open_source(emu.connection_string + ";MaxConcurrency=8") as source:
        before = emu.stats()["calls"]
        assert source.modules() == names
        asked = {k for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)}
    assert asked - {"token"} == {"list_modules", "list_related_lists"}


def test_a_zoho_targets_start_up_asks_its_metadata_in_one_round_trip() -> None:
    # Before its first write a Zoho target needs, per module written, the fields and the layouts, and who the
    # connection is, the users and the org: none of them waits for another, so all go out together.
    import requests

    from connector.emulator import Emulator
    from connector.session import ZohoSession
    from connector.sync.target_zoho import ZohoTarget

    # half a second a call: all eight are in flight at once even when a busy machine starts their threads late
    with Emulator(records=50, seed=3, latency_ms=500) as emu:
        def start_up(extra: str) -> tuple[dict[str, int], int, dict[str, int]]:
            with ZohoSession(emu.connection_string + extra) as session:
                session.catalog.modules()
                requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)
                before = emu.stats()["calls"]
                target = ZohoTarget(session)
                try:
                    target.prepare(["Leads", "Contacts", "Attachments"])
                    asked = emu.stats()
                    target._people()
                    target.prepare(["Leads", "Contacts", "Attachments"])
                    after = emu.stats()["calls"]
                finally:
                    target.close()
            return ({k: v - before.get(k, 0) for k, v in asked["calls"].items() if v != before.get(k, 0)},
                    asked["concurrency"]["peak"], {k: v - asked["calls"].get(k, 0) for k, v in after.items() if v != asked["calls"].get(k, 0)})

        serial, serial_peak, serial_then = start_up(";MaxConcurrency=1")
        calls, peak, again = start_up(";MaxConcurrency=20")
    # fields of the three, layouts of the two record modules (Attachments are listed per parent), the org,
    # the current user and every user: each once, and nothing asked again afterwards
    assert serial == {} and serial_peak <= 1  # one slot: each is asked where first needed
    assert serial_then == {"users": 2}
    assert calls == {"list_fields": 3, "list_layouts": 2, "org": 1, "users": 2}
    assert peak == sum(calls.values()) and again == {}


@pytest.mark.parametrize(("rows", "most"), [(200, ROWS_AHEAD // 200), (5_000, BUFFER), (20_000, BUFFER)])
def test_a_read_ahead_holds_four_batches_or_small_ones_up_to_its_rows(rows: int, most: int) -> None:
    # 200-row list pages: fifty of them wait (a token chain goes on before its module's turn); large batches:
    # four, as ever. The read sees, as it makes each batch, what the queue holds: never more than that.
    seen: list[tuple[int, int]] = []
    stream: list[_Stream[str]] = []
    made = threading.Event()

    def start(module: str, ahead: bool) -> tuple[str, Iterator[pa.RecordBatch]]:
        def gen() -> Iterator[pa.RecordBatch]:
            assert made.wait(MEET)
            for _ in range(most + 10):
                s = stream[0]
                seen.append((s._held, s._held_rows))
                yield pa.record_batch({"id": list(range(rows))})

        return "head", gen()

    cancel, headed, done = threading.Event(), threading.Event(), threading.Event()
    stream.append(_Stream("Tasks", start, cancel, headed, done, []))
    made.set()
    waited = 0.0
    while len(seen) < most + 1 and waited < MEET:  # the read has filled the queue and waits with one more
        threading.Event().wait(0.01)
        waited += 0.01
    got = sum(b.num_rows for b in stream[0].batches())
    assert got == (most + 10) * rows
    assert max(h for h, _ in seen) == most
    assert max(r for _, r in seen) <= max(ROWS_AHEAD, BUFFER * rows)
