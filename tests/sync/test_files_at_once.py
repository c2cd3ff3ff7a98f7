"""Files into Zoho go several at once (``zoho_files.each_at_once``): up to the slots given, every one settled.

Real threads, no HTTP: the jobs stand for one file's write each (check, send, settle its line). The
photos, attachments and field files of a migration into Zoho go through it
(tests/sync/test_write_concurrency.py: a concurrent load makes the serial load's calls).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from connector.errors import ApiError
from connector.http.retry import check_cancelled
from connector.sync.zoho_files import each_at_once


class Gauge:
    """How many jobs run at once, and the most that ever did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = self.started = self.finished = 0

    def job(self, value: int, meet: threading.Barrier | None = None, fail: Exception | None = None
            ) -> Callable[[], int]:
        def run() -> int:
            check_cancelled()  # where a real job's first call would be refused once the run stops
            with self.lock:
                self.started += 1
                self.now += 1
                self.peak = max(self.peak, self.now)
            try:
                if meet is not None:  # held until that many jobs are running together
                    meet.wait(10)
                if fail is not None:
                    raise fail
                return value
            finally:
                with self.lock:
                    self.now -= 1
                    self.finished += 1
        return run


@pytest.mark.parametrize(("slots", "jobs"), [(1, 5), (2, 5), (4, 4), (4, 9), (8, 3)])
def test_up_to_the_slots_at_once_and_every_result_counted(slots: int, jobs: int) -> None:
    gauge, together = Gauge(), min(slots, jobs)
    # the first `together` jobs wait for each other: the pool must run that many at once
    meet = threading.Barrier(together) if together > 1 else None
    calls = [gauge.job(i, meet if i < together else None) for i in range(jobs)]
    assert each_at_once(calls, slots, "test-files") == sum(range(jobs))
    assert gauge.peak == together and gauge.started == gauge.finished == jobs


def test_the_first_failure_is_raised_once_every_job_on_its_way_has_settled() -> None:
    gauge = Gauge()
    slow_done = threading.Event()

    def slow() -> int:
        time.sleep(0.3)  # still on its way when the other fails: waited for, not abandoned
        slow_done.set()
        return 1

    refused = ApiError("the file is too big", code="FILE_SIZE_EXCEEDS")
    calls = [slow, gauge.job(0, fail=refused), *(gauge.job(1) for _ in range(20))]
    with pytest.raises(ApiError) as caught:
        each_at_once(calls, 2, "test-files")
    assert caught.value is refused
    assert slow_done.is_set()  # settled before the error reached the caller
    assert gauge.started == gauge.finished  # nothing still running behind the caller's back
    assert gauge.started < 21  # the jobs not started by then never ran


def test_one_slot_runs_them_in_order_in_the_callers_thread() -> None:
    seen: list[tuple[int, str]] = []

    def job(i: int) -> Callable[[], int]:
        def run() -> int:
            seen.append((i, threading.current_thread().name))
            return 1
        return run

    assert each_at_once([job(i) for i in range(4)], 1, "test-files") == 4
    assert seen == [(i, threading.current_thread().name) for i in range(4)]
