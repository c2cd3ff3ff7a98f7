"""The differential query set: every pushable filter kind, LIKE escaping, unicode, NULLs, lookups,
ORDER/LIMIT, aggregates, windows, joins and subqueries.

Each query runs through the engine and through plain DuckDB over the export
(tests/engine/conftest.py ``Truth``); the rows must be equal. Floats from
aggregates are rounded in SQL (summation order is not defined), and time
dependent formula columns (Leads.Days_Open) are never selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Q:
    id: str
    sql: str
    modules: tuple[str, ...] = ("Leads",)
    ordered: bool = False  # the query orders its rows totally (compare as lists)
    params: Any = None  # values, or a function of the Truth giving them (ids from the export)


def owner_id(truth: Any) -> list[str]:
    truth.load("Leads")
    return [str(truth.exports["Leads"][0]["Owner"]["id"])]


def account_id(truth: Any) -> dict[str, str]:
    truth.load("Contacts")
    ids = [c["Account_Name"]["id"] for c in truth.exports["Contacts"] if isinstance(c.get("Account_Name"), dict)]
    return {"acct": str(ids[0])}


L = "SELECT id, Email, Company, Lead_Source, City FROM Leads"

QUERIES: list[Q] = [
    # equals / not equals / IN / NOT IN on a picklist
    Q("eq-picklist", f"{L} WHERE Lead_Source = 'Partner'"),
    Q("ne-picklist", f"{L} WHERE Lead_Source <> 'Partner'"),
    Q("in-list", f"{L} WHERE Lead_Source IN ('Chat', 'Trade Show', 'Cold Call')"),
    Q("not-in-list", f"{L} WHERE Lead_Source NOT IN ('Chat', 'Trade Show')"),
    # NULLs
    Q("is-null", f"{L} WHERE Annual_Revenue IS NULL"),
    Q("null-or-value", f"{L} WHERE City IS NULL OR City = 'Zürich'"),
    # comparisons on numbers, currency, dates and datetimes
    Q("between-int", "SELECT id, No_of_Employees FROM Leads WHERE No_of_Employees BETWEEN 50000 AND 120000"),
    Q("currency-ge", "SELECT id, Annual_Revenue FROM Leads WHERE Annual_Revenue IS NOT NULL AND "
                     "Annual_Revenue >= 250000000.5"),
    Q("datetime-range", "SELECT id, Created_Time FROM Leads WHERE Created_Time >= TIMESTAMPTZ "
                        "'2024-09-01 00:00:00+00' AND Created_Time < '2025-01-01'"),
    Q("modified-since", "SELECT id, Modified_Time FROM Leads WHERE Modified_Time >= ?",
      params=[datetime(2025, 3, 1, tzinfo=UTC)]),
    Q("date-gt", "SELECT id, Last_Contacted_On FROM Leads WHERE Last_Contacted_On > DATE '2025-01-15'"),
    Q("boolean", "SELECT id, Converted__s, Email_Opt_Out FROM Leads WHERE Converted__s AND NOT Email_Opt_Out"),
    # LIKE: prefixes, quotes, unicode, wildcards and escapes
    Q("starts-with-quote", f"{L} WHERE Company LIKE 'Zoë''s%'"),
    Q("starts-with-unicode", f"{L} WHERE City LIKE 'Kra%' OR starts_with(City, 'Zü')"),
    Q("like-underscore-wildcard", "SELECT id, Record_Image FROM Leads WHERE Record_Image LIKE 'ph_0000002_'"),
    Q("like-escaped-percent", f"{L} WHERE Company LIKE '100\\%%' ESCAPE '\\'"),
    Q("like-escaped-underscore", f"{L} WHERE Company LIKE 'Under\\_%' ESCAPE '\\'"),
    Q("like-contains", f"{L} WHERE Email LIKE '%acme%'"),
    Q("ilike", f"{L} WHERE Email ILIKE 'JOHN%'"),
    Q("search-escapes", f"{L} WHERE Company IN ('Smith (UK), Ltd', 'Back\\slash & Co')"),
    Q("unicode-equals", "SELECT id, Last_Name, City FROM Leads WHERE City = 'São Paulo' AND Last_Name <> 'Paren'"),
    # AND / OR trees
    Q("or-tree", f"{L} WHERE Lead_Source = 'Partner' OR (Lead_Score > 400 AND City = 'Seoul')"),
    Q("not-or", f"{L} WHERE NOT (Lead_Source = 'Chat' OR Lead_Source IS NULL) AND Lead_Score < 100"),
    # multi-select picklists
    Q("multiselect", "SELECT id, Interests FROM Leads WHERE list_contains(Interests, 'Email, SMS & Chat')"),
    # lookups: _Id and _Name, and parameters
    Q("lookup-id-param", "SELECT id, Owner_Id, Owner_Name FROM Leads WHERE Owner_Id = ?", params=owner_id),
    Q("lookup-name", "SELECT id, Owner_Name FROM Leads WHERE Owner_Name = 'Zoë Ångström'"),
    Q("lookup-name-like", "SELECT id, Account_Name_Id, Account_Name_Name FROM Contacts "
                          "WHERE Account_Name_Name LIKE '株式会社%'", ("Contacts",)),
    Q("lookup-named-param", "SELECT id, Full_Name FROM Contacts WHERE Account_Name_Id = :acct",
      ("Contacts",), params=account_id),
    # ORDER BY / LIMIT
    Q("order-limit", "SELECT id, Email FROM Leads ORDER BY id LIMIT 7", ordered=True),
    Q("order-desc-limit", "SELECT id, Created_Time FROM Leads WHERE Lead_Source = 'Chat' "
                          "ORDER BY Created_Time DESC, id LIMIT 5", ordered=True),
    Q("limit-offset", "SELECT id, Modified_Time FROM Leads ORDER BY Modified_Time, id LIMIT 10 OFFSET 3",
      ordered=True),
    # aggregates, COUNT(*) and windows
    Q("count-star", "SELECT count(*) AS n FROM Leads"),
    Q("count-filtered", "SELECT count(*) FROM Leads WHERE Lead_Source = 'Chat'"),
    Q("group-by", "SELECT Lead_Source, count(*) AS n, sum(Annual_Revenue) AS revenue, "
                  "round(avg(Lead_Score), 6) AS score FROM Leads GROUP BY Lead_Source"),
    Q("having", "SELECT City, count(*) AS n FROM Leads GROUP BY City HAVING count(*) > 20 ORDER BY n DESC, City",
      ordered=True),
    Q("window", "SELECT id, Lead_Source, row_number() OVER (PARTITION BY Lead_Source ORDER BY id) AS rn "
                "FROM Leads QUALIFY rn <= 2"),
    # joins across modules, outer joins, subqueries, a CTE read twice
    Q("join-accounts", "SELECT c.id, c.Full_Name, a.Account_Name, a.Industry FROM Contacts c "
                       "JOIN Accounts a ON c.Account_Name_Id = a.id WHERE a.Industry = 'ManagementISV'",
      ("Contacts", "Accounts")),
    Q("join-three", "SELECT d.Stage, count(*) AS deals, sum(d.Amount) AS amount FROM Deals d "
                    "JOIN Contacts c ON d.Contact_Name_Id = c.id JOIN Accounts a ON d.Account_Name_Id = a.id "
                    "WHERE d.Stage LIKE 'Closed%' AND c.Lead_Source IS NOT NULL GROUP BY d.Stage",
      ("Deals", "Contacts", "Accounts")),
    Q("left-join-null", "SELECT a.id, a.Account_Name FROM Accounts a LEFT JOIN Contacts c "
                        "ON c.Account_Name_Id = a.id WHERE c.id IS NULL", ("Accounts", "Contacts")),
    Q("self-join", "SELECT a.id, b.id AS other FROM Leads a JOIN Leads b ON a.Email = b.Email AND a.id <> b.id"),
    Q("in-subquery", "SELECT id, Full_Name FROM Contacts WHERE Account_Name_Id IN "
                     "(SELECT id FROM Accounts WHERE Industry = 'Storage Equipment')", ("Contacts", "Accounts")),
    Q("cte-twice", "WITH chat AS (SELECT id, Lead_Score FROM Leads WHERE Lead_Source = 'Chat') "
                   "SELECT count(*) AS n, sum(a.Lead_Score) AS s FROM chat a JOIN chat b ON a.id = b.id"),
    Q("converted-leads", "SELECT Converted__s, count(*) AS n FROM Leads GROUP BY 1"),
]

#: a few queries per filter language, for the settings where the whole set would repeat itself
CORE = ["eq-picklist", "in-list", "is-null", "datetime-range", "like-escaped-percent", "starts-with-quote",
        "search-escapes", "lookup-id-param", "order-desc-limit", "count-filtered", "join-accounts", "cte-twice"]
BY_ID = {q.id: q for q in QUERIES}
