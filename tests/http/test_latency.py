"""The connection's typical call time: a lower median over a window, so one stalled call prices nothing."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.http.latency import WINDOW, Latency, typical


@pytest.mark.parametrize(("calls", "expected"), [
    ([], 0.0),  # nothing measured: nothing is known to be slow
    ([0.3], 0.3),
    ([0.5, 0.004], 0.004),  # a first call's handshake, then loopback: the faster of two
    ([0.004, 0.5, 0.003], 0.004),  # one stall among three moves nothing
    ([0.3, 0.31, 2.0, 0.29], 0.3),
    ([0.3, 0.3, 0.3, 2.0, 2.0, 2.0, 2.0], 2.0),  # when most calls are slow, the connection is slow
])
def test_typical(calls: list[float], expected: float) -> None:
    assert typical(calls) == expected


def test_only_the_latest_calls_count() -> None:
    latency = Latency()
    for _ in range(WINDOW):
        latency.observe(2.0)
    assert latency.seconds == 2.0
    for _ in range(WINDOW // 2 + 1):
        latency.observe(0.3)
    assert latency.seconds == 0.3  # the newer half and one decide; the slow past is forgotten


@given(st.lists(st.floats(0, 60), min_size=1, max_size=3 * WINDOW))
def test_the_figure_is_one_of_the_latest_calls_and_never_above_their_median(calls: list[float]) -> None:
    latency = Latency()
    for c in calls:
        latency.observe(c)
    latest = calls[-WINDOW:]
    assert latency.seconds in latest
    assert latency.seconds <= statistics.median(latest)
    assert sum(c < latency.seconds for c in latest) <= (len(latest) - 1) // 2
