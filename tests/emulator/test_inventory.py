"""Inventory over HTTP: products, price books, and orders whose line items and totals Zoho computes."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org for inventory; tests create the orders they change.", records=500, seed=13,
                  org="enterprise")
z = client_fixture("org")
ORDERS = {"Quotes": "Quoted_Items", "Sales_Orders": "Ordered_Items", "Purchase_Orders": "Purchased_Items",
          "Invoices": "Invoiced_Items"}
ITEM_MODULES = {"Quotes": "Quoted_Items", "Sales_Orders": "Ordered_Items", "Purchase_Orders": "Purchase_Items",
                "Invoices": "Invoiced_Items"}


def d(v: Any) -> Decimal:
    return Decimal(str(v or 0))


def check_order(order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    assert lines, f"{order['id']} has no line items"
    for line in lines:
        total = (d(line["Quantity"]) * d(line["List_Price"])).quantize(Decimal("0.01"))
        assert d(line["Total"]) == total
        assert d(line["Total_After_Discount"]) == total - d(line["Discount"])
        assert d(line["Net_Total"]) == total - d(line["Discount"]) + d(line["Tax"])
    assert d(order["Sub_Total"]) == sum(d(x["Net_Total"]) for x in lines)
    assert d(order["Grand_Total"]) == d(order["Sub_Total"]) - d(order["Discount"]) + d(order["Tax"]) + \
        d(order["Adjustment"])


@pytest.mark.parametrize("module", list(ORDERS))
def test_generated_orders_add_up(z: ZohoClient, module: str) -> None:
    prices = {p["id"]: d(p["Unit_Price"]) for p in z.export("Products")}
    codes = {p["id"]: p["Product_Code"] for p in z.export("Products")}
    orders = z.export(module)
    assert orders
    for order in orders:
        lines = order[ORDERS[module]]
        check_order(order, lines)
        assert [int(x["Sequence_Number"]) for x in lines] == list(range(1, len(lines) + 1))
        for line in lines:
            assert d(line["List_Price"]) == prices[line["Product_Name"]["id"]]
            assert line["Product_Name"]["Product_Code"] == codes[line["Product_Name"]["id"]]
    items = z.export(ITEM_MODULES[module])
    assert len(items) == sum(len(o[ORDERS[module]]) for o in orders)


def test_an_order_written_with_zohos_defaults(z: ZohoClient) -> None:
    p1, p2 = z.export("Products")[:2]
    body = {"Subject": "API quote", "Discount": 10, "Adjustment": -1.5, "Quoted_Items": [
        {"Product_Name": {"id": p1["id"]}, "Quantity": 3, "Discount": "10%",
         "Line_Tax": [{"name": "Vat", "percentage": 5}]},
        {"Product_Name": {"id": p2["id"]}, "List_Price": 100.0, "Quantity": 2.5, "Tax": 1.0},
        {"Product_Name": {"id": p2["id"]}}]}
    r = z.post("/Quotes", json={"data": [body]})
    assert r.status_code == 201, r.text
    quote = z.get(f"/Quotes/{r.json()['data'][0]['details']['id']}").json()["data"][0]
    lines = quote["Quoted_Items"]
    check_order(quote, lines)
    first, second, third = lines
    amount = (Decimal(3) * d(p1["Unit_Price"])).quantize(Decimal("0.01"))
    assert d(first["List_Price"]) == d(p1["Unit_Price"])
    assert d(first["Discount"]) == (amount / 10).quantize(Decimal("0.01"))
    assert d(first["Tax"]) == ((amount - d(first["Discount"])) * Decimal("0.05")).quantize(Decimal("0.01"))
    assert first["Line_Tax"][0]["value"] == first["Tax"]
    assert (second["List_Price"], second["Tax"]) == (100.0, 1.0)
    assert (third["Quantity"], d(third["List_Price"])) == (1.0, d(p2["Unit_Price"]))
    assert [x["Sequence_Number"] for x in lines] == ["1", "2", "3"]
    assert first["Product_Name"] == {"Product_Code": p1["Product_Code"], "name": p1["Product_Name"], "id": p1["id"]}


def test_updating_lines_replaces_them_and_moves_the_totals(z: ZohoClient) -> None:
    order = z.export("Invoices")[5]
    lines = order["Invoiced_Items"]
    keep = lines[0]
    r = z.put(f"/Invoices/{order['id']}", json={"data": [{"Invoiced_Items": [{"id": keep["id"], "Quantity": 7}]}]})
    assert r.status_code == 200, r.text
    after = z.get(f"/Invoices/{order['id']}").json()["data"][0]
    assert [x["id"] for x in after["Invoiced_Items"]] == [keep["id"]]
    assert after["Invoiced_Items"][0]["Quantity"] == 7.0
    check_order(after, after["Invoiced_Items"])
    gone = {x["id"] for x in lines[1:]}
    assert not gone & {x["id"] for x in z.export("Invoiced_Items")}


def test_a_line_sent_with__delete_is_removed_and_a_line_without_id_added(z: ZohoClient) -> None:
    order = next(o for o in z.export("Quotes") if len(o["Quoted_Items"]) >= 2)
    first, *rest = order["Quoted_Items"]
    product = first["Product_Name"]["id"]
    body = [{"id": first["id"], "_delete": None}, *({"id": x["id"]} for x in rest),
            {"Product_Name": {"id": product}, "Quantity": 2}]
    r = z.put(f"/Quotes/{order['id']}", json={"data": [{"Quoted_Items": body}]})
    assert r.status_code == 200, r.text
    after = z.get(f"/Quotes/{order['id']}").json()["data"][0]["Quoted_Items"]
    assert first["id"] not in {x["id"] for x in after} and first["id"] not in {x["id"] for x in z.export("Quoted_Items")}
    assert [x["id"] for x in after[:len(rest)]] == [x["id"] for x in rest] and len(after) == len(rest) + 1
    check_order(z.get(f"/Quotes/{order['id']}").json()["data"][0], after)


@pytest.mark.parametrize("module, record, code, api_name", [
    ("Quotes", {"Subject": "No lines"}, "MANDATORY_NOT_FOUND", "Quoted_Items"),
    ("Quotes", {"Subject": "Empty", "Quoted_Items": []}, "MANDATORY_NOT_FOUND", "Quoted_Items"),
    ("Quotes", {"Subject": "No product", "Quoted_Items": [{"Quantity": 2}]}, "MANDATORY_NOT_FOUND", "Product_Name"),
    ("Quotes", {"Subject": "Ghost", "Quoted_Items": [{"Product_Name": {"id": "5843104229999999999"}}]},
     "INVALID_DATA", "Product_Name"),
    ("Purchase_Orders", {"Subject": "No vendor", "Purchased_Items": [{"Product_Name": {"id": "{product}"}}]},
     "MANDATORY_NOT_FOUND", "Vendor_Name"),
    ("Sales_Orders", {"Subject": "Bad qty", "Ordered_Items": [{"Product_Name": {"id": "{product}"}, "Quantity": "x"}]},
     "INVALID_DATA", "Quantity"),
])
def test_bad_orders_fail_per_record(z: ZohoClient, module: str, record: dict[str, Any], code: str,
                                    api_name: str) -> None:
    product = z.export("Products")[0]["id"]
    rec = {k: [{**x, **({"Product_Name": {"id": product}} if x.get("Product_Name") == {"id": "{product}"} else {})}
               for x in v] if isinstance(v, list) else v for k, v in record.items()}
    r = z.post(f"/{module}", json={"data": [rec]})
    assert r.status_code == 400, r.text
    err = r.json()["data"][0]
    assert (err["code"], err["details"]["api_name"]) == (code, api_name)


def test_deleting_an_order_deletes_its_lines(z: ZohoClient) -> None:
    order = z.export("Sales_Orders")[2]
    lines = {x["id"] for x in order["Ordered_Items"]}
    assert z.delete(f"/Sales_Orders/{order['id']}").json()["data"][0]["status"] == "success"
    assert not lines & {x["id"] for x in z.export("Ordered_Items")}


def test_price_books_with_pricing_tiers(z: ZohoClient) -> None:
    books = z.export("Price_Books")
    tiered = [b for b in books if b["Pricing_Model"] == "Differential"]
    assert tiered and all(b["Pricing_Details"][0]["from_range"] == 1.0 for b in tiered)
    tiers = [{"from_range": 1, "to_range": 5, "discount": 0}, {"from_range": 6, "to_range": 50, "discount": 7.5}]
    r = z.post("/Price_Books", json={"data": [{"Price_Book_Name": "Tiered", "Pricing_Model": "Differential",
                                               "Pricing_Details": tiers},
                                              {"Price_Book_Name": "Overlap", "Pricing_Details": [
                                                  {"from_range": 1, "to_range": 5, "discount": 0},
                                                  {"from_range": 5, "to_range": 9, "discount": 1}]}]})
    assert r.status_code == 207, r.text
    ok, bad = r.json()["data"]
    assert bad["code"] == "INVALID_DATA" and bad["details"]["api_name"] == "from_range"
    got = z.get(f"/Price_Books/{ok['details']['id']}").json()["data"][0]["Pricing_Details"]
    assert [(t["from_range"], t["to_range"], t["discount"]) for t in got] == [(1, 5, 0), (6, 50, 7.5)]
    assert all(t["id"].isdigit() for t in got)


def test_coql_reads_orders_and_line_item_modules(z: ZohoClient) -> None:
    quotes = z.export("Quotes")
    big = sorted(q["id"] for q in quotes if q["Grand_Total"] > 100_000)
    r = z.post("/coql", json={"select_query": "select Subject, Grand_Total from Quotes where Grand_Total > 100000 "
                                              "limit 2000"})
    assert sorted(x["id"] for x in r.json().get("data", [])) == big
    r = z.post("/coql", json={"select_query": "select Product_Name, Product_Name.Product_Code, Quantity, Net_Total, Parent_Id "
                                              "from Quoted_Items where Quantity >= 40 limit 2000"})
    assert r.status_code == 200, r.text
    codes = {p["id"]: p["Product_Code"] for p in z.export("Products")}
    assert all(x["Quantity"] >= 40 and x["Product_Name.Product_Code"] == codes[x["Product_Name"]["id"]]
               for x in r.json()["data"])
    r = z.post("/coql", json={"select_query": "select Quoted_Items from Quotes limit 5"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUERY")
    one = sorted(x["id"] for x in z.export("Quoted_Items") if x["Quantity"] == 1)
    r = z.get("/Quoted_Items/search", params={"criteria": "(Quantity:equals:1)"})
    assert sorted(x["id"] for x in r.json().get("data", [])) == one


def _bulk_rows(z: ZohoClient, module: str) -> list[dict[str, str]]:
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": module}}})
    assert r.status_code == 201, r.text
    job = r.json()["data"][0]["details"]["id"]
    for _ in range(200):
        if z.get(f"/read/{job}", base=z.bulk).json()["data"][0]["state"] == "COMPLETED":
            break
        z.admin("POST", "clock", json={"advance_s": 5})
    zipped = zipfile.ZipFile(io.BytesIO(z.get(f"/read/{job}/result", base=z.bulk).content))
    return list(csv.DictReader(io.StringIO(zipped.read(zipped.namelist()[0]).decode())))


def test_bulk_reads_orders_and_their_lines_but_bulk_write_refuses_orders(z: ZohoClient) -> None:
    quotes = {q["id"]: q for q in z.export("Quotes")}
    rows = _bulk_rows(z, "Quotes")
    assert len(rows) == len(quotes) and "Quoted_Items" not in rows[0]
    assert all(d(r["Grand_Total"]) == d(quotes[r["id"]]["Grand_Total"]) for r in rows)
    lines = _bulk_rows(z, "Quoted_Items")
    assert len(lines) == len(z.export("Quoted_Items")) and {"Parent_Id", "Product_Name", "Net_Total"} <= set(lines[0])
    body = {"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Quotes"}, "file_id": "1",
                                                 "field_mappings": []}]}
    r = z.post("/write", base=z.bulk, json=body)
    assert (r.status_code, r.json()["code"]) == (400, "MODULE_NOT_AVAILABLE")


def test_orders_made_by_the_admin_mutation_have_lines(z: ZohoClient) -> None:
    made = z.admin("POST", "mutate", json={"module": "Invoices", "creates": 4, "seed": 3}).json()["created"]
    invoices = {i["id"]: i for i in z.export("Invoices")}
    for rid in made:
        lines = invoices[rid]["Invoiced_Items"]
        assert 1 <= len(lines) <= 3 and [x["Sequence_Number"] for x in lines] == [str(k + 1) for k in range(len(lines))]
        check_order(invoices[rid], lines)


def test_line_items_answer_to_their_orders_scopes(org: Any, z: ZohoClient) -> None:
    query = {"select_query": "select Quantity from Quoted_Items limit 1"}
    quotes = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.quotes.READ,ZohoCRM.coql.READ"}).json()
    assert ZohoClient(org, refresh_token=quotes["refresh_token"]).post("/coql", json=query).status_code == 200
    custom = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.custom.READ,ZohoCRM.coql.READ"}).json()
    r = ZohoClient(org, refresh_token=custom["refresh_token"]).post("/coql", json=query)
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
