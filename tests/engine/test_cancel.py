"""Stopping a running statement from another thread: the hand-over thread and ``Connection.interrupt()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

import connector
from connector.emulator import Emulator
from connector.engine.cancel import Cancel, pull_in_thread
from connector.errors import InterfaceError


def counted(n: int, produced: list[int], gate: threading.Event | None = None) -> Callable[[], Iterator[int]]:
    def make() -> Iterator[int]:
        try:
            for i in range(n):
                if gate is not None:
                    gate.wait()
                produced.append(i)
                yield i
        finally:
            produced.append(-1)  # closed (in the producer's thread)

    return make


def test_items_are_produced_one_per_request_and_the_source_is_closed() -> None:
    produced: list[int] = []
    items = pull_in_thread(counted(10, produced), Cancel(), "t")
    assert next(items) == 0 and next(items) == 1
    time.sleep(0.1)
    assert produced == [0, 1]  # nothing read ahead: no call Zoho was not asked for
    items.close()
    deadline = time.monotonic() + 10
    while produced[-1] != -1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert produced == [0, 1, -1]


def test_errors_come_through_and_a_stop_is_seen_while_the_source_is_blocked() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("Zoho said no")

    items = pull_in_thread(failing, Cancel(), "t")
    assert next(items) == 1
    with pytest.raises(ValueError, match="Zoho said no"):
        next(items)

    cancel, gate, produced = Cancel(), threading.Event(), []
    blocked = pull_in_thread(counted(5, produced, gate), cancel, "t")
    threading.Timer(0.2, cancel.set, kwargs={"reason": lambda: InterfaceError("stopped")}).start()
    with pytest.raises(InterfaceError, match="stopped"):
        next(blocked)  # the source is still blocked (gate closed): the puller does not wait for it
    gate.set()
    cancel.join(10)
    assert produced[-1] == -1  # the source finished its step in the background and was closed


def test_connection_interrupt_stops_a_running_query_and_the_connection_goes_on(
        make_emulator: Callable[..., Emulator]) -> None:
    # 2,100 Leads: past the 2,000 that numbered pages reach, the pages follow tokens at 300 ms a call.
    emu = make_emulator(records=6_000, seed=4, latency_ms=300)
    with connector.connect(emu.connection_string + ";APIType=REST") as conn:
        cur = conn.cursor().execute("SELECT * FROM Leads")
        timer = threading.Timer(0.5, conn.interrupt)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            cur.fetchall()
        timer.join()
        assert conn.execute("SELECT count(*) FROM Deals").fetchone()[0] > 0  # type: ignore[index]
        cur = conn.cursor().execute("SELECT * FROM Leads")
        assert cur.fetchone() is not None
        conn.engine.close()
        with pytest.raises(InterfaceError, match="closed while the statement ran"):
            cur.fetchall()
