"""The one API-choice policy the planner and the sync source share (connector/planning/choice.py)."""

from __future__ import annotations

import pytest

from connector.planning.choice import SELECTIVE, ReadRequest, choose_api
from connector.readers.strategies import BULK, REST


def scan(rows: int | None, fields: int = 10) -> ReadRequest:
    return ReadRequest("Leads", fields, rows)


@pytest.mark.parametrize(("request_", "api"), [
    # no filter: list pages or a Bulk job, whichever the cost models price lower (53 credits a job)
    (scan(0), "REST"),
    (scan(10_600, fields=10), "REST"),  # 53 pages of 200 rows
    (scan(10_601, fields=10), "Bulk"),
    (scan(5_200, fields=74), "REST"),  # 26 pages x 2 field groups
    (scan(5_400, fields=74), "Bulk"),
    (scan(None), "Bulk"),  # unknown size: assume large
    # a filter
    (ReadRequest("Leads", 10, 100_000, True, {"COQL": SELECTIVE, "Bulk": SELECTIVE}), "COQL"),
    (ReadRequest("Leads", 10, 100_000, True, {"COQL": SELECTIVE + 1, "Bulk": SELECTIVE + 1}), "Bulk"),
    (ReadRequest("Leads", 10, None, True, {"COQL": None, "Bulk": None}), "Bulk"),
    (ReadRequest("Leads", 10, 10_000, True, {"Search": 1, "COQL": 1, "Bulk": 1}, search_selective=True), "Search"),
    (ReadRequest("Leads", 10, 10_000, True, {"Search": 1, "COQL": 1, "Bulk": 1}, search_selective=True,
                 search_takes_less=True), "COQL"),
    (ReadRequest("Leads", 10, 10_000, True, {"Search": 1_500, "COQL": 1_500, "Bulk": 1_500}, search_selective=True),
     "COQL"),  # 8 search pages + 1 against COQL's 3 credits
    (ReadRequest("Leads", 10, 10_000, True, {"Search": 100, "COQL": 100}, search_selective=False), "COQL"),
    # LIMIT
    (ReadRequest("Leads", 10, None, limit=10), "REST"),
    (ReadRequest("Leads", 10, None, True, {"COQL": None}, coql_exact=True, limit=10), "COQL"),
    (ReadRequest("Leads", 10, None, True, {"COQL": None}, coql_exact=False, limit=10), "Bulk"),
    (ReadRequest("Leads", 10, None, limit=10, unordered=False, coql_sorts=True), "COQL"),
    (ReadRequest("Leads", 10, 50_000, limit=10, unordered=False, coql_sorts=False), "Bulk"),
    (ReadRequest("Leads", 10, 1_000, limit=5_000), "REST"),
])
def test_choice(request_: ReadRequest, api: str) -> None:
    got, why = choose_api(request_)
    assert got == api, why


def test_the_scan_threshold_is_where_the_cost_models_cross() -> None:
    for fields in (1, 50, 51, 120):
        crossing = next(n for n in range(0, 30_000, 100)
                        if (REST.cost(n, fields).credits or 0) > (BULK.cost(n, fields).credits or 0))
        assert choose_api(scan(crossing - 100, fields))[0] == "REST"
        assert choose_api(scan(crossing, fields))[0] == "Bulk"


def test_use_coql_and_reasons() -> None:
    filtered = ReadRequest("Leads", 10, 100_000, True, {"COQL": 90_000, "Bulk": 90_000})
    assert choose_api(filtered, use_coql=True)[0] == "COQL"
    assert choose_api(filtered)[0] == "Bulk"
    assert choose_api(scan(100_000, 10), use_coql=True)[0] == "Bulk"  # nothing to push
    api, why = choose_api(scan(1_000, 74))
    assert api == "REST" and why.startswith("small module (1,000 rows) and no filter Zoho can apply: ~10 credits")
