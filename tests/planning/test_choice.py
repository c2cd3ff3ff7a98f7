"""The one API-choice policy the planner and the sync source share (connector/planning/choice.py).

Every API is priced by its strategy's cost model (held to the emulator's meter in
tests/readers/test_cost_models.py); the cheapest wins when the rows are known,
the one that can lose least when they are only bounded, and the choice says when
a count (1 credit) may pay for itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.planning.choice import ORDER, WORTH, ReadRequest, RowRange, choose, choose_api, price
from connector.readers.strategies import BULK, COQL, REST, SEARCH, Extras


def scan(rows: int | None, fields: int = 10, **kw: object) -> ReadRequest:
    return ReadRequest("Leads", fields, rows, **kw)  # type: ignore[arg-type]


def filtered(total: int | None, rows: RowRange, fields: int = 10, **kw: object) -> ReadRequest:
    return ReadRequest("Leads", fields, total, True, rows, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("request_", "api"), [
    # every row: the list API's pages, COQL's keyset pages or a Bulk job, whichever costs least
    (scan(0), "REST"),  # one call each: the list API's is the light one
    (scan(400, fields=10), "REST"),  # 2 pages against COQL's 200 + 2,000-row calls (4 credits)
    (scan(700, fields=10), "REST"),  # 4 pages against 4 credits: on a tie the list API's light calls
    (scan(2_000, fields=10), "COQL"),  # 10 pages against 4 credits
    (scan(1_000, fields=74), "COQL"),  # 5 pages x 3 calls (two field groups) against 4 credits
    (scan(30_000), "COQL"),  # 46 credits against a 53-credit job
    (scan(40_000), "Bulk"),
    (scan(None), "Bulk"),  # unknown size: assume large
    # a filter whose rows are counted
    (filtered(100_000, RowRange.exactly(3_000)), "COQL"),
    (filtered(100_000, RowRange.exactly(60_000)), "Bulk"),
    (filtered(10_000, RowRange.exactly(300), fields=5, search=True), "Search"),  # 2 pages + 1 against 4
    (filtered(10_000, RowRange.exactly(300), fields=5, search=False), "COQL"),  # Search would read more rows
    (filtered(10_000, RowRange.exactly(300), fields=74, search=True), "COQL"),  # its second field group: 6
    (filtered(10_000, RowRange.exactly(150), fields=5, search=True), "COQL"),  # 1 credit against 2
    (filtered(10_000, RowRange.exactly(2_500), fields=5, search=True), "COQL"),  # past Search's cap
    # a filter whose rows are only bounded: the choice that loses least
    (filtered(10_000, RowRange(0, 10_000, 500)), "COQL"),  # at most 16 credits, never far from the cheapest
    (filtered(100_000, RowRange(0, 100_000, 5_000)), "Bulk"),  # COQL could cost 151
    (filtered(100_000, RowRange(0, 1, 1)), "COQL"),  # a point lookup
    (filtered(None, RowRange()), "Bulk"),
    # LIMIT
    (scan(None, limit=10), "REST"),  # 1 credit however large the module, as COQL's
    (scan(None, fields=74, limit=10), "COQL"),  # the list API's page needs its second field group: 2
    (filtered(None, RowRange(), limit=10, coql_exact=True), "COQL"),
    (filtered(None, RowRange(), limit=10, coql_exact=False), "Bulk"),
    (scan(None, limit=10, unordered=False, coql_sorts=True), "COQL"),
    (scan(50_000, limit=10, unordered=False, coql_sorts=False), "Bulk"),
    (scan(1_000, limit=5_000), "COQL"),
])
def test_choice(request_: ReadRequest, api: str) -> None:
    got = choose(request_)
    assert got.api == api, got.why


@pytest.mark.parametrize("fields", [1, 10, 50, 51, 120])
@pytest.mark.parametrize("total", [0, 150, 201, 450, 650, 1_000, 5_000, 34_000, 36_000, 150_000, 250_000])
def test_a_counted_read_goes_to_the_cheapest_cost_model(fields: int, total: int) -> None:
    req = scan(total, fields)
    credits = {s.name: s.cost(total, fields).credits for s in (REST, COQL, BULK)}
    cheapest = min(credits.values())
    got = choose(req)
    assert credits[got.api] == cheapest, (got.why, credits)
    assert got.api == min((a for a in credits if credits[a] == cheapest), key=ORDER.index)
    assert got.regret == 0 and not got.worth_counting


@given(total=st.integers(0, 500_000), low=st.integers(0, 500_000), high=st.integers(0, 500_000),
       fields=st.integers(1, 120), search=st.booleans())
def test_the_regret_is_what_the_choice_can_lose(total: int, low: int, high: int, fields: int,
                                                search: bool) -> None:
    low, high = min(low, high, total), min(max(low, high), total)
    req = filtered(total, RowRange(low, high, (low + high) // 2), fields, search=search, bulk_same=True)
    got = choose(req)
    assert got.regret is not None
    for rows in {low, high, (low + high) // 2, min(high, max(low, 250))}:
        prices = {c.api: price(req, c.api, rows).credits for c in got.candidates}
        mine = prices[got.api]
        assert mine is not None and mine - min(p for p in prices.values() if p is not None) <= got.regret


@pytest.mark.parametrize(("req", "worth"), [
    (filtered(100_000, RowRange(0, 100_000, 5_000)), True),  # a count decides between 1 and 151 credits
    (filtered(3_000, RowRange(0, 3_000, 150)), False),  # cheap on COQL whatever it selects
    (filtered(None, RowRange()), True),  # not even the module's size
    (filtered(100_000, RowRange.exactly(70_000)), False),  # counted already
    (scan(None, limit=10), False),  # a LIMIT bounds every price
])
def test_when_a_count_pays_for_itself(req: ReadRequest, worth: bool) -> None:
    got = choose(req)
    assert got.worth_counting is worth, (got.regret, got.why)
    assert got.worth_counting == (got.regret is None or got.regret > WORTH)


def test_use_coql_and_reasons() -> None:
    bounded = filtered(100_000, RowRange(0, 100_000, 90_000))
    assert choose_api(bounded, use_coql=True)[0] == "COQL"
    assert choose_api(bounded)[0] == "Bulk"
    assert choose_api(scan(100_000, 10), use_coql=True)[0] == "Bulk"  # nothing to push
    api, why = choose_api(scan(1_000, 74))
    assert api == "COQL" and why == "cheapest for 1,000 rows (every record): ~4 credits"
    api, why = choose_api(filtered(100_000, RowRange(0, 100_000, 5_000)))
    assert why.startswith("the filter selects 0-100,000 rows, not counted: at most")
    api, why = choose_api(ReadRequest("Leads", 10, 100_000, True, None))
    assert api == "Bulk" and why.startswith("cheapest for 100,000 rows (no filter Zoho can apply)")


def test_name_lookups_are_priced() -> None:
    # Tasks' polymorphic lookups: COQL looks up which module each id is in; the list API says it itself
    plain, looked = scan(1_000, 19), scan(1_000, 19, extras=Extras(module_lookups=2, name_lookups=2))
    assert price(looked, "COQL", 1_000).credits > price(plain, "COQL", 1_000).credits  # type: ignore[operator]
    assert price(looked, "REST", 1_000) == price(plain, "REST", 1_000)
    users = scan(1_000, 19, extras=Extras(users=True, layouts=True))
    assert price(users, "Bulk", 1_000).credits == (price(plain, "Bulk", 1_000).credits or 0) + 2


def test_more_fields_than_one_coql_select_takes_rule_coql_out() -> None:
    assert price(scan(10_000, 501), "COQL", 10_000).credits is None
    assert choose(scan(10_000, 501)).api in ("REST", "Bulk")


def test_search_prices_its_cap() -> None:
    req = filtered(10_000, RowRange.exactly(2_500), fields=5, search=True)
    assert price(req, "Search", 2_500) == SEARCH.cost(2_500, 5, None, Extras(coql_rows=2_500))


def test_search_criteria_that_take_more_than_coql_are_priced_at_their_own_rows() -> None:
    # An ILIKE prefix only Search takes: COQL and Bulk read every Lead, Search the rows its criteria select.
    def ilike(own: RowRange) -> ReadRequest:
        return filtered(3_500, RowRange.exactly(3_500), fields=4, search=True, search_rows=own)

    counted = choose(ilike(RowRange.exactly(115)))
    assert counted.api == "Search" and not counted.worth_counting
    assert dict((c.api, c.cost.credits) for c in counted.candidates)["Search"] == 2  # a page + the lag call
    unknown = choose(ilike(RowRange(0, 3_500, 350)))
    assert unknown.api == "COQL" and unknown.worth_counting  # Search could read 10 pages and then COQL's 7
    many = choose(ilike(RowRange(201, 3_500, 350)))
    assert many.api == "COQL"
    # Without its own rows Search is priced at COQL's: every Lead, past its cap.
    assert choose(filtered(3_500, RowRange.exactly(3_500), fields=4, search=True)).api == "COQL"


@given(st.integers(0, 300_000), st.integers(0, 300_000), st.integers(1, 120))
def test_both_counts_known_the_cheapest_wins(total: int, own: int, fields: int) -> None:
    # Search's criteria take every condition COQL's filter takes: they never select more rows than it
    req = filtered(total, RowRange.exactly(total), fields=fields, search=True, search_rows=RowRange.exactly(own))
    read = min(own, total)
    credits = {a: price(req, a, total, read).credits for a in ORDER}
    got = choose(req)
    assert credits[got.api] == min(c for c in credits.values() if c is not None)
    assert not got.worth_counting


@pytest.mark.parametrize("apis, want", [(frozenset({"Related"}), "Related"), (frozenset({"Metadata"}), "Metadata"),
                                        (frozenset({"REST"}), "REST")])
def test_a_module_served_by_no_priced_api_gets_the_one_that_serves_it(apis: frozenset[str], want: str) -> None:
    for filtered in (False, True):
        api, why = choose_api(ReadRequest("Attachments", 5, None, filtered=filtered, apis=apis))
        assert api == want and why
