"""The planner's renderings against the emulator over HTTP: accepted, and never missing a row.

For queries built from the org's own data, each target's rendered filter is
sent to the real endpoint (Search criteria, a COQL query, a Bulk Read job) and
the ids it returns are compared with DuckDB running the original WHERE over
``/__emulator/export``: always a superset, the same set when ``exact``.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.planning import plan_query
from connector.schema.convert import records_to_batch

from ..conftest import ZohoClient
from .conftest import TABLES, resolve


@pytest.fixture(scope="module")
def client() -> Iterator[ZohoClient]:
    with Emulator(records=400, seed=11) as emu:
        yield ZohoClient(emu)


@pytest.fixture(scope="module")
def exports(client: ZohoClient) -> dict[str, list[dict[str, Any]]]:
    return {m: client.export(m) for m in ("Contacts", "Deals", "Accounts")}


def _search_ids(client: ZohoClient, module: str, criteria: str) -> set[str]:
    ids: set[str] = set()
    for page in range(1, 11):
        r = client.get(f"/{module}/search", params={"criteria": criteria, "page": page, "per_page": 200})
        if r.status_code == 204:
            break
        assert r.status_code == 200, (criteria, r.text)
        body = r.json()
        ids |= {str(rec["id"]) for rec in body["data"]}
        if not body["info"]["more_records"]:
            break
    return ids


def _coql_ids(client: ZohoClient, module: str, where: str) -> set[str]:
    ids: set[str] = set()
    last = None
    while True:
        keyset = f" and id > {last}" if last else ""
        query = f"select id from {module} where ({where}){keyset} order by id asc limit 2000"
        r = client.post("/coql", json={"select_query": query})
        if r.status_code == 204:
            return ids
        assert r.status_code == 200, (query, r.text)
        rows = r.json()["data"]
        ids |= {str(x["id"]) for x in rows}
        if len(rows) < 2000:
            return ids
        last = rows[-1]["id"]


def _bulk_ids(client: ZohoClient, module: str, criteria: dict[str, Any]) -> set[str]:
    body = {"query": {"module": {"api_name": module}, "fields": ["id"], "criteria": criteria}}
    r = client.post("/read", base=client.bulk, json=body)
    assert r.status_code == 201, (criteria, r.text)
    job = r.json()["data"][0]["details"]["id"]
    deadline = time.monotonic() + 30
    while True:
        status = client.get(f"/read/{job}", base=client.bulk).json()["data"][0]
        if status["state"] == "COMPLETED":
            break
        assert status["state"] != "FAILURE" and time.monotonic() < deadline, status
        client.emu.advance_clock(1)
        time.sleep(0.05)
    client.emu.advance_clock(61)  # Bulk Read allows 10 downloads a minute (virtual time)
    r = client.get(f"/read/{job}/result", base=client.bulk)
    assert r.status_code == 200, r.text
    data = r.content
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        text = z.read(z.namelist()[0]).decode("utf-8")
    return {row["id"] for row in csv.DictReader(io.StringIO(text))}


def _expected(module: str, where: str, records: list[dict[str, Any]], columns: tuple[str, ...]) -> set[str]:
    batch = records_to_batch(TABLES[module], list(columns), records)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("src", pa.Table.from_batches([batch]))
    con.execute(f'CREATE TABLE "{module}" AS SELECT * FROM src')
    return {r[0] for r in con.execute(f'SELECT id FROM "{module}" WHERE {where}').fetchall()}


def _q(v: Any) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _queries(exports: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    c = next(r for r in exports["Contacts"] if r.get("Account_Name") and r.get("Email") and r.get("Last_Name"))
    d = next(r for r in exports["Deals"] if r.get("Amount") and r.get("Stage") and r.get("Closing_Date"))
    a = next(r for r in exports["Accounts"] if r.get("Employees") and r.get("Industry"))
    acct = c["Account_Name"]
    return [
        ("Contacts", f"Last_Name = {_q(c['Last_Name'])}"),
        ("Contacts", f"Last_Name = {_q(c['Last_Name'].upper())}"),
        ("Contacts", f"Last_Name LIKE {_q(c['Last_Name'][:2] + '%')}"),
        ("Contacts", f"Email = {_q(c['Email'])} OR Loyalty_Points > 500"),
        ("Contacts", f"Account_Name_Id = {_q(acct['id'])}"),
        ("Contacts", f"Account_Name_Name = {_q(acct['name'])}"),
        ("Contacts", f"Owner_Name LIKE {_q(c['Owner']['name'][:3] + '%')} AND Owner_Id = {_q(c['Owner']['id'])}"),
        ("Contacts", "Email IS NULL OR Loyalty_Points IS NOT NULL"),
        ("Contacts", "Email_Opt_Out AND Date_of_Birth >= '1980-01-01'"),
        ("Contacts", "NOT (Loyalty_Points < 100 OR Loyalty_Points > 900)"),
        ("Contacts", "Lead_Source IN ('Web', 'Partner', 'Cold Call') AND Created_Time >= '2023-06-01 00:00:00'"),
        ("Deals", f"Stage = {_q(d['Stage'])} AND Amount BETWEEN 1000 AND {d['Amount']}"),
        ("Deals", f"Closing_Date < {_q(d['Closing_Date'])} AND Probability > 10.5"),
        ("Deals", f"Amount NOT IN ({d['Amount']}, 1) AND Deal_Name LIKE 'a\\_%' ESCAPE '\\'"),
        ("Accounts", f"Employees > {a['Employees']} OR Industry = {_q(a['Industry'])}"),
        ("Accounts", "Rating IN ('Active', 'Acquired') AND Annual_Revenue >= 100000.5"),
    ]


def test_every_target_returns_a_superset_from_the_emulator(client: ZohoClient,
                                                            exports: dict[str, list[dict[str, Any]]]) -> None:
    checked = {"Search": 0, "COQL": 0, "Bulk": 0}
    for module, where in _queries(exports):
        scan = plan_query(f"SELECT * FROM {module} WHERE {where}", None, resolve).scans[0]
        expected = _expected(module, where, exports[module], scan.columns)
        fetch = {"Search": _search_ids, "COQL": _coql_ids, "Bulk": _bulk_ids}
        for target, f in scan.filters.items():
            if f.value is None:
                continue
            got = fetch[target](client, module, f.value)
            assert expected <= got, f"{target} lost rows for {where!r} with {f.value!r}"
            if f.exact:
                assert got == expected, f"{target} is not exact for {where!r} with {f.value!r}"
            checked[target] += 1
    assert all(n >= 8 for n in checked.values()), checked
