"""Price books' products with their list prices: read as ``_Price_Book_Products``, carried into another org.

Zoho keeps a product's list price per price book on the relation between them (the related lists
``Products`` of a price book and ``Price_Books`` of a product). Org A -> Parquet -> org B through
the id map; then A re-prices one link and drops another, and a second run re-prices and delinks in
B. Two real emulators over HTTP.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from connector.emulator import Emulator
from connector.sync import migrate
from tests.conftest import ZohoClient

from .roundtrip import id_maps

MODULES = ["Products", "Price_Books", "_Price_Book_Products"]
ALLOW = ";AllowedOperations=read,insert,update,delete;AllowedModules=Products,Price_Books"


def links(emu: Emulator, books: list[str]) -> dict[tuple[str, str], float]:
    """(price book, product) -> list price, read through Zoho's related records API."""
    c = ZohoClient(emu)
    out: dict[tuple[str, str], float] = {}
    for book in books:
        r = c.get(f"/Price_Books/{book}/Products", params={"fields": "Product_Name", "per_page": 200})
        assert r.status_code in (200, 204), r.text
        for p in r.json()["data"] if r.status_code == 200 else []:
            out[(book, p["id"])] = p["list_price"]
    return out


def test_price_book_products_travel_with_their_list_prices(tmp_path: Path) -> None:
    with Emulator(records=3000, seed=48) as a, Emulator(records=0, seed=48) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=MODULES).ok
        table = pq.read_table(pq_dir / "_Price_Book_Products.parquet")
        books_a = [r["id"] for r in a.admin("GET", "export/Price_Books")["data"]]
        want = links(a, books_a)
        assert len(want) == table.num_rows > 10
        got_rows = {(r["Price_Book_Id"], r["Product_Id"]): r["List_Price"] for r in table.to_pylist()}
        assert got_rows == {k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in want.items()}

        first = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state))
        assert first.ok, first.as_rows()
        maps = id_maps(state)
        books_b = [maps["Price_Books"][x] for x in books_a]
        expected = {(maps["Price_Books"][bk], maps["Products"][p]): v for (bk, p), v in want.items()}
        assert links(b, books_b) == expected

        # A re-prices one product in its book and takes another out; the next run follows.
        (book, product), price = next(iter(want.items()))
        (gone_book, gone_product) = list(want)[-1]
        c = ZohoClient(a)
        assert c.put(f"/Price_Books/{book}/Products/{product}",
                     json={"data": [{"list_price": price + 1.25}]}).status_code == 200
        assert c.delete(f"/Price_Books/{gone_book}/Products/{gone_product}").status_code == 200
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=MODULES).ok
        second = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state))
        assert second.ok, second.as_rows()
        expected[(maps["Price_Books"][book], maps["Products"][product])] = price + 1.25
        del expected[(maps["Price_Books"][gone_book], maps["Products"][gone_product])]
        assert links(b, books_b) == expected
