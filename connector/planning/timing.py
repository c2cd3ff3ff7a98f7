"""What a read costs in time, beside its credits: calls x latency over the calls that can be in flight,
plus Zoho's bulk job.

The planner chooses by credits (:mod:`.choice`); where two APIs cost the same credits, the faster one
is taken when it is faster by at least :data:`MIN_GAIN_S` — on the emulator's loopback every read is
fast and the order of preference stands; against Zoho's few hundred milliseconds a call, the API with
fewer turns wins. The latency is the connection's own, measured (``ZohoHttp.latency``).

The model, per API (``calls`` from its strategy's cost model):

* the list API (REST) and Search follow page tokens: one call after another;
* COQL's keyset read of a known size is read in slices at once within ``slots`` (min(MaxConcurrency,
  10): COQL is a heavy call), for the same calls (:mod:`connector.readers.coql_slices`): with more than
  two slots its first page (a cheap LIMIT) goes out with the first pages of ``slots - 1`` slices, so the
  rest take ``(calls - 1) / (slots - 1)`` turns; with two, the first page is asked first, then two slices
  (the model is asked only with a row count; the one size in 2,000 where the head goes first anyway,
  :func:`~connector.readers.coql_slices.plan_after_head`, is a turn it does not see, and a read whose first
  page is a whole one, :func:`~connector.readers.paging.first_coql_page`, is a call fewer than counted);
* a Bulk Read's calls (create, poll, download) come one after another, and the job itself takes
  its rows at :data:`BULK_ROWS_PER_S` (Zoho does not publish a rate; this is what benchmarks/latency.py
  gives the emulator).
"""

from __future__ import annotations

import math

from connector.readers.strategies import Cost

#: rows a Zoho Bulk Read job exports per second (an assumption: Zoho publishes none)
BULK_ROWS_PER_S = 20_000.0
#: a faster API is taken over the preferred one only when it saves at least this much (seconds): less
#: goes unnoticed, and the preferred one has its reasons (the list API's calls are light, COQL's heavy)
MIN_GAIN_S = 0.25


def read_seconds(api: str, cost: Cost, rows: int | None, *, latency_s: float, slots: int = 1,
                 bulk_rows_per_s: float = BULK_ROWS_PER_S) -> float:
    """Seconds a read of ``rows`` rows through ``api`` waits on Zoho (``cost``: its calls; inf when unknown)."""
    if cost.calls is None:
        return math.inf
    turns = float(cost.calls)
    if api == "COQL" and cost.calls > 1 and slots > 2:
        turns = math.ceil((cost.calls - 1) / (slots - 1))  # the first page rides in the first wave
    elif api == "COQL" and cost.calls > 1 and slots == 2:
        turns = 1 + math.ceil((cost.calls - 1) / 2)
    seconds = turns * max(0.0, latency_s)
    if api == "Bulk":
        seconds += (rows or 0) / bulk_rows_per_s
    return seconds


def fastest(preferred: str, times: dict[str, float]) -> str:
    """Among APIs that cost the same credits: ``preferred`` unless another saves at least MIN_GAIN_S."""
    best = min(times, key=lambda a: (times[a], a != preferred))
    return best if times[preferred] - times[best] >= MIN_GAIN_S else preferred
