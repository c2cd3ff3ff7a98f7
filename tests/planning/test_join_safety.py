"""Property test: pushing filters into joined tables never changes a join's answer.

Random rows for Contacts and Accounts, a random join (inner, left, right, full,
comma) and random WHERE / ON terms on either side. Each scan's pushed filter
(as Zoho would apply it, zoho_model.py) pre-filters its table; DuckDB then runs
the planner's statement over the pre-filtered tables and over the full ones.
The answers must be the same multiset of rows, for every target.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.planning import plan_query

from .conftest import TABLES, resolve
from .zoho_model import ZohoModel

CONTACTS, ACCOUNTS = TABLES["Contacts"], TABLES["Accounts"]
C_COLS = ["id", "Last_Name", "Loyalty_Points", "Account_Name_Id"]
A_COLS = ["id", "Account_Name", "Employees", "Industry"]
A_IDS = ["5843104000000000001", "5843104000000000002", "5843104000000000003"]
NAMES = ["abc", "ABC", "x", ""]
INDUSTRIES = ["Banking", "banking", "Retail"]

c_rows = st.lists(st.fixed_dictionaries({
    "Last_Name": st.none() | st.sampled_from(NAMES), "Loyalty_Points": st.none() | st.integers(0, 4),
    "Account_Name_Id": st.none() | st.sampled_from(A_IDS)}), max_size=12)
a_rows = st.lists(st.fixed_dictionaries({
    "Account_Name": st.none() | st.sampled_from(NAMES), "Employees": st.none() | st.integers(0, 4),
    "Industry": st.none() | st.sampled_from(INDUSTRIES)}), max_size=4)


@st.composite
def leaf(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["c_num", "c_text", "a_num", "a_text", "null", "cross", "id"]))
    op = draw(st.sampled_from(["=", "<>", "<", ">="]))
    n = draw(st.integers(0, 4))
    if kind == "c_num":
        return f"c.Loyalty_Points {op} {n}"
    if kind == "a_num":
        return f"a.Employees {op} {n}"
    if kind == "c_text":
        return f"c.Last_Name {draw(st.sampled_from(['=', 'LIKE']))} '{draw(st.sampled_from(NAMES))}%'"
    if kind == "a_text":
        return f"a.Industry IN ('{draw(st.sampled_from(INDUSTRIES))}', 'Retail')"
    if kind == "null":
        col = draw(st.sampled_from(["c.Loyalty_Points", "a.Employees", "a.id", "c.Account_Name_Id"]))
        return f"{col} IS {'NOT ' if draw(st.booleans()) else ''}NULL"
    if kind == "id":
        return f"a.id = '{draw(st.sampled_from(A_IDS))}'"
    return "c.Loyalty_Points > a.Employees"


trees = st.recursive(leaf(), lambda ch: st.one_of(
    st.lists(ch, min_size=2, max_size=3).map(lambda xs: "(" + " AND ".join(xs) + ")"),
    st.lists(ch, min_size=2, max_size=2).map(lambda xs: "(" + " OR ".join(xs) + ")"),
    ch.map(lambda x: f"NOT ({x})")), max_leaves=6)
JOINS = ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", ","]


def _tables(c: list[dict[str, Any]], a: list[dict[str, Any]]) -> dict[str, pa.Table]:
    contacts = [{"id": f"58431040000001{i:05d}", **r} for i, r in enumerate(c)]
    accounts = [{"id": A_IDS[i], **r} for i, r in enumerate(a[:3])]
    return {"Contacts": pa.Table.from_pylist(contacts, schema=CONTACTS.select(C_COLS)),
            "Accounts": pa.Table.from_pylist(accounts, schema=ACCOUNTS.select(A_COLS))}


_CON = duckdb.connect()
_CON.execute("SET TimeZone='UTC'")


def _run(data: dict[str, pa.Table], sql: str, filters: dict[str, str]) -> list[tuple[Any, ...]]:
    for name, table in data.items():
        _CON.register(f"{name}_src", table)
        where = filters.get(name, "TRUE")
        _CON.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{name}_src" WHERE {where}')
    return sorted(_CON.execute(sql).fetchall(), key=repr)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=c_rows, a=a_rows, join=st.sampled_from(JOINS), on_extra=st.none() | trees, where=st.none() | trees)
def test_pushdown_never_changes_a_join(c: list[dict[str, Any]], a: list[dict[str, Any]], join: str,
                                       on_extra: str | None, where: str | None) -> None:
    on = "" if join == "," else " ON c.Account_Name_Id = a.id" + (f" AND {on_extra}" if on_extra else "")
    sql = (f"SELECT c.id, c.Loyalty_Points, a.id, a.Employees FROM Contacts c {join} Accounts a{on}"
           + (f" WHERE {where}" if where else ""))
    plan = plan_query(sql, None, resolve)
    data = _tables(c, a)
    expected = _run(data, plan.sql, {})
    for target in ("Search", "COQL", "Bulk"):
        filters = {}
        for scan in plan.scans:
            f = scan.filters.get(target)
            if f is not None and f.value is not None:
                model = ZohoModel(TABLES[scan.module], case_insensitive=target == "Search")
                v = f.value
                filters[scan.relation] = (model.search(v) if target == "Search" else model.coql(v)
                                          if target == "COQL" else model.bulk(v))
        assert _run(data, plan.sql, filters) == expected, f"{target} pushdown changed {sql!r}: {filters}"
