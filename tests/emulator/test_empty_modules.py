"""An org may have empty modules (a new org has no Deals yet): the emulator generates it without a crash."""

from __future__ import annotations

import pytest

from connector.emulator import Emulator
from tests.conftest import ZohoClient


def test_an_org_with_empty_modules_is_served():
    with Emulator(records=300, seed=9, sizes={"Deals": 0, "Leads": 0}) as emu:
        # the linking rows that must name a Deal have nothing to name
        assert emu.app.sizes["Deals_X_Competitors"] == 0
        zoho = ZohoClient(emu)
        assert zoho.get("/Deals", params={"fields": "Deal_Name"}).status_code == 204
        assert zoho.export("Leads") == [] and zoho.export("Deals_X_Competitors") == []
        tasks = zoho.export("Tasks")
        assert any(t["What_Id"] for t in tasks) and any(t["Related_Record"] for t in tasks)
        # a task's What_Id names an Account (never the empty Deals), its Related_Record a Contact
        assert {t["$se_module"] for t in tasks if t["What_Id"]} == {"Accounts"}
        assert {t["Related_Record"]["module"]["api_name"] for t in tasks if t["Related_Record"]} == {"Contacts"}
        r = zoho.post("/coql", json={"select_query": "select COUNT(id) from Deals where id is not null"})
        assert r.status_code in (200, 204), r.text


def test_no_account_or_contact_means_no_converted_lead():
    with Emulator(records=400, seed=9, sizes={"Accounts": 0}) as emu:
        leads = ZohoClient(emu).export("Leads")
        assert leads and not any(lead["Converted__s"] for lead in leads)
        assert all(lead["Converted_Account"] is None for lead in leads)


def test_a_child_module_cannot_outnumber_an_empty_parent():
    with pytest.raises(ValueError, match="Projects_X_Contacts records need Projects records"):
        Emulator(records=10, sizes={"Projects": 0, "Projects_X_Contacts": 5}).start()
