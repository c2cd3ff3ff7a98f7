"""Which Zoho API serves which module: the facts the planner, the readers and the sync source ask.

Zoho's metadata does not say which read APIs take a module; its documentation
does, and the connector keeps those lists here (the emulator's coverage table,
``tests/emulator/test_api_coverage.py``, follows the same documents):

* COQL's module list: "leads, accounts, contacts, users, deals, campaigns, tasks,
  cases, events, calls, solutions, products, vendors, pricebooks, quotes,
  salesorders, purchaseorders, invoices, and custom" — and subform modules
  (inventory line items, custom subforms) and linking modules, queried by their
  own api names (search-and-coql.md B.4);
* the Search API and Bulk Read serve the same modules; Bulk Read exports
  neither Notes nor Attachments (bulk-read.md section 4);
* every other module the metadata marks ``api_supported`` (Notes, and standard
  modules these lists leave out) is read through the records API alone, and
  has no ``/actions/count`` (the emulator, like Zoho, answers INVALID_MODULE);
* Attachments are no records module at all (``api_supported: false``): each
  record's attachments are listed by ``GET /{module}/{id}/Attachments``
  (:data:`PER_PARENT`).

A module that is in none of the lists is given the records API only: slower,
never wrong. Fields have their own limits (:attr:`..types.FieldInfo.records_only`).
"""

from __future__ import annotations

ALL_APIS = frozenset({"REST", "COQL", "Search", "Bulk"})
RECORDS_API = frozenset({"REST"})
#: read one parent record at a time through its related list (connector.readers.org_tables)
PER_PARENT = frozenset({"Related"})
#: the tables of connector.schema.org_tables, read from their metadata endpoints
METADATA = frozenset({"Metadata"})

#: standard modules COQL, Search and Bulk Read take (Zoho's COQL module list, api names)
QUERYABLE_STANDARD = frozenset({
    "Leads", "Accounts", "Contacts", "Deals", "Campaigns", "Tasks", "Cases", "Events", "Calls", "Solutions",
    "Products", "Vendors", "Price_Books", "Quotes", "Sales_Orders", "Purchase_Orders", "Invoices",
})
#: module kinds (``generated_type``) those APIs take by their own api names
QUERYABLE_KINDS = frozenset({"custom", "subform", "linking"})
#: modules whose rows are listed per parent record, not by any module-wide API
PER_PARENT_MODULES = frozenset({"Attachments"})


def read_apis(module: str, generated_type: str) -> frozenset[str]:
    """The read APIs (``REST``, ``COQL``, ``Search``, ``Bulk``; ``Related``) that serve ``module``."""
    if module in PER_PARENT_MODULES:
        return PER_PARENT
    if module in QUERYABLE_STANDARD or generated_type in QUERYABLE_KINDS:
        return ALL_APIS
    return RECORDS_API


def fallback_api(apis: frozenset[str], wanted: str) -> str:
    """``wanted`` when it serves the module, else the API that does (the records API where it can)."""
    if wanted in apis:
        return wanted
    return "REST" if "REST" in apis else sorted(apis)[0]


def refusal_note(module: str, apis: frozenset[str], wanted: str) -> str:
    """Why ``wanted`` was not used for ``module`` (for EXPLAIN and the logs)."""
    if apis == PER_PARENT:
        return f"{module} is listed per parent record (GET /{{module}}/{{id}}/{module}); no module-wide API serves it"
    if apis == METADATA:
        return f"{module} is read from its metadata endpoint (connector.schema.org_tables)"
    return f"{module} is served by the records API only ({wanted} does not take it)"
