"""values.decode_record: per-type validation table, and properties over random and valid JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import Emulator, schema
from connector.emulator.values import RelatedRows, decode_record
from connector.emulator.writes import insert_records
from tests.conftest import ZohoClient

ADMIN = schema.ADMIN_USER.id


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(records=120, seed=3) as e:
        yield e


def _decode(emu: Emulator, module: str, record: Any, op: str = "insert", index: int = 0
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return decode_record(emu.app, schema.MODULES_BY_NAME[module], record, op=op, index=index)


def _lead(**fields: Any) -> dict[str, Any]:
    return {"Last_Name": "Doe", **fields}


def _path(field: str) -> str:
    return f"$.data[0].{field}"


INVALID_CASES = [
    ("No_of_Employees", "12", {"expected_data_type": "integer"}),
    ("No_of_Employees", 1.5, {"expected_data_type": "integer"}),
    ("No_of_Employees", True, {"expected_data_type": "integer"}),
    ("No_of_Employees", 1_000_000_000, {"maximum_length": 9}),
    ("Engagement_Ratio", "0.5", {"expected_data_type": "double"}),
    ("Annual_Revenue", [1], {"expected_data_type": "double"}),
    ("Annual_Revenue", 1e16, {"maximum_length": 16}),
    ("Visitor_Id", "12a", {"expected_data_type": "bigint"}),
    ("Visitor_Id", "1" * 19, {"maximum_length": 18}),
    ("Visitor_Id", 1.0, {"expected_data_type": "bigint"}),
    ("Email_Opt_Out", "true", {"expected_data_type": "boolean"}),
    ("Last_Contacted_On", "05/01/2024", {"expected_data_type": "date"}),
    ("Last_Contacted_On", "2024-02-30", {"expected_data_type": "date"}),
    ("Last_Webinar_At", "2024-05-01T10:00:00", {"expected_data_type": "datetime"}),
    ("Last_Webinar_At", "2024-05-01 10:00:00+05:30", {"expected_data_type": "datetime"}),
    ("Last_Webinar_At", "2024-05-01T10:00:00.123+05:30", {"expected_data_type": "datetime"}),
    ("Last_Webinar_At", 1714557600, {"expected_data_type": "datetime"}),
    ("Company", 42, {"expected_data_type": "text"}),
    ("Company", "x" * 201, {"maximum_length": 200}),
    ("Notes_Long", "y" * 2001, {"maximum_length": 2000}),
    ("Lead_Source", "Carrier Pigeon", {"supported_values": list(schema.PICK_LEAD_SOURCE)}),
    ("Interests", "CRM", {"expected_data_type": "jsonarray"}),
    ("Referrer", "5843104120000000001", {"expected_data_type": "jsonobject"}),
    ("Referrer", {"name": "no id"}, {"expected_data_type": "jsonobject"}),
    ("Referrer", {"id": "5843104129999999999"}, {"id": "5843104129999999999"}),
    ("Owner", {"id": "5843104000000424678"}, {"id": "5843104000000424678"}),  # a disabled user
    ("Layout", {"id": 1}, {"id": "1"}),
    ("Secondary_Email", "not-an-email", {}),
]


@pytest.mark.parametrize("field,value,extra", INVALID_CASES)
def test_invalid_values_give_zoho_details(emu, field, value, extra):
    values, errors = _decode(emu, "Leads", _lead(**{field: value}))
    assert errors == [{"code": "INVALID_DATA", "details": {**extra, "api_name": field, "json_path": _path(field)},
                       "message": "invalid data", "status": "error"}]


def test_picklist_outside_values_lists_them(emu):
    _, errors = _decode(emu, "Leads", _lead(Interests=["CRM", "Knitting"]))
    assert errors[0]["details"]["supported_values"] == list(schema.LEADS.field("Interests").picklist)


def test_mandatory_missing_uses_the_record_index(emu):
    _, errors = _decode(emu, "Leads", {"Company": "Acme"}, index=7)
    assert errors == [{"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name",
                                                                  "json_path": "$.data[7].Last_Name"},
                       "message": "required field not found", "status": "error"}]
    # On update only an explicit null removes a mandatory value.
    assert _decode(emu, "Leads", {"Company": "Acme"}, op="update")[1] == []
    assert _decode(emu, "Leads", {"Last_Name": None}, op="update")[1][0]["code"] == "MANDATORY_NOT_FOUND"
    assert _decode(emu, "Leads", {"Last_Name": ""}, op="update")[1][0]["code"] == "MANDATORY_NOT_FOUND"


def test_read_only_unknown_and_dollar_keys_are_ignored(emu):
    values, errors = _decode(emu, "Leads", _lead(
        Created_Time="garbage", Modified_By={"id": 1}, Full_Name="X", Lead_Code="LD-1", Days_Open=3,
        Converted__s=True, Not_A_Field=1, **{"$editable": "x", "$approved": False}))
    assert errors == []
    assert values == {"Last_Name": "Doe"}
    assert _decode(emu, "Leads", _lead(**{"$approved": "no"}))[1][0]["details"]["api_name"] == "$approved"


def test_stored_forms(emu):
    values, errors = _decode(emu, "Leads", _lead(
        Last_Webinar_At="2024-05-01T10:00:00+05:30", Last_Contacted_On="2024-02-29", Budget=12.345,
        Annual_Revenue=10, Engagement_Ratio=0.123456, Visitor_Id="000123", Interests=["CRM", "HR", "CRM"],
        Owner={"id": 5843104000000424673, "name": "ignored"}, Company="", No_of_Employees=7.0))
    assert errors == []
    assert values["Last_Webinar_At"] == datetime(2024, 5, 1, 4, 30)  # naive UTC
    assert values["Budget"] == Decimal("12.35") and values["Annual_Revenue"] == Decimal("10.00")
    assert values["Engagement_Ratio"] == 0.1235  # decimal_place 4
    assert values["Visitor_Id"] == 123 and values["Interests"] == ["CRM", "HR"]
    assert values["Owner"] == 5843104000000424673
    assert values["Company"] is None and values["No_of_Employees"] == 7


def test_polymorphic_and_multi_module_lookups(emu):
    account = emu.app.store.fetchone('SELECT min(id) FROM "Accounts"')[0]
    lead = emu.app.store.fetchone('SELECT min(id) FROM "Leads"')[0]
    values, errors = _decode(emu, "Tasks", {"Subject": "Call", "What_Id": {"id": str(account)},
                                            "$se_module": "Accounts",
                                            "Related_Record": {"module": {"api_name": "Leads"}, "id": lead}})
    assert errors == []
    assert values["What_Id"] == account and values["What_Id$module"] == "Accounts"
    assert values["Related_Record"] == lead and values["Related_Record$module"] == "Leads"
    _, errors = _decode(emu, "Tasks", {"Subject": "Call", "What_Id": {"id": str(account)}})
    assert errors[0]["code"] == "MANDATORY_NOT_FOUND" and errors[0]["details"]["api_name"] == "$se_module"
    _, errors = _decode(emu, "Tasks", {"Subject": "Call", "What_Id": {"id": str(account)}, "$se_module": "Deals"})
    assert errors[0]["details"] == {"id": str(account), "api_name": "What_Id", "json_path": "$.data[0].What_Id"}
    _, errors = _decode(emu, "Tasks", {"Subject": "x", "Related_Record": {"module": {"api_name": "Deals"}, "id": 1}})
    assert errors[0]["details"]["supported_values"] == ["Leads", "Contacts"]


def test_subform_and_linking_rows_come_back_as_related_rows(emu):
    contact = emu.app.store.fetchone('SELECT min(id) FROM "Contacts"')[0]
    values, errors = _decode(emu, "Projects", {
        "Name": "P", "Milestones": [{"Milestone": "Design", "Amount": 10}],
        "Related_Contacts": [{"Contacts": {"id": contact}}], "Members": [{"User": {"id": str(ADMIN)}}]})
    assert errors == []
    ms, rc, mem = values["Milestones"], values["Related_Contacts"], values["Members"]
    assert isinstance(ms, RelatedRows) and ms.replace and ms.rows == [(None, {"Milestone": "Design",
                                                                              "Amount": Decimal("10.00")})]
    assert rc.rows == [(None, {"Contacts": contact})] and not rc.replace
    assert mem.rows == [(None, {"User": ADMIN})]
    _, errors = _decode(emu, "Projects", {"Name": "P", "Milestones": [{"Amount": 1}]})
    assert errors[0]["details"] == {"api_name": "Milestone", "json_path": "$.data[0].Milestones[0].Milestone"}
    _, errors = _decode(emu, "Projects", {"Name": "P", "Milestones": [{"id": "5843104170000000001"}]})
    assert errors[0]["details"]["json_path"] == "$.data[0].Milestones[0].id"  # a new record has no rows


# -- properties ----------------------------------------------------------------------------------

KEYS = st.sampled_from(["id", "name", "module", "api_name", "_delete", "Milestone", "User", "Contacts"]) | st.text(
    max_size=6)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["2024-05-01", "2024-05-01T10:00:00+05:30", "5843104120000000001", "CRM", ""]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=10)


@st.composite
def random_records(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    m = draw(st.sampled_from([m for m in schema.MODULES if m.generated_type in ("default", "custom")]))
    names = [f.api_name for f in m.fields] + ["id", "$se_module", "$approved", "$append_values"]
    record = draw(st.dictionaries(st.sampled_from(names), JSON, max_size=6))
    return m.api_name, record, draw(st.sampled_from(["insert", "update"]))


@given(random_records(), st.integers(0, 99))
def test_decode_never_raises_and_errors_are_well_formed(emu, case, index):
    module, record, op = case
    values, errors = _decode(emu, module, record, op, index)
    for e in errors:
        assert set(e) == {"code", "details", "message", "status"} and e["status"] == "error"
        if "json_path" in e["details"]:
            assert e["details"]["json_path"].startswith(f"$.data[{index}]")
    if not errors:
        assert all(isinstance(k, str) for k in values)


@st.composite
def random_calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    module, record, _ = draw(random_records())
    method, path = draw(st.sampled_from([("POST", ""), ("PUT", ""), ("POST", "/upsert")]))
    body: dict[str, Any] = {"data": [record] + draw(st.lists(st.dictionaries(KEYS, JSON, max_size=3), max_size=2))}
    if draw(st.booleans()):
        body["duplicate_check_fields"] = draw(st.lists(st.sampled_from(["Email", "Company", "Name", "x"]),
                                                       max_size=2))
    return method, f"/{module}{path}", body


def test_random_bodies_never_break_the_server(emu):
    client = ZohoClient(emu)

    @settings(max_examples=40)
    @given(random_calls())
    def check(call: tuple[str, str, dict[str, Any]]) -> None:
        method, path, body = call
        r = client.request(method, path, data=json.dumps(body))
        assert r.status_code in (200, 201, 207, 400), r.text
        got = r.json()
        if "data" in got:
            assert len(got["data"]) == len(body["data"])
            assert all(set(e) >= {"code", "details", "message", "status"} for e in got["data"])

    check()


TZ = st.integers(-12 * 60, 14 * 60).map(lambda mins: timezone(timedelta(minutes=mins)))
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
FINITE = {"allow_nan": False, "allow_infinity": False}


def _valid(f: schema.FieldDef, ids: dict[str, list[int]]) -> st.SearchStrategy[tuple[Any, Any]]:
    """(value to send, value export shows) for a writable field."""
    dt = f.data_type
    same = st.builds(lambda v: (v, v), TEXT.filter(lambda s: len(s) <= (f.length or 255)))
    if dt in ("text", "textarea", "phone", "website"):
        return same
    if dt == "email":
        return st.emails().filter(lambda e: len(e) <= 100).map(lambda e: (e, e))
    if dt == "picklist":
        return st.sampled_from(f.picklist).map(lambda v: (v, v))
    if dt == "multiselectpicklist":
        return st.lists(st.sampled_from(f.picklist), min_size=1, unique=True).map(lambda v: (v, v))
    if dt == "integer":
        return st.integers(-999_999_999, 999_999_999).map(lambda v: (v, v))
    if dt == "bigint":
        return st.integers(-(10**18) + 1, 10**18 - 1).flatmap(
            lambda v: st.sampled_from([(v, str(v)), (str(v), str(v))]))
    if dt in ("double", "percent"):
        dp = f.decimal_place
        return st.floats(-1e12, 1e12, **FINITE).map(lambda x: (x, round(x, dp) if dp is not None else x))
    if dt == "currency":
        return st.floats(-1e12, 1e12, **FINITE).map(
            lambda x: (x, float(Decimal(repr(x)).quantize(Decimal("0.01"), ROUND_HALF_UP))))
    if dt == "boolean":
        return st.booleans().map(lambda v: (v, v))
    if dt == "date":
        return st.dates().map(lambda d: (d.isoformat(), d.isoformat()))
    if dt == "datetime":
        return st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(datetime(1001, 1, 1), datetime(9998, 1, 1)),
                         TZ).map(lambda d: (d.replace(microsecond=0).isoformat(), d.replace(microsecond=0)))
    if dt == "ownerlookup":
        return st.sampled_from([u.id for u in schema.ACTIVE_USERS]).map(lambda i: ({"id": i}, str(i)))
    if dt == "lookup":
        return st.sampled_from(ids[f.lookup or ""]).map(lambda i: ({"id": str(i)}, str(i)))
    raise AssertionError(dt)


ROUND_TRIP_TYPES = {"text", "textarea", "phone", "website", "email", "picklist", "multiselectpicklist", "integer",
                    "bigint", "double", "percent", "currency", "boolean", "date", "datetime", "ownerlookup", "lookup"}
LEAD_FIELDS = [f for f in schema.LEADS.fields if f.writable and not f.read_only and not f.unique
               and f.data_type in ROUND_TRIP_TYPES]


@st.composite
def valid_leads(draw: st.DrawFn, ids: dict[str, list[int]]) -> dict[str, tuple[Any, Any]]:
    chosen = draw(st.lists(st.sampled_from(LEAD_FIELDS), min_size=1, max_size=8, unique_by=lambda f: f.api_name))
    out = {f.api_name: draw(_valid(f, ids)) for f in chosen}
    out.setdefault("Last_Name", ("Doe", "Doe"))
    return out


def test_valid_values_round_trip_through_export(emu):
    ids = {"Contacts": [r[0] for r in emu.app.store.fetchall('SELECT id FROM "Contacts" LIMIT 20')]}
    client = ZohoClient(emu)

    @given(valid_leads(ids))
    def check(fields: dict[str, tuple[Any, Any]]) -> None:
        values, errors = _decode(emu, "Leads", {k: v[0] for k, v in fields.items()})
        assert errors == []
        rid = insert_records(emu.app, schema.LEADS, [values], ADMIN)[0]
        exported = next(r for r in client.export("Leads") if r["id"] == str(rid))
        for name, (_, expected) in fields.items():
            got = exported[name]
            if isinstance(expected, datetime):
                got = datetime.fromisoformat(got)
                assert got == expected and got.utcoffset() == timedelta(hours=5, minutes=30)
            elif isinstance(got, dict):
                assert got["id"] == expected
            else:
                assert got == expected, (name, got, expected)
        assert json.dumps(exported)  # valid JSON (no NaN)

    check()


def test_datetime_is_stored_as_naive_utc(emu):
    values, _ = _decode(emu, "Leads", _lead(Last_Webinar_At="2024-05-01T00:30:00-02:00"))
    assert values["Last_Webinar_At"] == datetime(2024, 5, 1, 2, 30)
    assert values["Last_Webinar_At"].tzinfo is None
    assert datetime(2024, 5, 1, 2, 30, tzinfo=UTC) == datetime.fromisoformat("2024-05-01T00:30:00-02:00")
