"""Inventory: Vendors, Products, Price_Books, and Quotes, Sales_Orders, Purchase_Orders, Invoices
with their line items.

Line items are subform modules (``Quoted_Items``, ``Ordered_Items``, ``Purchase_Items``,
``Invoiced_Items``: the names the SDK knows) with the fields ``/settings/fields`` lists
for them: ``Product_Name`` (a lookup that reads with the product's ``Product_Code``),
``Quantity``, ``List_Price`` (the product's ``Unit_Price`` when not given), ``Discount``
(an amount, or ``"10%"`` of the line's total on write), ``Tax``, ``Line_Tax``,
``Price_Book_Name``, ``Sequence_Number``, and the computed ``Total`` (quantity x list
price), ``Total_After_Discount`` and ``Net_Total`` (after discount, plus tax).

The parent's totals are computed as Zoho shows them: ``Sub_Total`` is the sum of its lines'
``Net_Total``; ``Tax`` is the order-level tax (none: every tax here is on lines);
``Grand_Total`` = ``Sub_Total`` - ``Discount`` + ``Tax`` + ``Adjustment``. They are
read-only ``currency`` fields in the metadata.
"""

from __future__ import annotations

from .common import system_fields
from .types import FieldDef, ModuleDef

ITEM_MODULES = {"Quotes": "Quoted_Items", "Sales_Orders": "Ordered_Items", "Purchase_Orders": "Purchase_Items",
                "Invoices": "Invoiced_Items"}
_LINE = "Quantity * List_Price"


def _line_net(alias: str) -> str:
    return (f"{alias}.Quantity * {alias}.List_Price - coalesce({alias}.Discount, 0) "
            f"+ coalesce({alias}.Tax, 0)")


def _sub_total(items: str) -> str:
    return (f"(SELECT CAST(coalesce(sum(round({_line_net('c')}, 2)), 0) AS DECIMAL(18,2)) "
            f"FROM \"{items}\" c WHERE c.Parent_Id = _self.id)")


def _totals(items: str) -> list[FieldDef]:
    sub = _sub_total(items)
    return [
        FieldDef("Sub_Total", "formula", "Sub Total", read_only=True, meta_type="currency", decimal_place=2,
                 formula=("currency", sub)),
        FieldDef("Discount", "currency", decimal_place=2, gen="order_discount"),
        FieldDef("Tax", "formula", read_only=True, meta_type="currency", decimal_place=2,
                 formula=("currency", "CAST(0 AS DECIMAL(18,2))")),
        FieldDef("Adjustment", "currency", decimal_place=2, gen="adjustment"),
        FieldDef("Grand_Total", "formula", "Grand Total", read_only=True, meta_type="currency", decimal_place=2,
                 formula=("currency", f"CAST({sub} - coalesce(Discount, 0) + coalesce(Adjustment, 0) "
                                      "AS DECIMAL(18,2))")),
    ]


def _address(prefix: str) -> list[FieldDef]:
    return [
        FieldDef(f"{prefix}_Street", "text", f"{prefix} Street", length=250, gen="street", null_rate=0.2),
        FieldDef(f"{prefix}_City", "text", f"{prefix} City", length=30, gen="city", null_rate=0.2),
        FieldDef(f"{prefix}_Code", "text", f"{prefix} Code", length=30, gen="zip", null_rate=0.2),
        FieldDef(f"{prefix}_Country", "text", f"{prefix} Country", length=30, gen="country", null_rate=0.2),
    ]


def _items(api: str, parent: str, module_id: int, slot: int, share: float) -> ModuleDef:
    return ModuleDef(
        api, module_id, "Product Detail", "Product Details", "Product_Name", generated_type="subform",
        share=share, id_slot=slot, parent_module=parent,
        fields=(
            FieldDef("Parent_Id", "lookup", "Parent Id", lookup=parent, mandatory=True, read_only=True,
                     gen="item_parent"),
            FieldDef("Product_Name", "lookup", "Product Name", lookup="Products", mandatory=True,
                     lookup_extra=("Product_Code",), gen="item_product"),
            FieldDef("Quantity", "double", decimal_place=2, gen="item_quantity"),
            FieldDef("List_Price", "currency", "List Price", decimal_place=2, gen="item_price"),
            FieldDef("Discount", "currency", decimal_place=2, gen="item_discount"),
            FieldDef("Tax", "currency", decimal_place=2, gen="item_tax"),
            FieldDef("Line_Tax", "linetax", "Line Tax", searchable=False, gen="item_line_tax"),
            FieldDef("Price_Book_Name", "lookup", "Price Book Name", lookup="Price_Books", gen="item_price_book"),
            FieldDef("Description", "textarea", length=2000, textarea_type="small", searchable=False,
                     gen="item_description", null_rate=0.7),
            FieldDef("Sequence_Number", "bigint", "S.No", gen="item_sequence"),
            FieldDef("Total", "formula", read_only=True, formula=("currency", f"round({_LINE}, 2)")),
            FieldDef("Total_After_Discount", "formula", "Total After Discount", read_only=True,
                     formula=("currency", f"round({_LINE} - coalesce(Discount, 0), 2)")),
            FieldDef("Net_Total", "formula", "Net Total", read_only=True,
                     formula=("currency", f"round({_LINE} - coalesce(Discount, 0) + coalesce(Tax, 0), 2)")),
            FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
            FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
        ),
    )


VENDORS = ModuleDef(
    "Vendors", 5843104000000002201, "Vendor", "Vendors", "Vendor_Name", share=0.01, id_slot=21,
    duplicate_check_fields=("Vendor_Name",),
    fields=tuple(system_fields() + [
        FieldDef("Vendor_Name", "text", "Vendor Name", length=120, mandatory=True, gen="company_unique"),
        FieldDef("Email", "email", length=100, gen="email", null_rate=0.2),
        FieldDef("Phone", "phone", length=30, gen="phone", null_rate=0.2),
        FieldDef("Website", "website", length=255, gen="website", null_rate=0.4),
        FieldDef("GL_Account", "picklist", "GL Account", null_rate=0.3,
                 picklist=("Sales-Software", "Sales-Hardware", "Rental-Income", "Interest-Income", "Freight")),
        FieldDef("Category", "text", length=100, gen="department", null_rate=0.5),
        FieldDef("Street", "text", length=250, gen="street", null_rate=0.2),
        FieldDef("City", "text", length=30, gen="city", null_rate=0.2),
        FieldDef("Zip_Code", "text", "Zip Code", length=30, gen="zip", null_rate=0.2),
        FieldDef("Country", "text", length=30, gen="country", null_rate=0.2),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.6),
    ]),
)

PRODUCTS = ModuleDef(
    "Products", 5843104000000002199, "Product", "Products", "Product_Name", share=0.02, id_slot=22,
    duplicate_check_fields=("Product_Name",),
    fields=tuple(system_fields() + [
        FieldDef("Product_Name", "text", "Product Name", length=200, mandatory=True, gen="product_name"),
        FieldDef("Product_Code", "text", "Product Code", length=40, gen="product_code"),
        FieldDef("Product_Active", "boolean", "Product Active", gen="bool90"),
        FieldDef("Product_Category", "picklist", "Product Category", null_rate=0.2,
                 picklist=("Hardware", "Software", "CRM Applications", "Services", "Training")),
        FieldDef("Manufacturer", "picklist", null_rate=0.4, picklist=("AltvetPet Inc.", "LexPon Inc.", "MetBeat Corp.")),
        FieldDef("Vendor_Name", "lookup", "Vendor Name", lookup="Vendors", gen="vendor", null_rate=0.3),
        FieldDef("Unit_Price", "currency", "Unit Price", decimal_place=2, gen="product_price"),
        FieldDef("Commission_Rate", "currency", "Commission Rate", decimal_place=2, gen="money_small", null_rate=0.6),
        FieldDef("Taxable", "boolean", gen="bool90"),
        FieldDef("Usage_Unit", "picklist", "Usage Unit", null_rate=0.3,
                 picklist=("Box", "Carton", "Dozen", "Each", "Hours", "Impressions", "Lb", "M", "Pack", "Pages")),
        FieldDef("Qty_in_Stock", "double", "Qty in Stock", decimal_place=2, gen="stock", null_rate=0.2),
        FieldDef("Qty_Ordered", "double", "Qty Ordered", decimal_place=2, gen="stock", null_rate=0.5),
        FieldDef("Reorder_Level", "double", "Reorder Level", decimal_place=2, gen="stock", null_rate=0.5),
        FieldDef("Handler", "userlookup", lookup="Users", gen="user", null_rate=0.5),
        FieldDef("Sales_Start_Date", "date", "Sales Start Date", gen="past_date", null_rate=0.4),
        FieldDef("Sales_End_Date", "date", "Sales End Date", gen="future_date", null_rate=0.6),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
    ]),
)

PRICE_BOOKS = ModuleDef(
    "Price_Books", 5843104000000002203, "Price Book", "Price Books", "Price_Book_Name", share=0.003, id_slot=23,
    duplicate_check_fields=("Price_Book_Name",),
    fields=tuple(system_fields() + [
        FieldDef("Price_Book_Name", "text", "Price Book Name", length=120, mandatory=True, gen="price_book_name"),
        FieldDef("Active", "boolean", gen="bool90"),
        FieldDef("Pricing_Model", "picklist", "Pricing Model", picklist=("Flat", "Differential")),
        # mandatory per the insert docs; not here: the SDK skips the check, and a Flat book has none
        FieldDef("Pricing_Details", "pricing_details", "Pricing Details", searchable=False, gen="pricing_details"),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.6),
    ]),
)


def _order(api: str, module_id: int, slot: int, share: float, label: str, items_field: str,
           extra: list[FieldDef]) -> ModuleDef:
    items = ITEM_MODULES[api]
    # bulk_write=False: Zoho takes an order with its lines as two CSVs in one zip (parent and subform
    # files); this emulator's bulk write reads one CSV, so it says MODULE_NOT_AVAILABLE (records API instead)
    return ModuleDef(
        api, module_id, label, label + "s", "Subject", share=share, id_slot=slot, duplicate_check_fields=("Subject",),
        bulk_write=False,
        fields=tuple(system_fields() + [
            FieldDef("Subject", "text", length=255, mandatory=True, gen="order_subject"),
            *extra,
            FieldDef(items_field, "subform", items_field.replace("_", " "), mandatory=True, related_module=items,
                     searchable=False),
            *_totals(items),
            *_address("Billing"), *_address("Shipping"),
            FieldDef("Terms_and_Conditions", "textarea", "Terms and Conditions", length=32000, textarea_type="large",
                     searchable=False, gen="terms", null_rate=0.5),
            FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                     gen="description", null_rate=0.6),
        ]),
    )


_ACCOUNT = FieldDef("Account_Name", "lookup", "Account Name", lookup="Accounts", gen="account", null_rate=0.05)
_CONTACT = FieldDef("Contact_Name", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.2)
_DEAL = FieldDef("Deal_Name", "lookup", "Deal Name", lookup="Deals", gen="deal", null_rate=0.3)

QUOTES = _order("Quotes", 5843104000000002205, 24, 0.03, "Quote", "Quoted_Items", [
    FieldDef("Quote_Stage", "picklist", "Quote Stage",
             picklist=("Draft", "Negotiation", "Delivered", "On Hold", "Confirmed", "Closed Won", "Closed Lost")),
    FieldDef("Valid_Till", "date", "Valid Till", gen="future_date", null_rate=0.2),
    FieldDef("Carrier", "picklist", null_rate=0.5, picklist=("FedEX", "UPS", "USPS", "DHL", "BlueDart")),
    _ACCOUNT, _CONTACT, _DEAL])
SALES_ORDERS = _order("Sales_Orders", 5843104000000002207, 25, 0.02, "Sales Order", "Ordered_Items", [
    FieldDef("Status", "picklist", picklist=("Created", "Approved", "Delivered", "Cancelled")),
    FieldDef("Due_Date", "date", "Due Date", gen="future_date", null_rate=0.2),
    FieldDef("Quote_Name", "lookup", "Quote Name", lookup="Quotes", gen="quote", null_rate=0.4),
    FieldDef("Customer_No", "text", "Customer No", length=40, gen="external_ref", null_rate=0.5),
    _ACCOUNT, _CONTACT, _DEAL])
PURCHASE_ORDERS = _order("Purchase_Orders", 5843104000000002209, 26, 0.01, "Purchase Order", "Purchased_Items", [
    FieldDef("Vendor_Name", "lookup", "Vendor Name", lookup="Vendors", mandatory=True, gen="vendor"),
    FieldDef("Status", "picklist", picklist=("Created", "Approved", "Delivered", "Cancelled")),
    FieldDef("PO_Date", "date", "PO Date", gen="past_date", null_rate=0.1),
    FieldDef("Tracking_Number", "text", "Tracking Number", length=50, gen="external_ref", null_rate=0.5),
    _CONTACT])
INVOICES = _order("Invoices", 5843104000000002211, 27, 0.03, "Invoice", "Invoiced_Items", [
    FieldDef("Status", "picklist", picklist=("Created", "Approved", "Delivered", "Cancelled", "Paid")),
    FieldDef("Invoice_Date", "date", "Invoice Date", gen="past_date", null_rate=0.05),
    FieldDef("Due_Date", "date", "Due Date", gen="future_date", null_rate=0.1),
    FieldDef("Sales_Order", "lookup", "Sales Order", lookup="Sales_Orders", gen="sales_order", null_rate=0.4),
    _ACCOUNT, _CONTACT, _DEAL])

QUOTED_ITEMS = _items("Quoted_Items", "Quotes", 5843104000000002219, 28, 0.1)
ORDERED_ITEMS = _items("Ordered_Items", "Sales_Orders", 5843104000000002221, 29, 0.07)
PURCHASE_ITEMS = _items("Purchase_Items", "Purchase_Orders", 5843104000000002223, 30, 0.035)
INVOICED_ITEMS = _items("Invoiced_Items", "Invoices", 5843104000000002225, 31, 0.1)

# The products of a price book, each with its list price in that book: the related lists
# ``Products`` of a price book and ``Price_Books`` of a product, linked (or re-priced) and
# delinked through the related records API (``PUT /Price_Books/{id}/Products`` with
# ``{"data": [{"id": <product>, "list_price": 12.5}]}``). No module of its own (not in
# /settings/modules, COQL or bulk), like campaign members.
PRICE_BOOK_PRODUCTS = ModuleDef(
    "Price_Books_X_Products", 5843104000000402801, "Price Book Product", "Price Book Products", "id",
    generated_type="linking", share=0.008, id_slot=43, parent_module="Price_Books", api_supported=False,
    listed=False, creatable=False, bulk_read=False, bulk_write=False, coql=False, search=False,
    fields=(
        FieldDef("Price_Book", "lookup", "Price Book", lookup="Price_Books", mandatory=True, gen="book_of_link"),
        FieldDef("Product", "lookup", lookup="Products", mandatory=True, gen="product_of_link"),
        FieldDef("list_price", "currency", "List Price", decimal_place=2, gen="product_price"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)

#: load order: what line items and orders look up comes first
INVENTORY = (VENDORS, PRODUCTS, PRICE_BOOKS, QUOTES, SALES_ORDERS, PURCHASE_ORDERS, INVOICES,
             QUOTED_ITEMS, ORDERED_ITEMS, PURCHASE_ITEMS, INVOICED_ITEMS, PRICE_BOOK_PRODUCTS)
