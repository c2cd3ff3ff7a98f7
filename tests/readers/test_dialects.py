"""Each Zoho filter dialect on its own: values, conditions, groups, exactness, and the COQL statement builder.

Table-driven, one table per generator (the sqlglot way): what the planner's
rules hand a dialect and the text or JSON Zoho receives. The rules' choice of
*what* to push is tested in tests/planning; here only *how* it is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.readers.dialects import (
    BULK,
    COQL,
    DIALECTS,
    SEARCH,
    Dialect,
    Pushed,
    Target,
    dialect_for,
    zoho_datetime,
)
from connector.readers.dialects import rest as list_api
from connector.readers.dialects.coql import CoqlQuery, conjoin, count_statement, digits

IST = timezone(timedelta(hours=5, minutes=30))
AT = datetime(2024, 5, 1, 10, 0, 0, tzinfo=IST)  # 04:30:00 UTC


def test_one_dialect_per_target() -> None:
    assert {t: type(d).__name__ for t, d in DIALECTS.items()} == {
        Target.SEARCH: "SearchCriteria", Target.COQL: "CoqlWhere", Target.BULK: "BulkCriteria"}
    assert all(dialect_for(t.value).target is t for t in Target)
    assert [d.max_conditions for d in (SEARCH, COQL, BULK)] == [15, 25, 25]
    assert [d.max_joins for d in (SEARCH, COQL, BULK)] == [0, 5, 0]


@pytest.mark.parametrize(("when", "text"), [
    (AT, "2024-05-01T04:30:00+00:00"),
    (datetime(2024, 5, 1, 4, 30, tzinfo=UTC), "2024-05-01T04:30:00+00:00"),
    (datetime(2024, 5, 1, 4, 30), "2024-05-01T04:30:00+00:00"),  # naive is UTC, whatever the machine's zone
    (datetime(2024, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "2024-12-31T23:59:59+00:00"),  # whole seconds
    (datetime(2025, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), "2024-12-31T23:00:00+00:00"),
    (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05+00:00"),  # yyyy: four digits
])
def test_zoho_datetime_is_utc_whole_seconds_with_an_offset(when: datetime, text: str) -> None:
    assert zoho_datetime(when) == text


@given(st.datetimes(min_value=datetime(1, 1, 2), timezones=st.sampled_from([UTC, IST, timezone(timedelta(hours=-7))])))
def test_zoho_datetime_reads_back_as_the_same_second(when: datetime) -> None:
    back = datetime.fromisoformat(zoho_datetime(when))
    assert back == when.replace(microsecond=0)


# (dialect, kind, value, literal); None: the dialect cannot write it safely
LITERALS: list[tuple[Dialect, str, Any, Any]] = [
    (SEARCH, "text", "a(b),c\\", "a\\(b\\)\\,c\\\\"),
    (SEARCH, "text", "O'Brien", "O'Brien"),
    (SEARCH, "text", " padded", None),
    (SEARCH, "text", "", None),
    (SEARCH, "text", "tab\there", None),
    (SEARCH, "number", Decimal("1E+3"), "1000"),
    (SEARCH, "boolean", False, "false"),
    (SEARCH, "datetime", AT, "2024-05-01T04:30:00+00:00"),
    (SEARCH, "date", date(2024, 1, 2), "2024-01-02"),
    (SEARCH, "lookup_id", "5843104000000000001", "5843104000000000001"),
    (SEARCH, "lookup_id", "58431x", None),
    (COQL, "text", "it's", "'it''s'"),
    (COQL, "text", "back\\slash", None),
    (COQL, "picklist", "Web Download", "'Web Download'"),
    (COQL, "number", Decimal("10.50"), "10.50"),
    (COQL, "number", 7, "7"),
    (COQL, "boolean", True, "true"),
    (COQL, "datetime", AT, "'2024-05-01T04:30:00+00:00'"),
    (COQL, "date", date(2024, 1, 2), "'2024-01-02'"),
    (COQL, "id", "5843104000000000001", "5843104000000000001"),
    (COQL, "id", "1 or 1=1", None),
    (BULK, "text", "back\\slash", "back\\slash"),
    (BULK, "number", Decimal("10.50"), 10.5),
    (BULK, "number", Decimal("3"), 3),
    (BULK, "boolean", False, False),
    (BULK, "datetime", AT, "2024-05-01T04:30:00+00:00"),
    (BULK, "date", date(2024, 1, 2), "2024-01-02"),
    (BULK, "text", "line\nbreak", None),
]


@pytest.mark.parametrize(("dialect", "kind", "value", "literal"), LITERALS)
def test_literals(dialect: Dialect, kind: str, value: Any, literal: Any) -> None:
    assert dialect.literal(kind, value) == literal


# (dialect, field, op, literals, many, rendered)
CONDITIONS: list[tuple[Dialect, str, str, list[Any], bool, Any]] = [
    (SEARCH, "Email", "eq", ["a@b.com"], False, "(Email:equals:a@b.com)"),
    (SEARCH, "Lead_Source", "in", ["Web", "Chat"], True, "(Lead_Source:in:Web,Chat)"),
    (SEARCH, "Amount", "between", ["1", "5"], True, "(Amount:between:1,5)"),
    (SEARCH, "Owner", "ne", ["42"], False, "(Owner:not_equal:42)"),
    (COQL, "Email", "eq", ["'a@b.com'"], False, "Email = 'a@b.com'"),
    (COQL, "Amount", "not_between", ["1", "5"], True, "Amount not between 1 and 5"),
    (COQL, "Lead_Source", "not_in", ["'Web'", "'Chat'"], True, "Lead_Source not in ('Web', 'Chat')"),
    (COQL, "Created_Time", "ge", ["'2024-05-01T04:30:00+00:00'"], False, "Created_Time >= '2024-05-01T04:30:00+00:00'"),
    (BULK, "Email", "eq", ["a@b.com"], False, {"field": {"api_name": "Email"}, "comparator": "equal", "value": "a@b.com"}),
    (BULK, "Amount", "in", [1, 2], True, {"field": {"api_name": "Amount"}, "comparator": "in", "value": [1, 2]}),
    (BULK, "Closing_Date", "not_between", ["2024-01-01", "2024-02-01"], True,
     {"field": {"api_name": "Closing_Date"}, "comparator": "not_between", "value": ["2024-01-01", "2024-02-01"]}),
]


@pytest.mark.parametrize(("dialect", "name", "op", "values", "many", "rendered"), CONDITIONS)
def test_conditions(dialect: Dialect, name: str, op: str, values: list[Any], many: bool, rendered: Any) -> None:
    assert dialect.compare(name, op, values, many) == rendered


def test_null_checks_and_prefixes() -> None:
    assert COQL.null_check("Referrer", "not_null") == "Referrer is not null"
    assert BULK.null_check("Referrer", "is_null") == {"field": {"api_name": "Referrer"}, "comparator": "equal",
                                                      "value": "${EMPTY}"}
    assert not SEARCH.can("text", "is_null") and not SEARCH.can("number", "is_null")
    with pytest.raises(ValueError):
        SEARCH.null_check("Email", "is_null")
    assert SEARCH.starts_with("Last_Name", "Sm\\(") == "(Last_Name:starts_with:Sm\\()"
    assert COQL.starts_with("Last_Name", "'O''B'") == "Last_Name like 'O''B%'"
    assert BULK.starts_with("Last_Name", "Sm")["comparator"] == "starts_with"
    # COQL's like knows only %: the prefix stops before anything else that may be special
    assert [COQL.safe_prefix(p) for p in ("abc", "ab_c", "a %b", "a\\b")] == ["abc", "ab", "a", "a"]
    assert SEARCH.safe_prefix("ab_c") == BULK.safe_prefix("ab_c") == "ab_c"
    assert SEARCH.prefix_ignores_case and not COQL.prefix_ignores_case and not BULK.prefix_ignores_case


def _parts(dialect: Dialect, *values: Any) -> list[Pushed]:
    return [dialect.pushed(v, exact=True) for v in values]


def test_groups() -> None:
    assert SEARCH.combine("and", _parts(SEARCH, "(a:equals:1)", "(b:equals:2)", "(c:equals:3)")).value == \
        "(((a:equals:1)and(b:equals:2))and(c:equals:3))"
    assert COQL.combine("or", _parts(COQL, "a = 1", "b = 2", "c = 3")).value == "((a = 1 or b = 2) or c = 3)"
    inner = BULK.combine("and", _parts(BULK, {"x": 1}, {"y": 2}))
    flat = BULK.combine("and", [inner, BULK.pushed({"z": 3}, exact=False)])
    assert flat.value == {"group_operator": "and", "group": [{"x": 1}, {"y": 2}, {"z": 3}]}
    assert flat.conditions == 3 and not flat.exact
    mixed = BULK.combine("or", [inner, BULK.pushed({"z": 3}, exact=True)])
    assert mixed.value["group"][0] == inner.value  # an AND inside an OR stays a group
    single = COQL.combine("and", _parts(COQL, "a = 1"))
    assert single.value == "a = 1" and single.conditions == 1


@pytest.mark.parametrize(("kind", "op", "value", "exact"), [
    ("text", "eq", "x", False), ("picklist", "in", ("a",), False), ("lookup_name", "eq", "x", False),
    ("number", "eq", 1, True), ("number", "ne", 1, False), ("date", "not_between", (1, 2), False),
    ("datetime", "ge", AT, True), ("boolean", "eq", True, True), ("boolean", "eq", False, False),
    ("id", "ne", "1", True), ("lookup_id", "not_in", ("1",), False), ("lookup_id", "is_null", None, True),
])
def test_exactness_is_the_same_in_every_dialect(kind: str, op: str, value: Any, exact: bool) -> None:
    assert [d.exact(kind, op, value) for d in (SEARCH, COQL, BULK)] == [exact] * 3


def test_bulk_criteria_helpers() -> None:
    since = BULK.since("Modified_Time", AT)
    assert since == {"field": {"api_name": "Modified_Time"}, "comparator": "greater_equal",
                     "value": "2024-05-01T04:30:00+00:00"}
    assert BULK.before("Created_Time", AT)["comparator"] == "less_than"
    assert BULK.conjoin([None, since, None]) == since
    assert BULK.conjoin([]) is None
    both = BULK.conjoin([{"group_operator": "and", "group": [since, since]}, since])
    assert both is not None and BULK.conditions(both) == 3 and len(both["group"]) == 3
    assert BULK.conditions({"group_operator": "or", "group": [since, {"group_operator": "and",
                                                                       "group": [since, since]}]}) == 3
    assert BULK.conditions(None) == 0


def test_coql_statements() -> None:
    q = CoqlQuery("Leads", ("id", "Email"), ("Lead_Source = 'Web'",))
    assert q.text() == "select id, Email from Leads where Lead_Source = 'Web' order by id asc"
    page = CoqlQuery("Leads", ("id",), ("a = 1", "b = 2"), after_id="58", upto_id="99", limit=2000)
    assert page.text() == ("select id from Leads where ((((a = 1) and (b = 2)) and (id > 58)) and (id <= 99)) "
                           "order by id asc limit 2000")
    assert CoqlQuery("Deals", ("id",), order_by=(("Created_Time", False), ("id", True)), limit=5).text() == \
        "select id from Deals where id is not null order by Created_Time desc, id asc limit 5"
    assert CoqlQuery("Accounts", ("id", "Account_Name"), ("id in (1, 2)",), order_by=(), limit=100).text() == \
        "select id, Account_Name from Accounts where id in (1, 2) limit 100"
    assert CoqlQuery("Leads", limit=1, offset=99_999).text().endswith("limit 1 offset 99999")
    assert count_statement("Deals") == "select COUNT(id) from Deals where id is not null"
    assert count_statement("Deals", "(Amount > 5 and Stage = 'Won')") == \
        "select COUNT(id) from Deals where (Amount > 5 and Stage = 'Won')"
    assert conjoin([]) == "" and conjoin(["a", ""]) == "a" and conjoin(["a", "b"]) == "((a) and (b))"
    with pytest.raises(ValueError):
        CoqlQuery("Leads", after_id="1 or 1=1").text()
    with pytest.raises(ValueError):
        digits("-5")


def test_coql_time_conditions_and_the_boundary_clause() -> None:
    assert COQL.at_or_after("Modified_Time", AT) == "Modified_Time >= '2024-05-01T04:30:00+00:00'"
    assert COQL.at("Modified_Time", AT) == "Modified_Time = '2024-05-01T04:30:00+00:00'"
    assert COQL.before("Created_Time", AT) == "Created_Time < '2024-05-01T04:30:00+00:00'"
    ids = [str(5843104000000000000 + i) for i in range(150)]
    clause = COQL.not_taken_at(AT, ids)
    assert clause.startswith("(Modified_Time > '2024-05-01T04:30:00+00:00') or (((id not in (")
    assert clause.count("id not in") == 2 and clause.count(",") == 148  # 100 + 50 ids
    assert COQL.not_taken_at(AT, ids[:1]) == \
        "(Modified_Time > '2024-05-01T04:30:00+00:00') or (id not in (5843104000000000000))"


def test_list_api_header_and_ids() -> None:
    # If-Modified-Since means "strictly after": one second earlier keeps the bound inclusive
    assert list_api.if_modified_since(AT) == "2024-05-01T04:29:59+00:00"
    assert list_api.ids_param(["1", "2"]) == "1,2"
    with pytest.raises(ValueError):
        list_api.ids_param([str(i) for i in range(101)])
