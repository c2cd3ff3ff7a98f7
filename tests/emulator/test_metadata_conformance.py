"""The metadata answers checked key by key against the facts of Zoho's v8 specs (issue 17).

Fields, modules (list and one), layouts (list and one), users (list and one), the org and a bulk read
job's status in every state are fetched over HTTP from an emulated enterprise org and held against
:mod:`tests.emulator.metadata_spec`: every key Zoho always sends is there, every key has its JSON type,
every enum holds, nested objects included. A second check makes sure every key of the table shows up
in some answer, so the metadata cannot thin out again without a test saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ZohoClient, client_fixture, org_fixture
from tests.emulator import metadata_spec as spec
from tests.emulator.bulk_read_client import create, wait_state
from tests.emulator.metadata_spec import K, Table

org = org_fixture("An enterprise org whose metadata the tests read (never written).", records=300, seed=17,
                  org="enterprise")
z = client_fixture("org")

JSON_TYPES: dict[str, Any] = {"str": str, "int": int, "num": (int, float), "bool": bool, "obj": dict,
                              "arr": list, "null": type(None)}


def type_ok(value: Any, types: str) -> bool:
    for t in types.split("|"):
        if t == "any":
            return True
        if isinstance(value, bool) and t in ("int", "num"):
            continue  # JSON true is no number
        if isinstance(value, JSON_TYPES[t]):
            return True
    return False


def check(value: dict[str, Any], table: Table, path: str) -> list[str]:
    """What in ``value`` breaks ``table``: missing keys, wrong types, values outside an enum (nested too)."""
    problems: list[str] = []
    for raw, entry in table.items():
        key, optional = raw.lstrip("~"), raw.startswith("~")
        k = entry if isinstance(entry, K) else K(entry)
        where = f"{path}.{key}"
        if key not in value:
            if not optional:
                problems.append(f"{where}: missing")
            continue
        v = value[key]
        if not type_ok(v, k.types):
            problems.append(f"{where}: {type(v).__name__} {v!r:.60} is not {k.types}")
        elif k.enum is not None and v is not None and v not in k.enum:
            problems.append(f"{where}: {v!r} is not one of {k.enum}")
        elif k.sub is not None and v:
            items = v if isinstance(v, list) else [v]
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    problems += check(item, k.sub, f"{where}[{i}]" if isinstance(v, list) else where)
                else:
                    problems.append(f"{where}[{i}]: {item!r:.60} is no object")
    return problems


def keys_seen(items: list[dict[str, Any]]) -> set[str]:
    return {k for item in items for k in item}


def table_keys(table: Table) -> set[str]:
    return {k.lstrip("~") for k in table}


@pytest.fixture(scope="module")
def answers(z: ZohoClient) -> dict[str, list[dict[str, Any]]]:
    """Every metadata answer of the org, by table: each module, field, layout, section, user..."""
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "MODULE", "ONE_MODULE", "FIELD", "ONE_FIELD", "LAYOUT", "ONE_LAYOUT", "SECTION", "SECTION_FIELD",
        "USER", "ONE_USER", "USERS_INFO", "ORG")}
    r = z.get("/settings/modules")
    assert r.status_code == 200, r.text
    got["MODULE"] = r.json()["modules"]
    for m in got["MODULE"]:
        if not m["api_supported"]:
            continue
        api = m["api_name"]
        one = z.get(f"/settings/modules/{api}").json()["modules"]
        assert len(one) == 1
        got["ONE_MODULE"] += one
        fields = z.get("/settings/fields", params={"module": api}).json()["fields"]
        got["FIELD"] += fields
        for f in (fields[0], fields[len(fields) // 2], fields[-1]):
            got["ONE_FIELD"] += z.get(f"/settings/fields/{f['id']}", params={"module": api}).json()["fields"]
        layouts = z.get("/settings/layouts", params={"module": api}).json()["layouts"]
        got["LAYOUT"] += layouts
        for lay in layouts:
            got["ONE_LAYOUT"] += z.get(f"/settings/layouts/{lay['id']}", params={"module": api}).json()["layouts"]
            got["SECTION"] += lay["sections"]
            got["SECTION_FIELD"] += [f for s in lay["sections"] for f in s["fields"]]
    body = z.get("/users", params={"type": "AllUsers"}).json()
    got["USER"] = body["users"]
    got["USERS_INFO"] = [body["info"]]
    for u in got["USER"]:
        one = z.get(f"/users/{u['id']}").json()
        got["ONE_USER"] += one["users"]
        got["USERS_INFO"].append(one.get("info", {}))  # checked against the table: missing keys show
    got["ORG"] = z.get("/org").json()["org"]
    return got


TABLES: dict[str, Table] = {
    "MODULE": spec.MODULE, "ONE_MODULE": spec.ONE_MODULE, "FIELD": spec.FIELD, "ONE_FIELD": spec.FIELD,
    "LAYOUT": spec.LAYOUT, "ONE_LAYOUT": spec.LAYOUT, "SECTION": spec.SECTION, "SECTION_FIELD": spec.SECTION_FIELD,
    "USER": spec.USER, "ONE_USER": spec.USER, "USERS_INFO": spec.USERS_INFO, "ORG": spec.ORG,
}
#: keys of the table no answer of this org carries, and why
NOT_SENT: dict[str, set[str]] = {
    # optional in the spec, absent from Zoho's sample: a field's default lives on its layout's copy
    "FIELD": {"sequence_number", "default_value"}, "ONE_FIELD": {"sequence_number", "default_value"},
    # the org has no territory-based module and no static subform
    "MODULE": {"territory", "static_subform_properties"},
    "ONE_MODULE": {"territory", "static_subform_properties"},
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_answer_carries_the_keys_types_and_enums_of_the_spec(answers: dict[str, list[dict[str, Any]]],
                                                                   name: str) -> None:
    items = answers[name]
    assert items, f"no {name} answers to check"
    problems = [p for i, item in enumerate(items) for p in check(item, TABLES[name], f"{name}[{i}]")]
    assert problems == [], f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:25])


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_key_of_the_table_is_answered_somewhere(answers: dict[str, list[dict[str, Any]]], name: str) -> None:
    missing = table_keys(TABLES[name]) - keys_seen(answers[name]) - NOT_SENT.get(name, set())
    assert missing == set(), f"{name}: no answer carries {sorted(missing)}"


def test_the_list_of_modules_carries_no_fields_and_one_module_its_own(answers: dict[str, Any], z: ZohoClient) -> None:
    assert not keys_seen(answers["MODULE"]) & {"fields", "layouts", "related_lists"}
    leads = z.get("/settings/modules/Leads").json()["modules"][0]
    assert [f["api_name"] for f in leads["fields"]] == [
        f["api_name"] for f in z.get("/settings/fields", params={"module": "Leads"}).json()["fields"]]
    # a subform's storage module: "subform", as Zoho's subform guide finds it; no tab, visibility 2
    sub = next(m for m in answers["MODULE"] if m["api_name"] == "Project_Milestones")
    assert (sub["generated_type"], sub["show_as_tab"], sub["visibility"]) == ("subform", False, 2)
    assert sub["parent_module"]["api_name"] == "Projects"


def test_field_values_a_real_org_has(answers: dict[str, Any], z: ZohoClient) -> None:
    leads = {f["api_name"]: f for f in z.get("/settings/fields", params={"module": "Leads"}).json()["fields"]}
    assert leads["Owner"]["column_name"] == "SMOWNERID" and leads["Owner"]["length"] == 120
    assert leads["Last_Name"]["view_type"]["view"] is False  # shown through Full_Name
    assert leads["Company"]["convert_mapping"]["Accounts"] == "Account_Name"
    custom = [f for f in leads.values() if f["custom_field"]]
    assert custom and all(f["tooltip"] and f["created_time"] for f in custom)
    assert all(f["tooltip"] is None for f in leads.values() if not f["custom_field"])
    assert all(isinstance(f["length"], int) for f in answers["FIELD"])
    stage = next(f for f in z.get("/settings/fields", params={"module": "Deals"}).json()["fields"]
                 if f["api_name"] == "Stage")
    assert stage["history_tracking_enabled"] is True
    assert stage["history_tracking"]["module"]["api_name"] == "Stage_History"
    ro = next(f for f in leads.values() if f["api_name"] == "Created_Time")
    assert {p["permission_type"] for p in ro["profiles"]} == {"read_only"}
    assert {p["name"] for p in ro["profiles"]} == {"Administrator", "Standard"}


def test_layout_sections_hold_the_layouts_fields_once(z: ZohoClient) -> None:
    fields = z.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]
    for lay in z.get("/settings/layouts", params={"module": "Accounts"}).json()["layouts"]:
        placed = [f["api_name"] for s in lay["sections"] for f in s["fields"]]
        assert len(placed) == len(set(placed))
        assert set(placed) == {f["api_name"] for f in fields
                               if any(a["id"] == lay["id"] for a in f["layout_associations"])}
        assert [s["sequence_number"] for s in lay["sections"]] == list(range(1, len(lay["sections"]) + 1))
        assert all(f["section_id"] == int(s["id"]) for s in lay["sections"] for f in s["fields"])


def test_one_user_has_info_and_modified_by_names_the_user(answers: dict[str, Any]) -> None:
    assert all(i == {"per_page": 200, "count": 1, "page": 1, "more_records": False}
               for i in answers["USERS_INFO"][1:])
    by_id = {u["id"]: u for u in answers["USER"]}
    for u in answers["USER"]:
        mb = u["Modified_By"]
        assert by_id[mb["id"]]["first_name"] == mb["first_name"] and by_id[mb["id"]]["full_name"] == mb["name"]


# -- bulk read status in every state --------------------------------------------------------------------------

def bulk_problems(job: dict[str, Any]) -> list[str]:
    problems = check(job, spec.BULK_JOB, "job")
    if job["state"] == "COMPLETED":
        problems += check(job.get("result", {}), spec.BULK_RESULT, "job.result")
        if "next_page_token" in job["result"] and not job["result"]["more_records"]:
            problems.append("job.result.next_page_token: sent on a last page")
    elif job["state"] == "FAILURE":
        # shape unconfirmed (bulk-read.md section 2): a code and message under result.error_message
        problems += check(job.get("result", {}), {"error_message": K("obj", {"code": "str", "message": "str"})},
                          "job.result")
    elif "result" in job:
        problems.append(f"job.result: sent in state {job['state']}")
    return problems


@pytest.fixture
def slow_bulk(make_emulator: Any) -> Iterator[tuple[Any, ZohoClient]]:
    emu = make_emulator(records=300, bulk_rows_per_s=0.1)  # minutes per job: only the clock moves it
    yield emu, ZohoClient(emu)


def test_bulk_read_status_in_every_state(slow_bulk: tuple[Any, ZohoClient]) -> None:
    emu, bz = slow_bulk

    def later() -> None:  # long enough for a job over the org's accounts; access tokens live an hour
        emu.advance_clock(1_800)
        bz.token = bz.mint()

    emu.app.state["bulk_page_size"] = 5  # several pages: a token on the first, none on the last
    seen: dict[str, dict[str, Any]] = {}
    first = create(bz, {"module": {"api_name": "Accounts"}}).json()["data"][0]["details"]["id"]
    second = create(bz, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]}).json()["data"][0]
    seen["IN PROGRESS"] = wait_state(bz, first, ("IN PROGRESS",))
    seen["ADDED"] = wait_state(bz, second["details"]["id"], ("ADDED",), timeout=0)  # one job at a time per org
    later()
    seen["COMPLETED more"] = wait_state(bz, first)
    assert seen["COMPLETED more"]["result"]["more_records"] is True
    later()
    wait_state(bz, second["details"]["id"])
    pages = -(-len(bz.export("Accounts")) // 5)
    last = create(bz, {"module": {"api_name": "Accounts"}, "page": pages}).json()["data"][0]["details"]["id"]
    later()
    seen["COMPLETED last"] = wait_state(bz, last)
    assert seen["COMPLETED last"]["result"]["more_records"] is False and seen["COMPLETED last"]["result"]["count"] > 0
    # a job that breaks while it runs (here: a result file it cannot compress) ends in FAILURE
    emu.app.state["bulk_zip_level"] = "not a level"
    broken = create(bz, {"module": {"api_name": "Accounts"}}).json()["data"][0]["details"]["id"]
    later()
    seen["FAILURE"] = wait_state(bz, broken)
    assert {j["state"] for j in seen.values()} == {"ADDED", "IN PROGRESS", "COMPLETED", "FAILURE"}
    problems = [f"{name}: {p}" for name, job in seen.items() for p in bulk_problems(job)]
    assert problems == []
    assert "next_page_token" in seen["COMPLETED more"]["result"]
    assert "next_page_token" not in seen["COMPLETED last"]["result"]


# -- the checker itself ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, table, expected", [
    ({"a": "x"}, {"a": "str"}, []),
    ({}, {"a": "str"}, ["t.a: missing"]),
    ({}, {"~a": "str"}, []),
    ({"a": None}, {"a": "str|null"}, []),
    ({"a": None}, {"a": "str"}, ["t.a: NoneType None is not str"]),
    ({"a": True}, {"a": "int"}, ["t.a: bool True is not int"]),
    ({"a": "z"}, {"a": K("str", enum=("x", "y"))}, ["t.a: 'z' is not one of ('x', 'y')"]),
    ({"a": [{"b": 1}, {}]}, {"a": K("arr", {"b": "int"})}, ["t.a[1].b: missing"]),
    ({"a": {"b": "1"}}, {"a": K("obj", {"b": "int"})}, ["t.a.b: str '1' is not int"]),
    ({"a": {}}, {"a": K("obj", {"b": "int"})}, []),  # {} is Zoho's "none" for an unused object
])
def test_the_checker(value: dict[str, Any], table: Table, expected: list[str]) -> None:
    assert check(value, table, "t") == expected


def test_a_layouts_profiles_open_the_modules_default_view(z: ZohoClient) -> None:
    views = z.get("/settings/custom_views", params={"module": "Deals"}).json()["custom_views"]
    default = next(v for v in views if v.get("default"))
    for lay in z.get("/settings/layouts", params={"module": "Deals"}).json()["layouts"]:
        assert {p["_default_view"]["id"] for p in lay["profiles"]} == {default["id"]}
