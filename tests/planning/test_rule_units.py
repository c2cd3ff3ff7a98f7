"""Each rule function on its own, the shared target tables, and renderers under random input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.planning.predicates import And, Opaque, Or, Pred
from connector.planning.rules import RULES, make_context, push_filter
from connector.planning.rules.base import RuleContext, Target, column_kind, combine, condition
from connector.planning.rules.boolean import push_boolean
from connector.planning.rules.comparison import push_comparison
from connector.planning.rules.equals import push_equals
from connector.planning.rules.in_list import push_in_list
from connector.planning.rules.is_null import push_is_null
from connector.planning.rules.starts_with import like_prefix, push_starts_with
from connector.readers.dialects import dialect_for

from .conftest import TABLES
from .zoho_model import ZohoModel

LEADS = TABLES["Leads"]
CTX = make_context(LEADS, {"Contacts": "Full_Name", "Accounts": "Account_Name"}.get)
S, C, B = Target.SEARCH, Target.COQL, Target.BULK


def col(name: str):  # noqa: ANN201 - a Column
    return LEADS.by_name[name]


@pytest.mark.parametrize(("pattern", "escape", "expected"), [
    ("abc%", None, ("abc", True)),
    ("abc", None, ("abc", False)),
    ("a_c%", None, ("a", True)),
    ("%abc", None, ("", True)),
    ("a\\_b%", "\\", ("a_b", True)),
    ("a\\_b%", None, ("a\\", True)),  # DuckDB has no default escape character
    ("50!%!!%", "!", ("50%!", True)),
    ("ab!", "!", None),  # ends in the escape character
    ("", None, ("", False)),
    ("Zoë%", None, ("Zoë", True)),
])
def test_like_prefix(pattern: str, escape: str | None, expected: tuple[str, bool] | None) -> None:
    assert like_prefix(pattern, escape) == expected


@pytest.mark.parametrize(("column", "kinds"), [
    ("id", (None, "id", None)),
    ("Last_Name", ("text", "text", "text")),
    ("Email", ("text", "text", "text")),
    ("Lead_Status", ("picklist", "picklist", "picklist")),
    ("Lead_Code", ("picklist", "picklist", "picklist")),
    ("No_of_Employees", ("number", "number", "number")),
    ("Annual_Revenue", ("number", "number", "number")),
    ("Trial_Start", ("date", "date", "date")),
    ("Created_Time", ("datetime", "datetime", "datetime")),
    ("GDPR_Consent", ("boolean", "boolean", "boolean")),
    ("Referrer_Id", ("lookup_id", "lookup_id", "lookup_id")),
    ("Referrer_Name", ("lookup_name", "lookup_name", "lookup_name")),
    ("Layout_Id", (None, None, None)),
    ("Description", (None, None, None)),  # textarea, searchable=False
    ("Interests", (None, None, None)),  # multi-select
    ("Days_Open", (None, "number", None)),  # formula: COQL only
    ("Record_Image", (None, None, None)),
])
def test_column_kinds(column: str, kinds: tuple[str | None, str | None, str | None]) -> None:
    got = tuple(column_kind(col(column), t, CTX) for t in (S, C, B))
    # "id" has no Search/Bulk capability even though the kind is known
    assert tuple(k if k is None or k != "id" or t is C else None for k, t in zip(got, (S, C, B), strict=True)) \
        == kinds


@pytest.mark.parametrize(("target", "kind", "value", "expected"), [
    (S, "text", "a(b),c\\", "a\\(b\\)\\,c\\\\"),
    (C, "text", "it's", "'it''s'"),
    (C, "text", "back\\slash", None),
    (B, "text", "back\\slash", "back\\slash"),
    (S, "text", "line\nbreak", None),
    (S, "text", "", None),
    (C, "number", Decimal("1E+3"), "1000"),
    (B, "number", Decimal("10.50"), 10.5),
    (B, "number", 7, 7),
    (S, "boolean", True, "true"),
    (B, "boolean", False, False),
    (C, "date", date(2024, 1, 2), "'2024-01-02'"),
    (S, "datetime", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05+00:00"),
    (C, "lookup_id", "123", "123"),
    (C, "lookup_id", "12a", None),
])
def test_format_value(target: Target, kind: str, value: object, expected: object) -> None:
    assert dialect_for(target).literal(kind, value) == expected


def test_equals_rule_alone() -> None:
    p = push_equals(Pred(col("Email"), "eq", "a@b.com"), S, CTX)
    assert p is not None and p.value == "(Email:equals:a@b.com)" and not p.exact
    assert push_equals(Pred(col("Email"), "ne", "a@b.com"), C, CTX) is None
    assert push_equals(Pred(col("No_of_Employees"), "lt", 1), C, CTX) is None  # not this rule's op
    ne = push_equals(Pred(col("No_of_Employees"), "ne", 3), B, CTX)
    assert ne is not None and ne.value["comparator"] == "not_equal" and not ne.exact


def test_starts_with_rule_alone() -> None:
    like = Pred(col("Last_Name"), "like", "a\\%b_%", "\\")
    assert push_starts_with(like, S, CTX).value == "(Last_Name:starts_with:a%b)"  # type: ignore[union-attr]
    assert push_starts_with(like, C, CTX).value == "Last_Name like 'a%'"  # type: ignore[union-attr]
    assert push_starts_with(like, B, CTX).value["value"] == "a%b"  # type: ignore[index,union-attr]
    assert push_starts_with(Pred(col("Last_Name"), "like", "%x"), C, CTX) is None
    assert push_starts_with(Pred(col("Last_Name"), "ilike", "x%"), B, CTX) is None
    assert push_starts_with(Pred(col("Last_Name"), "not_like", "x%"), S, CTX) is None
    assert push_starts_with(Pred(col("Lead_Status"), "like", "Ne%"), S, CTX) is None  # picklists: no starts_with


def test_in_list_rule_alone() -> None:
    many = Pred(col("No_of_Employees"), "in", tuple(range(250)))
    got = push_in_list(many, C, CTX)
    assert got is not None and got.conditions == 3 and got.exact and got.value.count(" or ") == 2
    assert push_in_list(Pred(col("No_of_Employees"), "not_in", (1, 2)), S, CTX) is None  # Search has no not_in
    not_in = push_in_list(Pred(col("No_of_Employees"), "not_in", tuple(range(101))), B, CTX)
    assert not_in is not None and not_in.value["group_operator"] == "and"
    assert [len(g["value"]) if isinstance(g["value"], list) else 1 for g in not_in.value["group"]] == [100, 1]


def test_comparison_rule_alone() -> None:
    between = Pred(col("No_of_Employees"), "between", (1, 5))
    assert push_comparison(between, S, CTX).value == "(No_of_Employees:between:1,5)"  # type: ignore[union-attr]
    bulk = push_comparison(between, B, CTX)
    assert bulk is not None and bulk.value["group_operator"] == "and" and bulk.exact
    outside = push_comparison(Pred(col("No_of_Employees"), "not_between", (1, 5)), B, CTX)
    assert outside is not None and outside.value["group_operator"] == "or" and outside.exact  # < or >: exact
    assert push_comparison(Pred(col("Last_Name"), "gt", "a"), C, CTX) is None


def test_is_null_rule_alone() -> None:
    assert push_is_null(Pred(col("Email"), "is_null"), S, CTX) is None
    assert push_is_null(Pred(col("Email"), "not_null"), C, CTX) is None
    got = push_is_null(Pred(col("Referrer_Id"), "not_null"), C, CTX)
    assert got is not None and got.value == "Referrer is not null" and got.exact


def test_boolean_rule_alone() -> None:
    only_equals = RuleContext(LEADS, (push_boolean, push_equals))
    a, b = Pred(col("No_of_Employees"), "eq", 1), Pred(col("Annual_Revenue"), "gt", Decimal(5))
    assert push_boolean(Or((a, b)), C, only_equals) is None  # b needs the comparison rule
    got = push_boolean(And((a, b)), C, only_equals)
    assert got is not None and got.value == "No_of_Employees = 1" and not got.exact
    full = push_boolean(Or((a, b, Opaque("x"))), C, CTX)
    assert full is None
    nested = push_boolean(Or((a, And((b, Opaque("x"))))), C, CTX)
    assert nested is not None and nested.value == "(No_of_Employees = 1 or Annual_Revenue > 5)"
    assert not nested.exact


def test_rules_are_listed_in_one_tuple() -> None:
    assert RULES == (push_boolean, push_is_null, push_equals, push_starts_with, push_in_list, push_comparison)


def test_combine_flattens_bulk_groups_and_nests_coql_pairs() -> None:
    parts = [condition(C, CTX, col("No_of_Employees"), "eq", i) for i in range(3)]
    assert combine(C, "and", [p for p in parts if p]).value == \
        "((No_of_Employees = 0 and No_of_Employees = 1) and No_of_Employees = 2)"
    bparts = [condition(B, CTX, col("No_of_Employees"), "eq", i) for i in range(3)]
    inner = combine(B, "and", [p for p in bparts[:2] if p])
    assert len(combine(B, "and", [inner, bparts[2]]).value["group"]) == 3  # type: ignore[list-item]


def test_push_filter_with_nothing_to_push() -> None:
    f = push_filter([Opaque("x")], C, CTX)
    assert f.value is None and f.pushed == (False,) and not f.exact
    assert push_filter([], S, CTX).exact


# ---- random predicates: renderers never raise and always write their own grammar -----------------

_VALUES = {
    "string": st.text(min_size=0, max_size=6), "int": st.integers(-10**6, 10**6),
    "dec": st.decimals(min_value=-10**6, max_value=10**6, places=2), "bool": st.booleans(),
    "date": st.dates(), "ts": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
    "digits": st.from_regex(r"[0-9]{1,19}", fullmatch=True),
}
_COLUMN_VALUES = {"Last_Name": "string", "Email": "string", "Lead_Status": "string", "No_of_Employees": "int",
                  "Annual_Revenue": "dec", "GDPR_Consent": "bool", "Trial_Start": "date", "Created_Time": "ts",
                  "Referrer_Id": "digits", "Referrer_Name": "string", "id": "digits", "Description": "string"}
_OPS = ["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between", "not_between", "is_null", "not_null",
        "like", "ilike", "not_like"]


@st.composite
def preds(draw: st.DrawFn) -> Pred:
    name = draw(st.sampled_from(sorted(_COLUMN_VALUES)))
    values = _VALUES[_COLUMN_VALUES[name]]
    op = draw(st.sampled_from(_OPS))
    if op in ("in", "not_in"):
        return Pred(col(name), op, tuple(draw(st.lists(values, min_size=2, max_size=120, unique=True))))
    if op in ("between", "not_between"):
        return Pred(col(name), op, tuple(sorted(draw(st.lists(values, min_size=2, max_size=2)))))
    if op in ("is_null", "not_null"):
        return Pred(col(name), op)
    if op in ("like", "ilike", "not_like"):
        return Pred(col("Last_Name"), op, draw(st.text(alphabet="ab%_\\!(),'", max_size=8)),
                    draw(st.sampled_from([None, "\\", "!"])))
    return Pred(col(name), op, draw(values))


@given(st.lists(preds(), min_size=1, max_size=30), st.sampled_from(list(Target)))
def test_renderers_never_raise_and_stay_in_grammar(units: list[Pred], target: Target) -> None:
    f = push_filter(units, target, CTX)
    if f.value is None:
        return
    model = ZohoModel(LEADS, case_insensitive=target is S)
    if target is S:
        model.search(f.value)
    elif target is C:
        model.coql(f.value)
    else:
        model.bulk(f.value)
    assert model.conditions == f.conditions <= {S: 15, C: 25, B: 25}[target]
    assert model.max_in <= 100
