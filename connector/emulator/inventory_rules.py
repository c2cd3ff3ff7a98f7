"""What Zoho fills in on a line item written through the API (before the row is checked like any row).

* ``Quantity`` defaults to 1 on a new line;
* ``List_Price`` defaults to the product's ``Unit_Price``;
* ``Discount`` may be an amount or a percentage string (``"10%"`` of quantity x list price; the SDK
  types it as a string for that reason);
* ``Tax`` defaults to the line's ``Line_Tax`` percentages applied after the discount; each
  ``Line_Tax`` entry gets its ``value`` (its percentage of the discounted amount) and the ``id`` of
  the org's tax of that name, as Zoho answers them whether or not ``Tax`` was sent;
* ``Sequence_Number`` defaults to the line's place in the list.

Values of the wrong type are left alone: the row's decoding reports them like any other field.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .org.gen_inventory import ITEM_PARENT, TAXES
from .value_types import as_id

if TYPE_CHECKING:
    from .app import App

CENT = Decimal("0.01")
#: the org's taxes by name (the ids the generated lines carry)
TAX_IDS = {name: f"58431040000007010{i:02d}" for i, (_, name) in enumerate(TAXES) if name}


def is_line_items(module_name: str) -> bool:
    return module_name in ITEM_PARENT


def _number(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return Decimal(repr(v))


def _unit_price(app: App, product: Any) -> Decimal | None:
    pid = as_id(product.get("id")) if isinstance(product, dict) else None
    if pid is None:
        return None
    row = app.store.fetchone('SELECT Unit_Price FROM "Products" WHERE id = ?', [pid])
    return Decimal(row[0]) if row and row[0] is not None else None


def prepare_line(app: App, row: dict[str, Any], position: int, new: bool) -> dict[str, Any]:
    """The line as sent, with Zoho's defaults filled in (a copy; the caller decodes it)."""
    line = dict(row)
    if new and "Quantity" not in line:
        line["Quantity"] = 1
    if "List_Price" not in line and new:
        price = _unit_price(app, line.get("Product_Name"))
        if price is not None:
            line["List_Price"] = float(price)
    if new and "Sequence_Number" not in line:
        line["Sequence_Number"] = str(position + 1)
    qty, price = _number(line.get("Quantity")), _number(line.get("List_Price"))
    amount = qty * price if qty is not None and price is not None else None
    discount = line.get("Discount")
    if isinstance(discount, str) and discount.strip().endswith("%") and amount is not None:
        try:
            share = Decimal(discount.strip()[:-1])
        except ArithmeticError:
            share = None
        if share is not None and share.is_finite():
            line["Discount"] = float((amount * share / 100).quantize(CENT, ROUND_HALF_UP))
    taxes = line.get("Line_Tax")
    if isinstance(taxes, list) and amount is not None:
        base = amount - (_number(line.get("Discount")) or Decimal(0))
        total = Decimal(0)
        filled = []
        for t in taxes:
            pct = _number(t.get("percentage")) if isinstance(t, dict) else None
            if pct is None:
                return line  # a malformed entry: the decoding reports it
            value = (base * pct / 100).quantize(CENT, ROUND_HALF_UP)
            total += value
            known = TAX_IDS.get(str(t.get("name")))
            filled.append({**t, "value": float(value), **({"id": known} if known and "id" not in t else {})})
        line["Line_Tax"] = filled
        if "Tax" not in line:
            line["Tax"] = float(total)
    return line

