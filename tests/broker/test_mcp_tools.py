"""The MCP tools' schemas and answers, as pure functions (connector.mcp.tools)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.broker.policy import OPERATIONS
from connector.mcp.tools import ModuleFields, check_arguments, fit, jsonable, rows_answer, tool_specs

TOOLS = {"query", "get_record", "list_records", "search_records", "create_record", "update_record", "upsert_record",
         "delete_record"}
LEADS = ModuleFields(("id", "Last_Name", "Email", "Created_Time"), ("Last_Name", "Email"), ("Last_Name",))


@pytest.mark.parametrize(("operations", "tools"), [
    ([], set()),
    (["query"], {"query"}),
    (["bulk_read", "bulk_write"], set()),  # no tool of their own: query reads through Bulk when it pays
    (["create_record"], {"create_record"}),
    (["get_record", "list_records", "search_records"], {"get_record", "list_records", "search_records"}),
    (list(OPERATIONS), TOOLS),
])
def test_only_the_allowed_operations_become_tools(operations: list[str], tools: set[str]) -> None:
    assert {s.name for s in tool_specs(operations, ["Leads"], {})} == tools


@given(st.sets(st.sampled_from(OPERATIONS)))
def test_no_tool_for_an_operation_the_policy_leaves_out(operations: set[str]) -> None:
    specs = tool_specs(sorted(operations), ["Leads", "Contacts"], {"Leads": LEADS})
    assert {s.operation for s in specs} <= operations
    assert all(s.read_only == (s.operation in ("query", "get_record", "list_records", "search_records"))
               for s in specs)


def test_schemas_name_the_modules_fields_and_limits() -> None:
    specs = {s.name: s.schema for s in tool_specs(list(OPERATIONS), ["Leads", "Contacts"], {"Leads": LEADS})}
    assert specs["get_record"]["properties"]["module"]["enum"] == ["Leads", "Contacts"]
    assert specs["list_records"]["properties"]["per_page"]["maximum"] == 200
    assert specs["list_records"]["properties"]["fields"]["maxItems"] == 50
    assert specs["create_record"]["properties"]["records"]["maxItems"] == 100
    assert specs["query"]["properties"]["max_rows"]["maximum"] == 1000
    assert all(s["additionalProperties"] is False for s in specs.values())


@pytest.mark.parametrize(("tool", "args", "words"), [
    ("get_record", {"module": "Leads", "id": "5843104000000425001"}, ""),
    ("get_record", {"module": "Deals", "id": "1"}, '"Deals" is not one of Leads, Contacts'),
    ("get_record", {"module": "Leads", "id": "1 OR 1=1"}, "id: '1 OR 1=1' does not match"),
    ("get_record", {"module": "Leads"}, "'id' is a required property"),
    ("get_record", {"module": "Leads", "id": "1", "sql": "x"}, "unknown argument(s) 'sql'"),
    ("list_records", {"module": "Leads", "fields": ["Email", "Phone"]}, 'fields[1]: "Phone" is not one of'),
    ("list_records", {"module": "Contacts", "fields": ["Phone"]}, ""),  # no field list known: the name's form only
    ("list_records", {"module": "Leads", "fields": ["Email"], "per_page": 500}, "500 is greater than the maximum"),
    ("create_record", {"module": "Leads", "records": [{"Last_Name": "A"}, {"Created_Time": "x"}]},
     'records[1]: "Created_Time" is not one of'),  # read-only fields are not writable
    ("create_record", {"module": "Leads", "records": []}, "records: [] should be non-empty"),
    ("create_record", {"module": "Leads", "records": [{"Email": "a"}] * 101}, "has 101 items; at most 100"),
    ("update_record", {"module": "Leads", "records": [{"Email": "a"}]}, "'id' is a required property"),
    ("delete_record", {"module": "Leads", "ids": ["1", "1"]}, "has non-unique elements"),
    ("query", {"sql": ""}, "sql: '' should be non-empty"),
    ("query", {"sql": "SELECT 1", "max_rows": 0}, "max_rows: 0 is less than the minimum of 1"),
    ("search_records", {"module": "Leads", "criteria": "Email:equals:x"}, "criteria: 'Email:equals:x' does not match"),
])
def test_arguments_are_checked_in_words(tool: str, args: dict[str, object], words: str) -> None:
    specs = {s.name: s.schema for s in tool_specs(list(OPERATIONS), ["Leads", "Contacts"], {"Leads": LEADS})}
    problem = check_arguments(specs[tool], args)
    assert (words in problem) if words else problem == "", problem


def test_a_dry_run_only_workspace_cannot_turn_dry_run_off() -> None:
    (spec,) = tool_specs(["create_record"], ["Leads"], {}, dry_run_only=True)
    assert "dry-run only" in spec.description
    assert check_arguments(spec.schema, {"module": "Leads", "records": [{"A": 1}], "dry_run": False})
    assert not check_arguments(spec.schema, {"module": "Leads", "records": [{"A": 1}]})


def test_module_fields_from_metadata_keep_read_only_fields_out_of_writes() -> None:
    fields = ModuleFields.from_metadata([
        {"api_name": "Last_Name", "system_mandatory": True}, {"api_name": "Created_Time", "read_only": True},
        {"api_name": "Score", "data_type": "formula"}, {"api_name": "Ref", "field_read_only": True}])
    assert fields.readable == ("id", "Last_Name", "Created_Time", "Score", "Ref")
    assert fields.writable == ("Last_Name",) and fields.mandatory == ("Last_Name",)


def test_rows_say_when_they_were_cut() -> None:
    rows = [{"n": i, "at": datetime(2026, 1, 2, tzinfo=UTC), "d": date(2026, 1, 3), "x": Decimal("1.10")}
            for i in range(4)]
    whole = rows_answer(rows, max_rows=5, more=False, columns=["n", "at", "d", "x"])
    assert whole["row_count"] == 4 and whole["truncated"] is False and "note" not in whole
    assert whole["rows"][0] == {"n": 0, "at": "2026-01-02T00:00:00+00:00", "d": "2026-01-03", "x": "1.10"}
    cut = rows_answer(rows, max_rows=2, more=True)
    assert cut["row_count"] == 2 and cut["truncated"] is True and "first 2 rows" in cut["note"]
    json.dumps(cut)


@given(st.lists(st.text(max_size=300), max_size=60), st.integers(min_value=200, max_value=5000))
def test_fit_keeps_an_answer_under_its_size_and_says_so(values: list[str], limit: int) -> None:
    answer = {"rows": [{"v": v} for v in values], "truncated": False}
    kept, text = fit(answer, "rows", limit)
    assert json.loads(text) == kept
    if len(json.dumps(answer, ensure_ascii=False)) <= limit:
        assert kept == answer
    else:
        assert kept["truncated"] is True and kept["rows"] == answer["rows"][:len(kept["rows"])]
        assert len(text) <= limit or not kept["rows"]
        assert f"of {len(values)} rows" in kept["note"]


def test_jsonable_keeps_structure() -> None:
    assert jsonable({"a": [b"\x00", (1, Decimal("2"))]}) == {"a": ["AA==", [1, "2"]]}
