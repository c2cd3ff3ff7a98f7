"""Generator hooks for inventory: products and their prices, price books, orders and their lines.

Prices are a pure function of (seed, product number) (:func:`product_prices`), so a line item
generated in another chunk or module quotes exactly its product's ``Unit_Price``. Lines are
spread over their parents round-robin (line *k* belongs to parent ``k mod parents``), so
every order has at least one line, as Zoho requires, and ``Sequence_Number`` counts 1, 2, 3
within each order.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store import id_base
from .gen_base import GenContext, ids, module_def, null_out, pick, row_index, str_index
from .gen_fields import GENERATORS
from .gen_pools import COMPANIES
from .inventory import ITEM_MODULES
from .types import ORG_PREFIX

PRODUCT_NAMES = ["Widget", "Gadget Pro", "CRM Licence (annual)", "Support plan \u2014 Gold", "Sensor, 5-pack",
                 "Stra\u00dfenlampe", "Cable 2m \"HDMI\"", "Onboarding day", "Analytics add-on", "\u7d19\u30d5\u30a1\u30a4\u30eb"]
ORDER_SUBJECTS = ["Q3 renewal", "Hardware refresh", "Licences, 50 seats", "Pilot \u2014 phase 2", "Spare parts",
                  "Training package", "Migration services", "Annual maintenance"]
TERMS = ["Net 30.", "Payment within 14 days; 2% discount within 7 days.", "Prices exclude VAT.\nDelivery FOB."]
TAXES = [(0.0, None), (5.0, "Vat"), (18.0, "GST")]
PRICING_SLOT = 66  # ids of generated pricing tiers (their own range)
ITEM_PARENT = {items: parent for parent, items in ITEM_MODULES.items()}

Columns = dict[str, pa.Array]


def product_prices(seed: int, n: int) -> np.ndarray:
    """Unit prices of products 1..n in cents (same seed, same prices, whichever module asks)."""
    rng = np.random.default_rng([seed, module_def("Products").id_slot, 7])
    return rng.integers(500, 500_000, max(n, 0))


def products(ctx: GenContext, cols: Columns) -> None:
    prices = product_prices(ctx.seed, ctx.sizes["Products"])
    k = row_index(ctx)
    cols["Unit_Price"] = pa.array(np.round(prices[k] / 100.0, 2))


def price_books(ctx: GenContext, cols: Columns) -> None:
    differential = (row_index(ctx) % 2 == 1).tolist()  # every other book has pricing tiers
    cols["Pricing_Model"] = pa.array(["Differential" if x else "Flat" for x in differential], pa.string())
    row_ids = cols["id"].to_pylist()
    tiers: list[str | None] = []
    for rid, diff in zip(row_ids, differential, strict=True):
        if not diff:
            tiers.append(None)
            continue
        base = ORG_PREFIX * 10**12 + PRICING_SLOT * 10**10 + (rid % 10**9) * 10
        tiers.append(json.dumps([
            {"from_range": 1.0, "to_range": 10.0, "discount": 0.0, "id": str(base)},
            {"from_range": 11.0, "to_range": 100.0, "discount": 5.0, "id": str(base + 1)},
            {"from_range": 101.0, "to_range": 1000.0, "discount": 12.5, "id": str(base + 2)}]))
    cols["Pricing_Details"] = pa.array(tiers, pa.string())


def items(ctx: GenContext, cols: Columns) -> None:
    rng = ctx.rng
    parent = module_def(ITEM_PARENT[ctx.module.api_name])
    n_parents = max(ctx.sizes[parent.api_name], 1)
    k = row_index(ctx)
    cols["Parent_Id"] = pa.array(id_base(parent) + k % n_parents + 1, pa.int64())
    cols["Sequence_Number"] = pa.array(k // n_parents + 1, pa.int64())
    n_products = ctx.sizes["Products"]
    product = rng.integers(1, max(n_products, 1) + 1, ctx.n)
    cols["Product_Name"] = pa.array(id_base(module_def("Products")) + product, pa.int64())
    price = product_prices(ctx.seed, n_products)[product - 1] if n_products else np.zeros(ctx.n, np.int64)
    qty = rng.integers(1, 50, ctx.n)
    total = qty * price  # cents
    discount = np.where(rng.random(ctx.n) < 0.3, total * rng.integers(1, 20, ctx.n) // 100, 0)
    which = rng.integers(0, len(TAXES), ctx.n)
    percent = np.array([t[0] for t in TAXES])[which]
    # cents, half up as Zoho rounds a line's tax (and as a line written through the API gets it)
    tax = ((total - discount) * percent.astype(np.int64) + 50) // 100
    cols["Quantity"] = pa.array(qty.astype(np.float64))
    cols["List_Price"] = pa.array(np.round(price / 100.0, 2))
    cols["Discount"] = pa.array(np.round(discount / 100.0, 2))
    cols["Tax"] = pa.array(np.round(tax / 100.0, 2))
    cols["Line_Tax"] = pa.array([
        None if TAXES[w][1] is None else json.dumps([{"percentage": TAXES[w][0], "name": TAXES[w][1],
                                                      "id": f"58431040000007010{w:02d}", "value": t / 100.0}])
        for w, t in zip(which.tolist(), tax.tolist(), strict=True)], pa.string())
    cols["Price_Book_Name"] = null_out(ctx, ids("Price_Books", ctx), 0.7)
    cols["Description"] = null_out(ctx, pick(ctx, ["Includes setup.", "Backordered; ships in 2 weeks",
                                                   "Serial numbers on request"]), 0.7)
    if n_products == 0:
        cols["Product_Name"] = pa.nulls(ctx.n, pa.int64())


def book_products(ctx: GenContext, cols: Columns) -> None:
    """Links spread over the price books round-robin, each book's products distinct (product
    ``(book x 7919 + k) mod products``), priced at the product's unit price less 0-30%."""
    n_b, n_p = max(ctx.sizes["Price_Books"], 1), max(ctx.sizes["Products"], 1)
    k = row_index(ctx)
    book = k % n_b
    product = (book * 7919 + k // n_b) % n_p
    cols["Price_Book"] = pa.array(id_base(module_def("Price_Books")) + book + 1, pa.int64())
    cols["Product"] = pa.array(id_base(module_def("Products")) + product + 1, pa.int64())
    unit = product_prices(ctx.seed, ctx.sizes["Products"])[product] if ctx.sizes["Products"] else np.zeros(ctx.n)
    off = ctx.rng.integers(70, 101, ctx.n)
    cols["list_price"] = pa.array(np.round(unit * off / 100) / 100.0)


GENERATORS.update({
    "book_of_link": lambda c, f: pa.nulls(c.n, pa.int64()),  # the hook fills both ends
    "product_of_link": lambda c, f: pa.nulls(c.n, pa.int64()),
    "product_name": lambda c, f: pc.binary_join_element_wise(pick(c, PRODUCT_NAMES), str_index(c, 4), " #"),
    "product_code": lambda c, f: pc.binary_join_element_wise(pa.scalar("SKU-"), str_index(c, 6), ""),
    "price_book_name": lambda c, f: pc.binary_join_element_wise(pick(c, ["Partner", "Retail", "Wholesale", "EDU"]),
                                                                str_index(c, 3), " "),
    "order_subject": lambda c, f: pc.binary_join_element_wise(pick(c, ORDER_SUBJECTS), pick(c, COMPANIES), " \u2013 "),
    "terms": lambda c, f: pick(c, TERMS),
    "vendor": lambda c, f: ids("Vendors", c),
    "deal": lambda c, f: ids("Deals", c),
    "quote": lambda c, f: ids("Quotes", c),
    "sales_order": lambda c, f: ids("Sales_Orders", c),
    "bool90": lambda c, f: pa.array(c.rng.random(c.n) < 0.9),
    "money_small": lambda c, f: pa.array(np.round(c.rng.integers(0, 5_000, c.n) / 100.0, 2)),
    "stock": lambda c, f: pa.array(c.rng.integers(0, 5_000, c.n).astype(np.float64)),
    "order_discount": lambda c, f: pa.array(np.where(c.rng.random(c.n) < 0.2,
                                                     np.round(c.rng.integers(0, 50_000, c.n) / 100.0, 2), 0.0)),
    "adjustment": lambda c, f: pa.array(np.where(c.rng.random(c.n) < 0.1,
                                                 np.round(c.rng.integers(-2_000, 2_000, c.n) / 100.0, 2), 0.0)),
    "product_price": lambda c, f: pa.nulls(c.n, pa.float64()),  # the Products hook fills it
    "pricing_details": lambda c, f: pa.nulls(c.n, pa.string()),
})

HOOKS = {"Products": products, "Price_Books": price_books, "Price_Books_X_Products": book_products,
         **{items_module: items for items_module in ITEM_PARENT}}
