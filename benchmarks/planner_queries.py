"""The planner benchmark's query set: ~170 queries over every column kind, built from values in the org.

Values come from the org itself before anything is measured (a few COQL calls:
ids, an email, the most and least frequent picklist values and lookup ids,
thresholds at chosen ranks), so the same templates select a handful of rows or
most of a module on any org size. Each query says how its answers are compared
across APIs: as a multiset of rows, or — for a LIMIT without a total order,
where any rows will do — by count, or by the ordered values of its sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.api import coql as coql_api
from connector.http.client import ZohoHttp
from connector.readers.dialects.coql import CoqlQuery


@dataclass(frozen=True)
class BQ:
    id: str
    category: str
    sql: str
    #: how answers are compared: "rows" (multiset), "count" (row count only), "key:<column>" (that column, in order)
    check: str = "rows"


def q(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class Picks:
    """Values drawn from the org (COQL, before the measured runs)."""

    def __init__(self, http: ZohoHttp) -> None:
        self.http = http

    def rows(self, statement: str) -> list[dict[str, Any]]:
        got, _ = coql_api.run(self.http, statement)
        return list(got)

    def groups(self, module: str, field: str) -> list[Any]:
        """Non-empty values of ``field``, the most frequent first (lookup ids for lookups)."""
        out = []
        for r in self.rows(CoqlQuery(module).group_count(field, 200)):
            v = r.get(field)
            v = v.get("id") if isinstance(v, dict) else v
            if v is not None:
                out.append(v)
        return out

    def at_rank(self, module: str, field: str, rank: int, desc: bool = True) -> Any:
        """The value of ``field`` at ``rank`` (0: the largest when ``desc``) among records that have one."""
        rank = max(0, min(rank, 99_999))
        query = CoqlQuery(module, (field,), (f"{field} is not null",), order_by=((field, not desc), ("id", True)),
                          limit=1, offset=rank)
        got = self.rows(query.text())
        return got[0][field] if got else None

    def first(self, module: str, fields: tuple[str, ...], where: str, n: int = 1) -> list[dict[str, Any]]:
        return self.rows(CoqlQuery(module, fields, (where,), limit=n).text())


def build(picks: Picks, sizes: dict[str, int]) -> list[BQ]:
    p = picks
    n = sizes
    lead = p.first("Leads", ("id", "Email", "Last_Name", "City", "Company"),
                   "(Email is not null and City is not null) and Company is not null", 5)
    contact = p.first("Contacts", ("id", "Email", "Last_Name"), "Email is not null", 3)
    deal = p.first("Deals", ("id", "Deal_Name"), "id is not null", 5)
    account = p.first("Accounts", ("id", "Account_Name"), "id is not null", 2)
    task = p.first("Tasks", ("id",), "id is not null", 1)
    source, status, industry = p.groups("Leads", "Lead_Source"), p.groups("Leads", "Lead_Status"), \
        p.groups("Leads", "Industry")
    stage, tier = p.groups("Deals", "Stage"), p.groups("Contacts", "Customer_Tier")
    a_type, t_status = p.groups("Accounts", "Account_Type"), p.groups("Tasks", "Status")
    owners_l, owners_c = p.groups("Leads", "Owner"), p.groups("Contacts", "Owner")
    accts_c, accts_d = p.groups("Contacts", "Account_Name"), p.groups("Deals", "Account_Name")
    score_hi = p.at_rank("Leads", "Lead_Score", 100)  # about 100 leads above it
    score_mid = p.at_rank("Leads", "Lead_Score", n["Leads"] // 3)
    amount_hi = p.at_rank("Deals", "Amount", 50)
    amount_lo = p.at_rank("Deals", "Amount", n["Deals"] // 2)
    emp_hi = p.at_rank("Accounts", "Employees", 40)
    created_recent = p.at_rank("Leads", "Created_Time", n["Leads"] // 100)
    created_half = p.at_rank("Contacts", "Created_Time", n["Contacts"] // 2)
    modified_recent = p.at_rank("Deals", "Modified_Time", 30)
    closing = p.at_rank("Deals", "Closing_Date", n["Deals"] // 4)
    due = p.at_rank("Tasks", "Due_Date", n["Tasks"] // 10)

    L = "SELECT id, Email, Lead_Source, City FROM Leads"
    C = "SELECT id, Full_Name, Account_Name_Id, Owner_Id FROM Contacts"
    D = "SELECT id, Deal_Name, Stage, Amount FROM Deals"
    A = "SELECT id, Account_Name, Industry, Employees FROM Accounts"
    T = "SELECT id, Subject, Status, Priority FROM Tasks"
    ids = ", ".join(q(r["id"]) for r in lead[:3])
    out = [
        # point lookups
        BQ("id-lead", "point", f"{L} WHERE id = {q(lead[0]['id'])}"),
        BQ("id-lead-wide", "point", f"SELECT * EXCLUDE (Days_Open) FROM Leads WHERE id = {q(lead[1]['id'])}"),
        BQ("id-contact", "point", f"{C} WHERE id = {q(contact[0]['id'])}"),
        BQ("id-deal", "point", f"{D} WHERE id = {q(deal[0]['id'])}"),
        BQ("id-account", "point", f"{A} WHERE id = {q(account[0]['id'])}"),
        BQ("id-task", "point", f"{T} WHERE id = {q(task[0]['id'])}"),
        BQ("id-in-3", "point", f"{L} WHERE id IN ({ids})"),
        BQ("id-in-5-deals", "point", f"{D} WHERE id IN ({', '.join(q(r['id']) for r in deal)})"),
        BQ("email-lead", "point", f"{L} WHERE Email = {q(lead[2]['Email'])}"),
        BQ("email-contact", "point", f"{C} WHERE Email = {q(contact[1]['Email'])}"),
        BQ("email-lead-wide", "point", f"SELECT * EXCLUDE (Days_Open) FROM Leads WHERE Email = "
                                       f"{q(lead[3]['Email'])}"),
        BQ("id-param-like", "point", f"{C} WHERE id = {q(contact[2]['id'])} AND Last_Name IS NOT NULL"),
    ]
    # picklists: the most and least frequent values, lists, negations, nulls
    for mod, sel, field, values in (("Leads", L, "Lead_Source", source), ("Leads", L, "Lead_Status", status),
                                    ("Leads", L, "Industry", industry), ("Deals", D, "Stage", stage),
                                    ("Contacts", C, "Customer_Tier", tier), ("Accounts", A, "Account_Type", a_type),
                                    ("Tasks", T, "Status", t_status)):
        key = f"{mod.lower()}-{field.lower()}"
        out += [
            BQ(f"{key}-common", "picklist", f"{sel} WHERE {field} = {q(values[0])}"),
            BQ(f"{key}-rare", "picklist", f"{sel} WHERE {field} = {q(values[-1])}"),
            BQ(f"{key}-in", "picklist", f"{sel} WHERE {field} IN ({q(values[0])}, {q(values[1])})"),
            BQ(f"{key}-ne", "negation", f"{sel} WHERE {field} <> {q(values[0])}"),
            BQ(f"{key}-null", "nulls", f"{sel} WHERE {field} IS NULL"),
        ]
    # lookups and owners
    out += [
        BQ("owner-leads-top", "lookup", f"{L} WHERE Owner_Id = {q(owners_l[0])}"),
        BQ("owner-leads-rare", "lookup", f"{L} WHERE Owner_Id = {q(owners_l[-1])}"),
        BQ("owner-contacts-top", "lookup", f"{C} WHERE Owner_Id = {q(owners_c[0])}"),
        BQ("owner-contacts-wide", "lookup", f"SELECT * FROM Contacts WHERE Owner_Id = {q(owners_c[1])}"),
        BQ("account-contacts-top", "lookup", f"{C} WHERE Account_Name_Id = {q(accts_c[0])}"),
        BQ("account-contacts-rare", "lookup", f"{C} WHERE Account_Name_Id = {q(accts_c[-1])}"),
        BQ("account-deals-top", "lookup", f"{D} WHERE Account_Name_Id = {q(accts_d[0])}"),
        BQ("account-contacts-in", "lookup", f"{C} WHERE Account_Name_Id IN ({q(accts_c[0])}, {q(accts_c[1])}, "
                                            f"{q(accts_c[2])})"),
        BQ("account-contacts-null", "nulls", f"{C} WHERE Account_Name_Id IS NULL"),
        BQ("account-contacts-ne", "negation", f"{C} WHERE Account_Name_Id <> {q(accts_c[0])}"),
        BQ("owner-name", "lookup", f"{L} WHERE Owner_Name = 'Jane Admin'"),
        BQ("account-name-prefix", "lookup", f"{C} WHERE Account_Name_Name LIKE {q(str(account[0]['Account_Name'])[:6] + '%')}"),
    ]
    # numbers, currency, percent, doubles
    out += [
        BQ("score-hi", "number", f"SELECT id, Lead_Score FROM Leads WHERE Lead_Score > {score_hi}"),
        BQ("score-mid", "number", f"SELECT id, Lead_Score FROM Leads WHERE Lead_Score >= {score_mid}"),
        BQ("score-any", "number", "SELECT id, Lead_Score FROM Leads WHERE Lead_Score >= 0"),
        BQ("score-between", "number", f"SELECT id, Lead_Score FROM Leads WHERE Lead_Score BETWEEN {score_mid} AND "
                                      f"{score_hi}"),
        BQ("score-eq", "number", f"SELECT id, Lead_Score FROM Leads WHERE Lead_Score = {score_hi}"),
        BQ("score-ne", "negation", f"SELECT id, Lead_Score FROM Leads WHERE Lead_Score <> {score_hi}"),
        BQ("employees-lt", "number", "SELECT id, No_of_Employees FROM Leads WHERE No_of_Employees < 50"),
        BQ("revenue-ge", "number", "SELECT id, Annual_Revenue FROM Leads WHERE Annual_Revenue >= 900000000"),
        BQ("churn-gt", "number", "SELECT id, Churn_Risk FROM Leads WHERE Churn_Risk > 0.9"),
        BQ("discount-percent", "number", "SELECT id, Discount_Rate FROM Leads WHERE Discount_Rate >= 40"),
        BQ("amount-hi", "number", f"{D} WHERE Amount > {amount_hi}"),
        BQ("amount-lo", "number", f"{D} WHERE Amount >= {amount_lo}"),
        BQ("amount-wide", "number", f"SELECT * FROM Deals WHERE Amount >= {amount_lo}"),
        BQ("probability", "number", f"{D} WHERE Probability >= 90"),
        BQ("employees-acct-hi", "number", f"{A} WHERE Employees > {emp_hi}"),
        BQ("employees-acct-lo", "number", f"{A} WHERE Employees < 1000"),
        BQ("visitor-bigint", "number", "SELECT id, Visitor_Id FROM Leads WHERE Visitor_Id > 0"),
        BQ("score-in-5", "in-list", "SELECT id, Lead_Score FROM Leads WHERE Lead_Score IN (1, 2, 3, 5, 8)"),
        BQ("score-not-in", "negation", "SELECT id, Lead_Score FROM Leads WHERE Lead_Score NOT IN (1, 2, 3)"),
        BQ("amount-in-120", "in-list", f"{D} WHERE Amount IN ({', '.join(str(1000 * i) for i in range(120))})"),
        BQ("source-in-6", "in-list", f"{L} WHERE Lead_Source IN ({', '.join(q(v) for v in source[:6])})"),
        BQ("score-and-source", "number", f"{L} WHERE Lead_Score > {score_mid} AND Lead_Source = {q(source[0])}"),
    ]
    # dates and datetimes (Modified_Time goes to the list API as If-Modified-Since)
    out += [
        BQ("created-recent", "datetime", f"SELECT id, Created_Time FROM Leads WHERE Created_Time >= "
                                         f"{q(created_recent)}"),
        BQ("created-half", "datetime", f"{C} WHERE Created_Time >= {q(created_half)}"),
        BQ("created-old", "datetime", "SELECT id, Created_Time FROM Leads WHERE Created_Time < '2021-01-01'"),
        BQ("modified-recent", "datetime", f"{D} WHERE Modified_Time >= {q(modified_recent)}"),
        BQ("modified-recent-wide", "datetime", f"SELECT * FROM Deals WHERE Modified_Time >= {q(modified_recent)}"),
        BQ("closing-range", "date", f"{D} WHERE Closing_Date BETWEEN {q(closing)} AND DATE {q(closing)} + 30"),
        BQ("closing-after", "date", f"{D} WHERE Closing_Date >= {q(closing)}"),
        BQ("contacted-after", "date", "SELECT id, Last_Contacted_On FROM Leads WHERE Last_Contacted_On > "
                                      "DATE '2025-06-01'"),
        BQ("due-before", "date", f"{T} WHERE Due_Date <= {q(due)}"),
        BQ("trial-eq", "date", "SELECT id, Trial_Start FROM Leads WHERE Trial_Start = DATE '2024-03-15'"),
        BQ("dob-range", "date", "SELECT id, Date_of_Birth FROM Contacts WHERE Date_of_Birth BETWEEN "
                                "DATE '1980-01-01' AND DATE '1980-12-31'"),
        BQ("created-year-expr", "expression", "SELECT id FROM Leads WHERE year(Created_Time) = 2024"),
    ]
    # booleans
    out += [
        BQ("opt-out", "boolean", f"{L} WHERE Email_Opt_Out"),
        BQ("converted", "boolean", "SELECT id, Converted__s FROM Leads WHERE Converted__s = true"),
        BQ("not-gdpr", "boolean", f"{L} WHERE NOT GDPR_Consent"),
        BQ("task-notify", "boolean", f"{T} WHERE Send_Notification_Email"),
    ]
    # text: equality, prefixes, negations, padded and empty literals, LIKE that Zoho cannot take
    last = str(lead[0]["Last_Name"])
    city = str(lead[1]["City"])
    company = str(lead[2]["Company"])
    out += [
        BQ("last-name", "text", f"{L} WHERE Last_Name = {q(last)}"),
        BQ("city", "text", f"{L} WHERE City = {q(city)}"),
        BQ("company", "text", f"{L} WHERE Company = {q(company)}"),
        BQ("last-prefix", "like", f"{L} WHERE Last_Name LIKE {q(last[:2] + '%')}"),
        # Days_Open is a formula of the clock: two reads a second apart may differ in it
        BQ("last-prefix-wide", "like",
           f"SELECT * EXCLUDE (Days_Open) FROM Leads WHERE Last_Name LIKE {q(last[:3] + '%')}"),
        BQ("city-ilike", "like", f"{L} WHERE City ILIKE {q(city[:3].upper() + '%')}"),
        BQ("email-contains", "like", f"{L} WHERE Email LIKE '%example%'"),
        BQ("email-suffix", "like", f"{C} WHERE Email LIKE '%.com'"),
        BQ("last-not-like", "negation", f"{L} WHERE Last_Name NOT LIKE {q(last[:2] + '%')}"),
        BQ("last-ne", "negation", f"{L} WHERE Last_Name <> {q(last)}"),
        BQ("city-padded", "text", f"{L} WHERE City = {q(' ' + city + ' ')}"),
        BQ("city-empty", "text", f"{L} WHERE City = ''"),
        BQ("deal-name", "text", f"{D} WHERE Deal_Name = {q(deal[1]['Deal_Name'])}"),
        BQ("account-name", "text", f"{A} WHERE Account_Name = {q(account[1]['Account_Name'])}"),
        BQ("subject-prefix", "like", f"{T} WHERE Subject LIKE 'Call%'"),
    ]
    # impossible values: nothing can match
    out += [
        BQ("id-abc", "impossible", f"{L} WHERE id = 'abc'"),
        BQ("id-abc-wide", "impossible", "SELECT * EXCLUDE (Days_Open) FROM Leads WHERE id = 'abc'"),
        BQ("score-fraction", "impossible", "SELECT id, Lead_Score FROM Leads WHERE Lead_Score = 5.5"),
        BQ("in-nulls", "impossible", f"{D} WHERE Amount IN (NULL)"),
        BQ("eq-null", "impossible", f"{C} WHERE Loyalty_Points = NULL"),
        BQ("account-id-text", "impossible", f"{C} WHERE Account_Name_Id = 'none'"),
    ]
    # unpushable expressions
    out += [
        BQ("lower-city", "expression", f"{L} WHERE lower(City) = {q(city.lower())}"),
        BQ("score-plus", "expression", "SELECT id FROM Leads WHERE Lead_Score + 1 > 90"),
        BQ("email-length", "expression", f"{C} WHERE length(Email) > 25"),
        BQ("coalesce-city", "expression", f"{L} WHERE coalesce(City, '') = ''"),
        BQ("regexp", "expression", f"{A} WHERE regexp_matches(Account_Name, '[0-9]{{5}}$')"),
        BQ("case-expr", "expression", f"{D} WHERE CASE WHEN Amount > 100000 THEN 'big' ELSE 'small' END = 'big'"),
        BQ("columns-compare", "expression", "SELECT id FROM Leads WHERE Seats_Requested > NPS_Score"),
        BQ("multiselect", "expression", "SELECT id, Interests FROM Leads WHERE list_contains(Interests, 'Webinars')"),
        BQ("or-columns", "or-tree", f"{L} WHERE Lead_Source = {q(source[-1])} OR Lead_Score > {score_hi}"),
        BQ("or-unpushable", "or-tree", f"{L} WHERE Lead_Source = {q(source[-1])} OR lower(City) = 'x'"),
        BQ("not-or", "or-tree", f"{L} WHERE NOT (Lead_Source = {q(source[0])} OR Lead_Source IS NULL) AND "
                                f"Lead_Score < {score_mid}"),
        BQ("and-mixed", "or-tree", f"{D} WHERE Stage = {q(stage[0])} AND lower(Deal_Name) LIKE '%a%'"),
    ]
    # joins
    out += [
        BQ("join-contacts-accounts", "join", "SELECT c.id, a.Account_Name FROM Contacts c JOIN Accounts a "
                                             f"ON c.Account_Name_Id = a.id WHERE a.Industry = {q(industry[-1])}"),
        BQ("join-deals-accounts", "join", "SELECT d.id, d.Amount, a.Industry FROM Deals d JOIN Accounts a "
                                          f"ON d.Account_Name_Id = a.id WHERE d.Amount > {amount_hi}"),
        BQ("join-selective-both", "join", "SELECT c.id, a.id FROM Contacts c JOIN Accounts a ON c.Account_Name_Id "
                                          f"= a.id WHERE c.Account_Name_Id = {q(accts_c[0])} AND a.Employees > 0"),
        BQ("join-left-null", "join", "SELECT a.id FROM Accounts a LEFT JOIN Deals d ON d.Account_Name_Id = a.id "
                                     "WHERE d.id IS NULL"),
        BQ("join-three", "join", "SELECT d.Stage, count(*) AS n FROM Deals d JOIN Contacts c ON d.Contact_Name_Id = "
                                 "c.id JOIN Accounts a ON d.Account_Name_Id = a.id "
                                 f"WHERE d.Stage = {q(stage[0])} GROUP BY 1"),
        BQ("in-subquery", "join", f"{C} WHERE Account_Name_Id IN (SELECT id FROM Accounts WHERE Account_Type = "
                                  f"{q(a_type[-1])})"),
        BQ("exists", "join", "SELECT a.id FROM Accounts a WHERE EXISTS (SELECT 1 FROM Contacts c WHERE "
                             f"c.Account_Name_Id = a.id AND c.Customer_Tier = {q(tier[0])})"),
        BQ("join-tasks-owner", "join", "SELECT t.id, l.Email FROM Tasks t JOIN Leads l ON t.Owner_Id = l.Owner_Id "
                                       f"WHERE l.id = {q(lead[4]['id'])}"),
    ]
    # aggregates and COUNT(*)
    for mod in ("Leads", "Contacts", "Deals", "Accounts", "Tasks", "Projects"):
        out.append(BQ(f"count-{mod.lower()}", "count", f"SELECT count(*) AS n FROM {mod}"))
    out += [
        BQ("count-score", "count", f"SELECT count(*) AS n FROM Leads WHERE Lead_Score > {score_mid}"),
        BQ("count-amount", "count", f"SELECT count(*) AS n FROM Deals WHERE Amount >= {amount_lo}"),
        BQ("count-text", "count", f"SELECT count(*) AS n FROM Leads WHERE City = {q(city)}"),
        BQ("count-picklist", "count", f"SELECT count(*) AS n FROM Deals WHERE Stage = {q(stage[0])}"),
        BQ("count-unpushable", "count", "SELECT count(*) AS n FROM Leads WHERE lower(City) LIKE 'a%'"),
        BQ("group-source", "aggregate", "SELECT Lead_Source, count(*) AS n FROM Leads GROUP BY 1"),
        BQ("group-stage-sum", "aggregate", "SELECT Stage, count(*) AS n, sum(Amount) AS s FROM Deals GROUP BY 1"),
        BQ("group-filtered", "aggregate", "SELECT Industry, count(*) AS n FROM Accounts WHERE Employees > 100 "
                                          "GROUP BY 1"),
        BQ("avg-score", "aggregate", "SELECT round(avg(Lead_Score), 6) AS a FROM Leads WHERE "
                                     f"Lead_Source = {q(source[1])}"),
        BQ("min-max", "aggregate", "SELECT min(Amount) AS lo, max(Amount) AS hi FROM Deals"),
        BQ("distinct-owner", "aggregate", "SELECT count(DISTINCT Owner_Id) AS n FROM Contacts"),
        BQ("having", "aggregate", "SELECT Account_Name_Id, count(*) AS n FROM Contacts GROUP BY 1 HAVING "
                                  "count(*) > 5"),
        BQ("tasks-by-status", "aggregate", "SELECT Status, Priority, count(*) AS n FROM Tasks GROUP BY 1, 2"),
    ]
    # LIMIT and ORDER BY
    out += [
        BQ("limit-10-wide", "limit", "SELECT * EXCLUDE (Days_Open) FROM Leads LIMIT 10", "count"),
        BQ("limit-10-narrow", "limit", "SELECT id, Email FROM Leads LIMIT 10", "count"),
        BQ("limit-500", "limit", f"{C} LIMIT 500", "count"),
        BQ("limit-3000", "limit", f"{D} LIMIT 3000", "count"),
        BQ("filter-limit", "limit", f"SELECT id FROM Leads WHERE Lead_Score > {score_mid} LIMIT 50", "count"),
        BQ("text-limit", "limit", f"{L} WHERE City = {q(city)} LIMIT 5", "count"),
        BQ("order-created", "order", "SELECT id, Created_Time FROM Leads ORDER BY Created_Time DESC LIMIT 20",
           "key:Created_Time"),
        BQ("order-amount", "order", "SELECT Amount FROM Deals WHERE Amount IS NOT NULL ORDER BY Amount DESC LIMIT 5",
           "key:Amount"),
        BQ("order-name", "order", "SELECT Last_Name FROM Leads ORDER BY Last_Name LIMIT 5", "key:Last_Name"),
        BQ("order-filter", "order", f"SELECT id, Modified_Time FROM Deals WHERE Stage = {q(stage[1])} "
                                    "ORDER BY Modified_Time DESC LIMIT 10", "key:Modified_Time"),
        BQ("offset", "order", "SELECT Created_Time FROM Contacts ORDER BY Created_Time LIMIT 10 OFFSET 20",
           "key:Created_Time"),
    ]
    # whole modules
    out += [
        BQ("scan-deals", "scan", "SELECT * FROM Deals"),
        BQ("scan-accounts", "scan", "SELECT * FROM Accounts"),
        BQ("scan-projects", "scan", "SELECT * FROM Projects"),
        BQ("scan-tasks", "scan", "SELECT * FROM Tasks"),
        BQ("scan-leads-narrow", "scan", "SELECT id, Email, Lead_Score FROM Leads"),
        BQ("scan-contacts-narrow", "scan", "SELECT id, Email FROM Contacts"),
        BQ("scan-leads-wide", "scan", "SELECT * EXCLUDE (Days_Open) FROM Leads"),
        BQ("scan-milestones", "scan", "SELECT * FROM Project_Milestones"),
    ]
    return out
