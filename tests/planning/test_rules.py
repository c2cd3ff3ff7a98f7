"""Table-driven: WHERE clause -> Search criteria / COQL WHERE / Bulk criteria, for every rule.

``None`` means nothing was pushed to that target (DuckDB filters alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from connector.planning import plan_query

from .conftest import resolve

REF = "5843104000000000001"


def bulk(field_name: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"field": {"api_name": field_name}, "comparator": comparator, "value": value}


def group(op: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"group_operator": op, "group": list(items)}


@dataclass
class Case:
    where: str
    search: str | None
    coql: str | None
    bulk: Any
    exact: bool | dict[str, bool] = False
    module: str = "Leads"
    params: Any = None
    id: str = field(default="")


CASES = [
    # equals: text is never exact (Zoho may ignore case); quotes, commas, parentheses, backslashes, unicode
    Case("Last_Name = 'Smith'", "(Last_Name:equals:Smith)", "Last_Name = 'Smith'",
         bulk("Last_Name", "equal", "Smith")),
    Case("Last_Name = 'O''Brien'", "(Last_Name:equals:O'Brien)", "Last_Name = 'O''Brien'",
         bulk("Last_Name", "equal", "O'Brien")),
    Case("Company = 'Acme (US), Inc\\'", "(Company:equals:Acme \\(US\\)\\, Inc\\\\)", None,
         bulk("Company", "equal", "Acme (US), Inc\\")),
    Case("City = 'Zürich'", "(City:equals:Zürich)", "City = 'Zürich'", bulk("City", "equal", "Zürich")),
    Case("'Smith' = Last_Name", "(Last_Name:equals:Smith)", "Last_Name = 'Smith'",
         bulk("Last_Name", "equal", "Smith")),
    Case("Last_Name = ''", None, None, None),
    Case("Last_Name = ' padded'", None, None, None),
    Case("Last_Name = ?", "(Last_Name:equals:Smith)", "Last_Name = 'Smith'", bulk("Last_Name", "equal", "Smith"),
         params=["Smith"]),
    Case("Last_Name = $name", "(Last_Name:equals:Lee)", "Last_Name = 'Lee'", bulk("Last_Name", "equal", "Lee"),
         params={"name": "Lee"}),
    # negations: never on text; numbers push but are not exact (Zoho may keep empty values)
    Case("Last_Name <> 'x'", None, None, None),
    Case("NOT (Last_Name = 'x')", None, None, None),
    Case("No_of_Employees != 5", "(No_of_Employees:not_equal:5)", "No_of_Employees != 5",
         bulk("No_of_Employees", "not_equal", 5)),
    Case("Referrer_Id <> '" + REF + "'", f"(Referrer:not_equal:{REF})", f"Referrer != {REF}",
         bulk("Referrer", "not_equal", REF)),
    # starts_with: LIKE prefix, ESCAPE, % and _ inside the literal, ILIKE only to search
    Case("Last_Name LIKE 'Sm%'", "(Last_Name:starts_with:Sm)", "Last_Name like 'Sm%'",
         bulk("Last_Name", "starts_with", "Sm")),
    Case("Last_Name LIKE 'a\\_b%' ESCAPE '\\'", "(Last_Name:starts_with:a_b)", "Last_Name like 'a%'",
         bulk("Last_Name", "starts_with", "a_b")),
    Case("Last_Name LIKE '50!%%' ESCAPE '!'", "(Last_Name:starts_with:50%)", "Last_Name like '50%'",
         bulk("Last_Name", "starts_with", "50%")),
    Case("Last_Name LIKE 'a\\b%'", "(Last_Name:starts_with:a\\\\b)", "Last_Name like 'a%'",
         bulk("Last_Name", "starts_with", "a\\b")),
    Case("Last_Name LIKE 'a_c%'", "(Last_Name:starts_with:a)", "Last_Name like 'a%'",
         bulk("Last_Name", "starts_with", "a")),
    Case("Last_Name LIKE 'O''B(r),%'", "(Last_Name:starts_with:O'B\\(r\\)\\,)", "Last_Name like 'O''B(r),%'",
         bulk("Last_Name", "starts_with", "O'B(r),")),
    Case("Last_Name LIKE 'Zoë%'", "(Last_Name:starts_with:Zoë)", "Last_Name like 'Zoë%'",
         bulk("Last_Name", "starts_with", "Zoë")),
    Case("Last_Name LIKE '%son'", None, None, None),
    Case("Last_Name LIKE '_son%'", None, None, None),
    Case("Last_Name LIKE 'Smith'", "(Last_Name:equals:Smith)", "Last_Name = 'Smith'",
         bulk("Last_Name", "equal", "Smith")),
    Case("Last_Name ILIKE 'sm%'", "(Last_Name:starts_with:sm)", None, None),
    Case("Last_Name NOT LIKE 'Sm%'", None, None, None),
    Case("Lead_Status LIKE 'Con%'", None, "Lead_Status like 'Con%'", bulk("Lead_Status", "starts_with", "Con")),
    # IN: picklists, lookups, > 100 values split into chunks of 100
    Case("Lead_Status IN ('New', 'Contacted')", "(Lead_Status:in:New,Contacted)",
         "Lead_Status in ('New', 'Contacted')", bulk("Lead_Status", "in", ["New", "Contacted"])),
    Case("Lead_Status IN ('New', NULL)", "(Lead_Status:equals:New)", "Lead_Status = 'New'",
         bulk("Lead_Status", "equal", "New")),
    Case("Lead_Status NOT IN ('New', 'Lost')", None, None, None),
    Case("No_of_Employees NOT IN (1, 2)", None, "No_of_Employees not in (1, 2)",
         bulk("No_of_Employees", "not_in", [1, 2])),
    Case("No_of_Employees NOT IN (1, NULL)", None, None, None),
    Case("Referrer_Id IN ('" + REF + "', 'junk')", f"(Referrer:equals:{REF})", f"Referrer = {REF}",
         bulk("Referrer", "equal", REF), exact=True),
    Case("No_of_Employees IN (" + ", ".join(map(str, range(150))) + ")",
         "((No_of_Employees:in:" + ",".join(map(str, range(100))) + ")or(No_of_Employees:in:"
         + ",".join(map(str, range(100, 150))) + "))",
         "(No_of_Employees in (" + ", ".join(map(str, range(100))) + ") or No_of_Employees in ("
         + ", ".join(map(str, range(100, 150))) + "))",
         group("or", bulk("No_of_Employees", "in", list(range(100))),
               bulk("No_of_Employees", "in", list(range(100, 150)))), exact=True),
    # comparisons: integers, currency scale, dates, datetimes with and without zone
    Case("No_of_Employees > 5.5", "(No_of_Employees:greater_equal:6)", "No_of_Employees >= 6",
         bulk("No_of_Employees", "greater_equal", 6), exact=True),
    Case("5 < No_of_Employees", "(No_of_Employees:greater_than:5)", "No_of_Employees > 5",
         bulk("No_of_Employees", "greater_than", 5), exact=True),
    Case("No_of_Employees = 5.5", None, None, None),
    Case("Annual_Revenue > 10.555", "(Annual_Revenue:greater_equal:10.56)", "Annual_Revenue >= 10.56",
         bulk("Annual_Revenue", "greater_equal", 10.56), exact=True),
    Case("Annual_Revenue BETWEEN 100 AND 200", "(Annual_Revenue:between:100,200)",
         "Annual_Revenue between 100 and 200",
         group("and", bulk("Annual_Revenue", "greater_equal", 100), bulk("Annual_Revenue", "less_equal", 200)),
         exact=True),
    Case("Annual_Revenue BETWEEN 200 AND 100", None, None, None),
    Case("Trial_Start BETWEEN '2024-01-01' AND DATE '2024-01-31'", "(Trial_Start:between:2024-01-01,2024-01-31)",
         "Trial_Start between '2024-01-01' and '2024-01-31'",
         bulk("Trial_Start", "between", ["2024-01-01", "2024-01-31"]), exact=True),
    Case("Created_Time >= TIMESTAMP '2024-05-01 10:00:00'",
         "(Created_Time:greater_equal:2024-05-01T10:00:00+00:00)",
         "Created_Time >= '2024-05-01T10:00:00+00:00'",
         bulk("Created_Time", "greater_equal", "2024-05-01T10:00:00+00:00"), exact=True),
    Case("Created_Time < '2024-05-01T10:00:00+05:30'", "(Created_Time:less_than:2024-05-01T04:30:00+00:00)",
         "Created_Time < '2024-05-01T04:30:00+00:00'",
         bulk("Created_Time", "less_than", "2024-05-01T04:30:00+00:00"), exact=True),
    Case("Created_Time > TIMESTAMPTZ '2024-05-01 10:00:00.5+00'",
         "(Created_Time:greater_equal:2024-05-01T10:00:01+00:00)", "Created_Time >= '2024-05-01T10:00:01+00:00'",
         bulk("Created_Time", "greater_equal", "2024-05-01T10:00:01+00:00"), exact=True),
    Case("Created_Time = TIMESTAMPTZ '2024-05-01 10:00:00.5+00'", None, None, None),
    # NULL checks and comparisons with NULL
    Case("Email IS NULL", None, "Email is null", bulk("Email", "equal", "${EMPTY}")),
    Case("Email IS NOT NULL", None, None, None),
    Case("No_of_Employees IS NOT NULL", None, "No_of_Employees is not null",
         bulk("No_of_Employees", "not_equal", "${EMPTY}"), exact=True),
    Case("No_of_Employees = NULL", None, None, None),
    Case("No_of_Employees BETWEEN NULL AND 5", None, None, None),
    # booleans
    Case("GDPR_Consent", "(GDPR_Consent:equals:true)", "GDPR_Consent = true", bulk("GDPR_Consent", "equal", True),
         exact=True),
    Case("NOT GDPR_Consent", "(GDPR_Consent:equals:false)", "GDPR_Consent = false",
         bulk("GDPR_Consent", "equal", False)),
    Case("GDPR_Consent <> TRUE", "(GDPR_Consent:equals:false)", "GDPR_Consent = false",
         bulk("GDPR_Consent", "equal", False)),
    # lookups: by id everywhere, by name only through COQL's dot notation to a known display field
    Case(f"Referrer_Id = '{REF}'", f"(Referrer:equals:{REF})", f"Referrer = {REF}", bulk("Referrer", "equal", REF),
         exact=True),
    Case("Referrer_Id = 'not-an-id'", None, None, None),
    Case("Referrer_Name = 'Ann Lee'", None, "Referrer.Full_Name = 'Ann Lee'", None),
    Case("Owner_Name LIKE 'Jan%'", None, "Owner.full_name like 'Jan%'", None),
    Case("Layout_Id = '5843104000000091055'", None, None, None),
    Case("Account_Name_Name = 'Acme'", None, "Account_Name.Account_Name = 'Acme'", None, module="Contacts"),
    Case("What_Id_Id = '" + REF + "'", None, None, None, module="Tasks"),
    # what no target can filter: textarea, multi-select, JSON; formula only through COQL; id only through COQL
    Case("Description = 'x'", None, None, None),
    Case("list_contains(Interests, 'A')", None, None, None),
    Case("Days_Open > 3", None, "Days_Open > 3", None, exact=True),
    Case(f"id = '{REF}'", None, f"id = {REF}", None, exact=True),
    Case(f"id IN ('{REF}', 5843104000000000002)", None, f"id in ({REF}, 5843104000000000002)", None, exact=True),
    # AND drops what it cannot push; OR is all or nothing; NOT is pushed down to the leaves
    Case("Last_Name = 'a' AND lower(Email) = 'x'", "(Last_Name:equals:a)", "Last_Name = 'a'",
         bulk("Last_Name", "equal", "a")),
    Case("Last_Name = 'a' OR lower(Email) = 'x'", None, None, None),
    Case("Last_Name = 'a' OR No_of_Employees > 5", "((Last_Name:equals:a)or(No_of_Employees:greater_than:5))",
         "(Last_Name = 'a' or No_of_Employees > 5)",
         group("or", bulk("Last_Name", "equal", "a"), bulk("No_of_Employees", "greater_than", 5))),
    Case("(No_of_Employees > 1 OR Email IS NULL) AND Annual_Revenue > 0", "(Annual_Revenue:greater_than:0)",
         "((No_of_Employees > 1 or Email is null) and Annual_Revenue > 0)",
         group("and", group("or", bulk("No_of_Employees", "greater_than", 1), bulk("Email", "equal", "${EMPTY}")),
               bulk("Annual_Revenue", "greater_than", 0)), exact=False),
    Case("NOT (No_of_Employees < 5 OR Annual_Revenue > 10)",
         "((No_of_Employees:greater_equal:5)and(Annual_Revenue:less_equal:10))",
         "(No_of_Employees >= 5 and Annual_Revenue <= 10)",
         group("and", bulk("No_of_Employees", "greater_equal", 5), bulk("Annual_Revenue", "less_equal", 10)),
         exact=True),
    Case("No_of_Employees > 1 AND No_of_Employees < 9 AND Annual_Revenue > 0",
         "(((No_of_Employees:greater_than:1)and(No_of_Employees:less_than:9))and(Annual_Revenue:greater_than:0))",
         "((No_of_Employees > 1 and No_of_Employees < 9) and Annual_Revenue > 0)",
         group("and", bulk("No_of_Employees", "greater_than", 1), bulk("No_of_Employees", "less_than", 9),
               bulk("Annual_Revenue", "greater_than", 0)), exact=True),
]


def _filters(case: Case) -> dict[str, Any]:
    plan = plan_query(f"SELECT * FROM {case.module} WHERE {case.where}", case.params, resolve)
    return dict(plan.scans[0].filters)


@pytest.mark.parametrize("case", CASES, ids=[c.where[:60] for c in CASES])
def test_pushdown_per_target(case: Case) -> None:
    filters = _filters(case)
    got = {t: (f.value if filters else None) for t, f in filters.items()} or dict.fromkeys(("Search", "COQL", "Bulk"))
    assert got == {"Search": case.search, "COQL": case.coql, "Bulk": case.bulk}
    for target, f in filters.items():
        if f.value is not None:
            want = case.exact if isinstance(case.exact, bool) else case.exact[target]
            assert f.exact is want, target


def _conjuncts(n: int) -> str:
    return " AND ".join(f"No_of_Employees <> {i}" for i in range(n))


def test_search_keeps_15_conditions_coql_and_bulk_25() -> None:
    filters = _filters(Case(_conjuncts(30), None, None, None))
    assert [filters[t].conditions for t in ("Search", "COQL", "Bulk")] == [15, 25, 25]
    assert filters["Search"].pushed == (True,) * 15 + (False,) * 15
    assert not any(f.exact for f in filters.values())
    assert filters["COQL"].value.count("(") == 24  # every pair grouped: 25 conditions, 24 groups


def test_a_big_conjunct_is_skipped_and_a_later_small_one_still_fits() -> None:
    big = "No_of_Employees IN (" + ", ".join(map(str, range(1_600))) + ")"  # 16 chunks of 100
    filters = _filters(Case(f"{big} AND Last_Name = 'x'", None, None, None))
    assert filters["Search"].pushed == (False, True) and filters["Search"].value == "(Last_Name:equals:x)"
    assert filters["COQL"].pushed == (True, True)


def test_coql_follows_at_most_five_lookups() -> None:
    names = ["Owner_Name", "Created_By_Name", "Modified_By_Name", "Referrer_Name", "Converted_Account_Name",
             "Converted_Contact_Name", "Converted_Deal_Name"]
    filters = _filters(Case(" AND ".join(f"{n} = 'x'" for n in names), None, None, None))
    assert filters["COQL"].pushed == (True,) * 5 + (False,) * 2
    assert filters["COQL"].value.count(".") == 5
