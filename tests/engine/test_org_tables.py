"""The whole org as tables: every module, Attachments per parent, metadata, deletions, stage history.

Against the enterprise emulator over real HTTP. Each ``_X`` table's rows are
compared with what its endpoint answers to a plain-requests client (the paths
below are written from Zoho's docs here, not taken from the connector's table
definitions); Attachments with the emulator's export. Pushdown on a table's
key column is checked with the emulator's call counters, and writes to the
read-only tables are refused before any call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.emulator.schema import ORGS
from connector.engine.executor import Engine
from connector.errors import NotSupportedError
from connector.schema.org_tables import TABLES
from connector.session import ZohoSession

from ..conftest import ZohoClient, org_fixture

org = org_fixture("An enterprise org of 800 records for the org tables (read-only).", records=800, seed=13)


@pytest.fixture(scope="module")
def client(org: Emulator) -> ZohoClient:
    return ZohoClient(org)


@pytest.fixture(scope="module")
def engine(org: Emulator) -> Iterator[Engine]:
    session = ZohoSession(org.connection_string)
    yield Engine(session)
    session.close()


def calls(emu: Emulator) -> dict[str, int]:
    return {k: int(v) for k, v in emu.stats()["calls"].items()}


def spent(emu: Emulator, before: dict[str, int]) -> dict[str, int]:
    now = calls(emu)
    return {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0) and k != "token"}


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def listed(client: ZohoClient, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object an endpoint lists (all pages); none when it answers 204 or refuses the module."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = client.get(path, params={**(params or {}), "page": page, "per_page": 200})
        if r.status_code != 200:
            return out
        body = r.json()
        out += body.get(key) or []
        if not (body.get("info") or {}).get("more_records"):
            return out
        page += 1


def record_modules(engine: Engine) -> list[str]:
    shown = engine.run("SHOW TABLES").reader.read_all().column("table").to_pylist()
    return [t for t in shown if not t.startswith("_")]


# table -> (objects from the endpoints, {column: path in one object}); "@module" is the module asked
Fetch = Callable[[ZohoClient, Engine], list[tuple[str, dict[str, Any]]]]


def org_wide(path: str, key: str, **params: Any) -> Fetch:
    return lambda client, engine: [("", o) for o in listed(client, path, key, params)]


def per_module(path: str, key: str) -> Fetch:
    return lambda client, engine: [(m, o) for m in record_modules(engine)
                                   for o in listed(client, path, key, {"module": m})]


def per_deal(client: ZohoClient, engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    return [("Deals", o) for d in client.export("Deals") for o in listed(client, f"/Deals/{d['id']}/Stage_History",
                                                                            "data")]


EXPECTED: dict[str, tuple[Fetch, dict[str, str]]] = {
    "_Users": (org_wide("/users", "users", type="AllUsers"),
               {"id": "id", "email": "email", "status": "status", "role_name": "role.name", "profile_id": "profile.id"}),
    "_Roles": (org_wide("/settings/roles", "roles"), {"id": "id", "name": "name", "reporting_to_id": "reporting_to.id"}),
    "_Profiles": (org_wide("/settings/profiles", "profiles"), {"id": "id", "name": "name"}),
    "_Territories": (org_wide("/settings/territories", "territories"),
                     {"id": "id", "name": "name", "manager_id": "manager.id"}),
    "_Currencies": (org_wide("/org/currencies", "currencies"), {"id": "id", "iso_code": "iso_code", "symbol": "symbol"}),
    "_Modules": (org_wide("/settings/modules", "modules"),
                 {"id": "id", "api_name": "api_name", "generated_type": "generated_type"}),
    "_Fields": (per_module("/settings/fields", "fields"),
                {"module": "@module", "id": "id", "api_name": "api_name", "data_type": "data_type"}),
    "_Layouts": (per_module("/settings/layouts", "layouts"), {"module": "@module", "id": "id", "name": "name"}),
    "_Custom_Views": (per_module("/settings/custom_views", "custom_views"),
                      {"module": "@module", "id": "id", "name": "name", "system_name": "system_name"}),
    "_Related_Lists": (per_module("/settings/related_lists", "related_lists"),
                       {"module": "@module", "id": "id", "api_name": "api_name", "related_module": "module.api_name"}),
    "_Tags": (per_module("/settings/tags", "tags"), {"module": "@module", "id": "id", "name": "name"}),
    "_Stage_History": (per_deal, {"id": "id", "Deal_Id": "Deal_Name.id", "Stage": "Stage"}),
}


def test_show_tables_lists_every_module_and_org_table(engine: Engine) -> None:
    shown = set(engine.run("SHOW TABLES").reader.read_all().column("table").to_pylist())
    modules = {m.api_name for m in ORGS["enterprise"].listed if m.api_supported or m.api_name == "Attachments"}
    assert modules <= shown
    assert {t.name for t in TABLES} <= shown
    assert {"Notes", "Attachments", "Quoted_Items", "Invoiced_Items", "Calls", "Events", "Price_Books"} <= shown
    assert shown - modules == {t.name for t in TABLES}, "nothing else is listed"


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_org_table_rows_equal_the_endpoints(table: str, client: ZohoClient, engine: Engine) -> None:
    fetch, columns = EXPECTED[table]
    want = sorted(tuple(None if (v := (m if p == "@module" else dig(o, p))) is None else str(v)
                        for p in columns.values()) for m, o in fetch(client, engine))
    got = engine.query_table(f"SELECT {', '.join(columns)} FROM {table}")
    rows = sorted(tuple(None if v is None else str(v) for v in r.values()) for r in got.to_pylist())
    assert want, f"the emulator lists no {table}: the comparison would prove nothing"
    assert rows == want


def test_metadata_columns_say_what_the_connector_makes_of_them(engine: Engine) -> None:
    owner = engine.query_table("SELECT columns FROM _Fields WHERE module = 'Leads' AND api_name = 'Owner'")
    assert owner.column(0).to_pylist() == [["Owner_Id", "Owner_Name"]]
    found = engine.query_table("SELECT api_name, read_apis FROM _Modules "
                               "WHERE api_name IN ('Leads', 'Notes', 'Attachments')").to_pylist()
    apis = {r["api_name"]: r["read_apis"] for r in found}
    assert apis == {"Leads": ["Bulk", "COQL", "REST", "Search"], "Notes": ["REST"], "Attachments": ["Related"]}


def test_notes_attachments_and_line_items_carry_their_parent(client: ZohoClient, engine: Engine) -> None:
    att = engine.query_table("SELECT id, File_Name, Size, Parent_Id_Id, Parent_Id_Module, File_Id FROM Attachments")
    want = sorted((a["id"], a["File_Name"], int(a["Size"]), a["Parent_Id"]["id"], a["$se_module"], a["$file_id"])
                  for a in client.export("Attachments"))
    assert want and sorted(tuple(r.values()) for r in att.to_pylist()) == want
    notes = engine.query_table("SELECT id, Parent_Id_Id, Parent_Id_Module, Note_Content FROM Notes")
    want = sorted((n["id"], n["Parent_Id"]["id"], n["Parent_Id"]["module"]["api_name"], n["Note_Content"])
                  for n in client.export("Notes"))
    assert want and sorted(tuple(r.values()) for r in notes.to_pylist()) == want
    items = engine.query_table("SELECT id, Parent_Id_Id, Product_Name_Id, Quantity FROM Invoiced_Items")
    want = sorted((i["id"], i["Parent_Id"]["id"], i["Product_Name"]["id"], float(i["Quantity"]))
                  for i in client.export("Invoiced_Items"))
    assert want and sorted(tuple(r.values()) for r in items.to_pylist()) == want


def test_campaign_members_equal_the_links_with_their_status(org: Emulator, client: ZohoClient,
                                                            engine: Engine) -> None:
    want = sorted((m["Campaign"]["id"], module, m[field]["id"], m["Member_Status"])
                  for module, field in (("Leads", "Lead"), ("Contacts", "Contact"))
                  for m in client.export(f"Campaigns_X_{module}"))
    got = engine.query_table("SELECT id, Campaign_Id, Member_Module, Member_Id, Member_Status FROM _Campaign_Members")
    assert want and sorted(tuple(r.values())[1:] for r in got.to_pylist()) == want
    assert all(r["id"] == f"{r['Campaign_Id']}:{r['Member_Id']}" for r in got.to_pylist())
    campaign = want[0][0]
    before = calls(org)
    one = engine.query_table(f"SELECT count(*) FROM _Campaign_Members WHERE Campaign_Id = '{campaign}'")
    assert one.column(0).to_pylist() == [sum(1 for w in want if w[0] == campaign)]
    assert spent(org, before) == {"get_related": 2}, "one campaign's Leads and Contacts lists"


def test_contact_roles_equal_the_deals_contacts_with_their_role(org: Emulator, client: ZohoClient,
                                                                 engine: Engine) -> None:
    roles = {r["id"]: r["name"] for r in client.get("/Contacts/roles").json()["contact_roles"]}
    want = sorted((r["Deal"]["id"], r["Contact"]["id"], roles[str(r["Contact_Role"])])
                  for r in client.export("Deals_X_Contact_Roles"))
    got = engine.query_table("SELECT id, Deal_Id, Contact_Id, Contact_Role, Contact_Role_Id FROM _Contact_Roles")
    rows = got.to_pylist()
    assert want and sorted((r["Deal_Id"], r["Contact_Id"], r["Contact_Role"]) for r in rows) == want
    assert all(r["id"] == f"{r['Deal_Id']}:{r['Contact_Id']}" and roles[r["Contact_Role_Id"]] == r["Contact_Role"]
               for r in rows)
    deal = want[0][0]
    before = calls(org)
    one = engine.query_table(f"SELECT count(*) FROM _Contact_Roles WHERE Deal_Id = '{deal}'")
    assert one.column(0).to_pylist() == [sum(1 for w in want if w[0] == deal)]
    assert spent(org, before) == {"get_contact_roles": 1}, "one deal's Contact_Roles list"


# ---- pushdown on the key column -----------------------------------------------------------------


def test_module_key_limits_the_calls_to_those_modules(org: Emulator, engine: Engine) -> None:
    engine.session.catalog.table("Leads"), engine.session.catalog.table("Deals")  # schema calls out of the count
    before = calls(org)
    got = engine.query_table("SELECT DISTINCT module FROM _Layouts WHERE module IN ('Leads', 'Deals')")
    assert sorted(got.column(0).to_pylist()) == ["Deals", "Leads"]
    assert spent(org, before) == {"list_layouts": 2}
    before = calls(org)
    engine.query_table("SELECT count(*) FROM _Layouts")
    assert spent(org, before)["list_layouts"] > 20, "without the key every module is asked"
    assert "calls only for:  module IN ('Leads', 'Deals')" in engine.explain(
        "SELECT * FROM _Layouts WHERE module IN ('Leads', 'Deals')")


def test_deal_key_limits_stage_history_to_that_deal(org: Emulator, client: ZohoClient, engine: Engine) -> None:
    deal = client.export("Deals")[3]["id"]
    before = calls(org)
    got = engine.query_table(f"SELECT DISTINCT Deal_Id FROM _Stage_History WHERE Deal_Id = '{deal}'")
    assert got.column(0).to_pylist() == [deal]
    assert spent(org, before) == {"get_related": 1}, "one deal's history, and no list of every deal"


def test_parent_keys_limit_attachment_calls(org: Emulator, client: ZohoClient, engine: Engine) -> None:
    parents = sorted({(a["$se_module"], a["Parent_Id"]["id"]) for a in client.export("Attachments")})
    module = parents[0][0]
    ids = [p for m, p in parents if m == module][:2]
    want = sorted(a["id"] for a in client.export("Attachments") if a["Parent_Id"]["id"] in ids)
    engine.session.catalog.table("Attachments")
    before = calls(org)
    id_list = ", ".join(f"'{i}'" for i in ids)
    got = engine.query_table(f"SELECT id FROM Attachments WHERE Parent_Id_Module = '{module}' "
                             f"AND Parent_Id_Id IN ({id_list})")
    assert sorted(got.column(0).to_pylist()) == want
    used = spent(org, before)
    assert used.get("get_attachments") == len(ids)
    assert not {"coql_query", "list_records"} & set(used), "the parents' ids were given: none is listed"


def test_a_parent_id_without_its_module_is_probed_quietly(client: ZohoClient, engine: Engine,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Every module an attachment may hang off is asked for the id: the misses are no failed calls."""
    a = client.export("Attachments")[0]
    with caplog.at_level(logging.INFO, logger="connector"):
        got = engine.query_table(f"SELECT id FROM Attachments WHERE Parent_Id_Id = '{a['Parent_Id']['id']}'")
    assert a["id"] in got.column(0).to_pylist()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "a miss is logged as an error"
    assert any("failed" in r.getMessage() for r in caplog.records), "the misses are still in the log, at INFO"


# ---- read-only ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "INSERT INTO _Tags (name) VALUES ('x')",
    "UPDATE _Users SET email = 'x@example.com' WHERE id = '1'",
    "DELETE FROM _Deleted_Records WHERE id = '1'",
    "DELETE FROM _Fields WHERE module = 'Leads'",
    "UPDATE Attachments SET File_Name = 'x' WHERE id = '1'",
])
def test_writes_to_read_only_tables_are_refused_before_any_call(sql: str, org: Emulator, engine: Engine) -> None:
    table = sql.split()[2] if sql.startswith(("INSERT", "DELETE")) else sql.split()[1]
    engine.session.catalog.table(table)
    before = calls(org)
    with pytest.raises(NotSupportedError) as err:
        engine.run(sql)
    assert f"{table} is a read-only table" in str(err.value)
    assert err.value.hint and any(w in err.value.hint for w in ("Attachments API", "Setup", "recycle bin"))
    assert spent(org, before) == {}


# ---- deletions --------------------------------------------------------------------------------------


def test_deleted_records_recycle_bin_and_permanent(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=300, seed=5)
    client = ZohoClient(emu)
    me = client.get("/users", params={"type": "CurrentUser"}).json()["users"][0]["id"]
    leads = [r["id"] for r in client.export("Leads")[:3]]
    r = client.delete("/Leads", params={"ids": ",".join(leads)})
    assert r.status_code == 200, r.text
    emu.advance_clock(61 * 86400)  # past the 60 days of the recycle bin: listed as permanently deleted
    client.token = client.mint()
    deals = [r["id"] for r in client.export("Deals")[:2]]
    r = client.delete("/Deals", params={"ids": ",".join(deals)})
    assert r.status_code == 200, r.text
    session = ZohoSession(emu.connection_string)
    try:
        engine = Engine(session)
        got = engine.query_table("SELECT module, id, type, deleted_by_id, deleted_time FROM _Deleted_Records "
                                 "ORDER BY module, id").to_pylist()
        before = calls(emu)
        one = engine.query_table("SELECT id FROM _Deleted_Records WHERE module = 'Deals'")
        assert spent(emu, before) == {"deleted_records": 1}
        modules = record_modules(engine)
    finally:
        session.close()
    mine = sorted((r["module"], r["id"], r["type"]) for r in got if r["id"] in leads + deals)
    assert mine == sorted([("Leads", i, "permanent") for i in leads] + [("Deals", i, "recycle") for i in deals])
    assert {r["deleted_by_id"] for r in got if r["id"] in leads + deals} == {me}
    # and every row is what /deleted answers, module by module (cascaded notes and line items too)
    raw = {(m, d["id"]): d for m in modules
           for d in listed(client, f"/{m}/deleted", "data", {"type": "all"})}
    assert sorted(raw) == sorted((r["module"], r["id"]) for r in got)
    for r in got:
        d = raw[(r["module"], r["id"])]
        assert (r["type"], r["deleted_by_id"]) == (d["type"], (d.get("deleted_by") or {}).get("id"))
        assert r["deleted_time"] == datetime.fromisoformat(d["deleted_time"]).astimezone(UTC)
    assert sorted(one.column(0).to_pylist()) == sorted(deals)


def test_cli_refuses_a_write_to_a_metadata_table_with_one_line(org: Emulator) -> None:
    from .test_cli import zohocrm

    p = zohocrm("DELETE FROM _Users WHERE email = 'jane.admin@acme.example'", connection=org.connection_string)
    err = p.stderr.decode()
    assert p.returncode == 6, err
    assert "_Users is a read-only table" in err and "Traceback" not in err
