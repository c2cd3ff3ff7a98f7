"""The connection's call slots (``connector.http.concurrency.Slots``): never past MaxConcurrency nor Zoho's 10
heavy calls; a slot that frees goes to a waiting metadata call before the others, then to a file download (it
finishes rows already read) before the calls that read more, then to the calls in the order they came. Real
threads."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.http.concurrency import Slots


def _waiting(slots: Slots, n: int) -> None:
    """Until ``n`` threads wait for a slot (they are counted as they join its queue)."""
    for _ in range(2000):
        if slots.waiting >= n:
            return
        time.sleep(0.001)
    raise AssertionError(f"{n} threads never waited")


@settings(max_examples=25, deadline=None)
@given(limit=st.integers(1, 12), calls=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_never_more_calls_or_heavy_calls_than_allowed(limit, calls):
    slots = Slots(limit)
    peak = [0, 0]
    lock = threading.Lock()

    def call(heavy: bool, first: bool) -> None:
        with slots.held(heavy, first):
            busy, heavy_busy = slots.in_use
            with lock:
                peak[0], peak[1] = max(peak[0], busy), max(peak[1], heavy_busy)
            time.sleep(0.001)

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)  # every call got its slot (no deadlock)
    assert peak[0] <= limit and peak[1] <= min(limit, 10)
    assert slots.in_use == (0, 0)


def test_a_freed_slot_goes_to_the_metadata_call_that_waits_behind_others():
    slots = Slots(2)
    order: list[str] = []
    answered = [threading.Event(), threading.Event()]

    def holder(e: threading.Event) -> None:  # a call in flight until its answer comes
        with slots.held(False):
            e.wait(10)

    def call(name: str, first: bool) -> None:
        with slots.held(False, first):
            order.append(name)

    holders = [threading.Thread(target=holder, args=(e,)) for e in answered]
    for h in holders:
        h.start()
    while slots.in_use[0] < 2:
        time.sleep(0.001)
    waiting = [threading.Thread(target=call, args=(f"count {i}", False)) for i in range(3)]
    for t in waiting:
        t.start()
    _waiting(slots, 3)
    meta = threading.Thread(target=call, args=("fields", True))
    meta.start()
    _waiting(slots, 4)
    answered[0].set()  # one slot frees
    meta.join(5)
    answered[1].set()
    for t in [*waiting, *holders]:
        t.join(5)
    assert order[0] == "fields"  # asked last, served first
    assert sorted(order[1:]) == ["count 0", "count 1", "count 2"]
    assert slots.in_use == (0, 0)


def test_a_heavy_call_waits_for_a_heavy_slot_while_light_ones_go_on():
    slots = Slots(20)
    inside = threading.Event()
    done = threading.Event()

    def heavy() -> None:
        with slots.held(True):
            inside.set()

    answered = threading.Event()

    def pages() -> None:  # ten heavy calls in flight
        with slots.held(True):
            answered.wait(10)

    held = [threading.Thread(target=pages) for _ in range(10)]
    for h in held:
        h.start()
    while slots.in_use[1] < 10:
        time.sleep(0.001)
    t = threading.Thread(target=heavy)
    t.start()
    _waiting(slots, 1)
    with slots.held(False):  # a light call is not held up by the heavy one waiting
        done.set()
    assert done.is_set() and not inside.is_set()
    answered.set()
    t.join(5)
    assert inside.is_set()
    for h in held:
        h.join(5)
    assert slots.in_use == (0, 0)


def _served(asked: list[tuple[str, bool, bool, bool]]) -> list[str]:
    """The order in which calls asked one after another, each (name, heavy, first, finishing) and each
    already waiting before the next comes, get the one slot once the call holding it is answered."""
    slots = Slots(1)
    order: list[str] = []
    answered = threading.Event()

    def holder() -> None:
        with slots.held(False):
            answered.wait(10)

    def call(name: str, heavy: bool, first: bool, finishing: bool) -> None:
        with slots.held(heavy, first, finishing):
            order.append(name)

    h = threading.Thread(target=holder)
    h.start()
    while slots.in_use[0] < 1:
        time.sleep(0.001)
    callers = []
    for i, args in enumerate(asked):
        t = threading.Thread(target=call, args=args)
        t.start()
        _waiting(slots, i + 1)
        callers.append(t)
    answered.set()
    for t in [h, *callers]:
        t.join(5)
    assert slots.in_use == (0, 0) and slots.waiting == 0
    return order


def test_waiting_calls_are_served_in_the_order_they_came():
    asked = [(str(i), i % 2 == 0, False, False) for i in range(8)]  # heavy and light in turn
    assert _served(asked) == [str(i) for i in range(8)]


def test_a_file_download_goes_after_metadata_and_before_the_pages_that_came_first():
    asked = [("page 0", True, False, False), ("download 0", False, False, True), ("page 1", True, False, False),
             ("fields", False, True, False), ("download 1", False, False, True), ("page 2", True, False, False)]
    assert _served(asked) == ["fields", "download 0", "download 1", "page 0", "page 1", "page 2"]


def test_a_call_interrupted_while_it_waits_gives_up_its_place_and_the_others_go_on():
    import signal

    slots = Slots(1)
    answered = threading.Event()

    def holder() -> None:
        with slots.held(True):
            answered.wait(10)

    h = threading.Thread(target=holder)
    h.start()
    while slots.in_use[0] < 1:
        time.sleep(0.001)

    class Stop(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Stop()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        try:
            with slots.held(False):  # waits in the main thread until the alarm interrupts it
                raise AssertionError("the slot was never free")
        except Stop:
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert slots.waiting == 0 and slots.in_use == (1, 1)  # its place is gone; the holder's slot stays held
    answered.set()
    h.join(5)
    with slots.held(True):
        assert slots.in_use == (1, 1)
    assert slots.in_use == (0, 0)
