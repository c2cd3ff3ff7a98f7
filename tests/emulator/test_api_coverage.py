"""Which API serves which module of a whole org, and how Zoho says no (the table of issue 13).

Each row: module, records API, COQL, Search, Bulk Read, Bulk Write. ``True`` = served;
otherwise the error code the API answers. Sources: COQL's module list ("leads, accounts,
contacts, users, deals, campaigns, tasks, cases, events, calls, solutions, products, vendors,
pricebooks, quotes, salesorders, purchaseorders, invoices, and custom"), bulk-read.md section 4
(not Notes, Attachments), bulk-write.md section 5 (not Notes, Attachments, subform/linking
modules alone); orders through bulk write need their line items as a second CSV, which this
emulator does not read (MODULE_NOT_AVAILABLE, documented).
"""

from __future__ import annotations

import pytest

from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("A read-only enterprise org for the coverage table.", records=400, seed=31, org="enterprise")
z = client_fixture("org")

OK = True
NOT_IN_API = "INVALID_MODULE"
COVERAGE: dict[str, tuple[object, object, object, object, object]] = {
    # module:           records, COQL, search, bulk read, bulk write
    "Leads": (OK, OK, OK, OK, OK),
    "Calls": (OK, OK, OK, OK, OK),
    "Events": (OK, OK, OK, OK, OK),
    "Products": (OK, OK, OK, OK, OK),
    "Vendors": (OK, OK, OK, OK, OK),
    "Price_Books": (OK, OK, OK, OK, OK),
    "Quotes": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Sales_Orders": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Purchase_Orders": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Invoices": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Quoted_Items": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Invoiced_Items": (OK, OK, OK, OK, "MODULE_NOT_AVAILABLE"),
    "Campaigns": (OK, OK, OK, OK, OK),
    "Cases": (OK, OK, OK, OK, OK),
    "Solutions": (OK, OK, OK, OK, OK),
    "Notes": (OK, NOT_IN_API, NOT_IN_API, "MODULE_NOT_SUPPORTED", "MODULE_NOT_AVAILABLE"),
    "Attachments": (NOT_IN_API, NOT_IN_API, NOT_IN_API, "MODULE_NOT_SUPPORTED", "MODULE_NOT_AVAILABLE"),
    "Stage_History": (NOT_IN_API, NOT_IN_API, NOT_IN_API, "INVALID_MODULE", "MODULE_NOT_AVAILABLE"),
    "Campaigns_X_Leads": (NOT_IN_API, NOT_IN_API, NOT_IN_API, "INVALID_MODULE", "MODULE_NOT_AVAILABLE"),
}
APIS = ("records", "coql", "search", "bulk_read", "bulk_write")


def call(z: ZohoClient, api: str, module: str) -> tuple[int, str | None]:
    if api == "records":
        r = z.get(f"/{module}", params={"fields": "id,Created_Time", "per_page": 1})
    elif api == "coql":
        r = z.post("/coql", json={"select_query": f"select id from {module} where id is not null limit 1"})
    elif api == "search":
        r = z.get(f"/{module}/search", params={"criteria": "(Created_Time:greater_than:2000-01-01T00:00:00+00:00)"})
    elif api == "bulk_read":
        r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": module}}})
    else:
        r = z.post("/write", base=z.bulk, json={"operation": "insert", "resource": [
            {"type": "data", "module": {"api_name": module}, "file_id": "5843104980000000000",
             "field_mappings": [{"api_name": "id", "index": 0}]}]})
    return r.status_code, (r.json().get("code") if r.content and r.status_code >= 400 else None)


@pytest.mark.parametrize("module", list(COVERAGE))
@pytest.mark.parametrize("api", APIS)
def test_each_api_serves_or_refuses_each_module_as_zoho_does(z: ZohoClient, module: str, api: str) -> None:
    expected = COVERAGE[module][APIS.index(api)]
    status, code = call(z, api, module)
    if expected is OK:
        if api == "bulk_write":  # served: the module passes, the made-up file id does not
            assert code == "INVALID_FILE_ID", (status, code)
        else:
            assert status in (200, 201, 204), (status, code)
    else:
        assert (status, code) == (400, expected)


def test_the_table_covers_every_module_of_the_org(z: ZohoClient) -> None:
    listed = {m["api_name"] for m in z.get("/settings/modules").json()["modules"] if m["api_supported"]}
    kinds = {"Quoted_Items", "Ordered_Items", "Purchase_Items", "Invoiced_Items"}
    assert listed - kinds - {"Accounts", "Contacts", "Deals", "Tasks", "Projects", "Project_Milestones",
                             "Projects_X_Contacts", "Projects_X_Users", "Deals_X_Competitors"} <= set(COVERAGE)


# How each metadata endpoint says "no module" or "not that module": Zoho's own specs differ per endpoint
# (zoho/crm-oas v8.0: fields.json's InvalidParamError has empty details, related_lists.json names the
# param as ``param``, custom_views.json as ``param_name``) and a client that checks shapes must see them.
ERROR_DETAILS = [
    ("/settings/fields", {"module": "Nope"}, "INVALID_MODULE", {}),
    ("/settings/fields/5843104000000002001", {"module": "Nope"}, "INVALID_MODULE", {}),
    ("/settings/related_lists", {"module": "Nope"}, "INVALID_MODULE", {"param": "module"}),
    ("/settings/custom_views", {}, "REQUIRED_PARAM_MISSING", {"param_name": "module"}),
    ("/settings/tags", {}, "REQUIRED_PARAM_MISSING", {"param": "module"}),
]


@pytest.mark.parametrize(("path", "params", "code", "details"), ERROR_DETAILS)
def test_metadata_errors_carry_the_details_zoho_s_spec_gives(z: ZohoClient, path: str, params: dict[str, str],
                                                            code: str, details: dict[str, str]) -> None:
    r = z.get(path, params=params)
    assert r.status_code == 400 and r.json()["code"] == code
    assert r.json()["details"] == details
