"""The bulk jobs a connection waits for (``connector.readers.bulk_queue``): when one is seen done, the oldest
still waited for (the one Zoho runs next) starts its polls again; nothing else is woken. Real threads, and a
real emulator whose jobs run one after another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from connector.emulator import Emulator
from connector.readers import BulkReader
from connector.readers.bulk_queue import BulkQueue, bulk_queue
from connector.session import ZohoSession


def _queue(*jobs: str) -> BulkQueue:
    q = BulkQueue()
    for job in jobs:
        q.born(job)  # created one after another
    for job in reversed(jobs):
        q.waiting(job)  # waited for in any order: their place is their creation's
    return q


def test_the_oldest_job_left_is_woken_when_the_one_before_it_is_seen_done() -> None:
    q = _queue("a", "b", "c")
    never = threading.Event()
    q.left("a", done=True)
    assert q.sleep("b", 30.0, never) is True  # woken at once: it runs now
    assert q.sleep("c", 0.01, never) is False  # still behind b
    assert q.sleep("b", 0.01, never) is False  # woken once
    q.left("b", done=True)
    assert q.sleep("c", 30.0, never) is True
    assert len(q) == 1


def test_a_job_that_leaves_unseen_or_out_of_turn_wakes_nobody() -> None:
    q = _queue("a", "b", "c")
    never = threading.Event()
    q.left("a", done=False)  # its read stopped: Zoho may still be running it
    assert q.sleep("b", 0.01, never) is False
    q.left("c", done=True)  # done, but b was ahead of it: b does not run because of it
    assert q.sleep("b", 0.01, never) is False
    q.left("b", done=True)  # the last: nobody to wake
    assert len(q) == 0


def test_a_sleep_ends_when_its_read_is_cancelled_and_a_job_not_waited_for_just_sleeps() -> None:
    q = _queue("a", "b")
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    assert q.sleep("b", 30.0, cancel) is None
    assert q.sleep("gone", 30.0, cancel) is None  # (already set)
    assert q.sleep("gone", 0.01, threading.Event()) is False


class _Connection:
    pass


def test_one_queue_per_connection() -> None:
    one, other = _Connection(), _Connection()
    assert bulk_queue(one) is bulk_queue(one) and bulk_queue(one) is not bulk_queue(other)


def test_a_job_queued_behind_another_is_asked_about_once_that_one_is_done(
        make_emulator: Callable[..., Emulator]) -> None:
    """Two jobs created together run one after the other at Zoho. The second's own schedule would first ask
    about it 24 s after its creation (it expects a long job); once the first is seen done, the second is asked
    about again within a poll or two of its own short run."""
    emu = make_emulator(records=300, sizes={"Leads": 600, "Contacts": 300}, bulk_rows_per_s=600)
    with ZohoSession(emu.connection_string) as session:
        ctx = session.reader_context()
        first, second = BulkReader(ctx, poll_initial=0.05), BulkReader(ctx, poll_initial=0.05, poll_cap=60.0)
        a = first.create_job("Leads", ["id"], None, 1, None)
        b = second.create_job("Contacts", ["id"], None, 1, None)
        created = time.monotonic()
        found: dict[str, float] = {}

        def wait_a() -> None:
            first.wait("Leads", a, threading.Event())
            found["a"] = time.monotonic()

        t = threading.Thread(target=wait_a)
        t.start()
        running: list[float] = []
        result = second.wait("Contacts", b, threading.Event(), expect=30.0, since=created, running=running)
        found["b"] = time.monotonic()
        t.join(30)
    assert int(result["count"]) == 300
    assert found["a"] <= found["b"]  # a ran first (one job at a time)
    # b was first asked about after a was seen done, long before its own schedule (0.8 x 30 s) would have
    assert found["b"] - created < 0.8 * 30.0
    assert len(bulk_queue(ctx.http)) == 0
