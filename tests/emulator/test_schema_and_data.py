"""The emulated org covers every data type with awkward, deterministic data."""

from __future__ import annotations

from connector.emulator import Emulator, schema


def test_every_documented_data_type_appears():
    used = {f.data_type for m in schema.ALL_MODULES for f in m.fields}
    assert schema.ALL_DATA_TYPES <= used, sorted(schema.ALL_DATA_TYPES - used)


def test_required_modules_exist():
    names = {m.api_name for m in schema.MODULES}
    assert {"Leads", "Contacts", "Accounts", "Deals", "Tasks"} <= names
    assert any(m.generated_type == "custom" for m in schema.MODULES)
    assert any(m.generated_type == "subform" for m in schema.MODULES)
    assert any(f.custom for f in schema.LEADS.fields)


def test_same_seed_same_org_different_seed_different_org():
    with Emulator(records=300, seed=5) as a, Emulator(records=300, seed=5) as b, \
            Emulator(records=300, seed=6) as c:
        from tests.conftest import ZohoClient

        ea, eb, ec = (ZohoClient(e).export("Leads") for e in (a, b, c))
        assert ea == eb
        assert ea != ec
        # one instance is one data center: b's client is unknown to a
        r = ZohoClient(a).http.post(f"{a.accounts_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": b.client_id, "client_secret": b.client_secret,
            "refresh_token": b.refresh_token})
        assert r.status_code == 200 and r.json() == {"error": "invalid_client"}


def test_awkward_values_present(zoho):
    leads = zoho.export("Leads")
    text = [str(r.get("Last_Name")) + str(r.get("Description")) for r in leads]
    assert any("'" in t for t in text) and any('"' in t for t in text)
    assert any("\n" in str(r.get("Description")) for r in leads)
    assert any(any(ord(ch) > 127 for ch in t) for t in text)
    assert any(str(r.get("Zip_Code") or "").startswith("0") for r in leads)
    assert any(r.get("Notes_Long") and len(r["Notes_Long"]) == 2000 for r in leads)
    assert any(r["Email"] is None for r in leads)
    assert any(isinstance(r["Interests"], list) and len(r["Interests"]) > 1 for r in leads)
    assert any(r["Annual_Revenue"] is not None and r["Annual_Revenue"] != int(r["Annual_Revenue"]) for r in leads)
    times = [r["Modified_Time"] for r in leads]
    assert len(times) - len(set(times)) > len(times) // 10, "many records must share one Modified_Time second"
    months = {t[:7] for t in times}
    assert len(months) >= 6


def test_lookups_point_at_real_records(zoho):
    accounts = {r["id"]: r for r in zoho.export("Accounts")}
    contacts = zoho.export("Contacts")
    linked = [c for c in contacts if c["Account_Name"]]
    assert linked
    for c in linked:
        acc = accounts[c["Account_Name"]["id"]]
        assert c["Account_Name"]["name"] == acc["Account_Name"]
    users = {str(u.id) for u in schema.USERS}
    assert all(c["Owner"]["id"] in users for c in contacts)
    leads = zoho.export("Leads")
    conv = [lead for lead in leads if lead["Converted__s"]]
    assert conv and all(lead["Converted_Account"]["id"] in accounts for lead in conv)
