"""Line items, tags and the permission text for them, as pure functions (no org): table-driven and hypothesis."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import parse_connection_string
from connector.errors import PermissionDenied
from connector.http.guard import require_writes
from connector.schema.types import build_table_schema
from connector.sync.line_items import LineFailure, LineItems, Subform, subforms_of
from connector.sync.lookups import lookup_columns
from connector.writers.validate import RowItem, WritePlan, tag_names

ORDER = build_table_schema("Quotes", [
    {"api_name": "Subject", "data_type": "text", "length": 255, "system_mandatory": True},
    {"api_name": "Quoted_Items", "data_type": "subform", "json_type": "jsonarray", "system_mandatory": True,
     "subform": {"module": {"api_name": "Quoted_Items"}}},
    {"api_name": "Tag", "data_type": "text", "json_type": "jsonarray", "read_only": True},
])
ITEMS = build_table_schema("Quoted_Items", [
    {"api_name": "Parent_Id", "data_type": "lookup", "read_only": True, "system_mandatory": True,
     "lookup": {"module": {"api_name": "Quotes"}}},
    {"api_name": "Product_Name", "data_type": "lookup", "system_mandatory": True,
     "lookup": {"module": {"api_name": "Products"}}},
    {"api_name": "Price_Book_Name", "data_type": "lookup", "lookup": {"module": {"api_name": "Price_Books"}}},
    {"api_name": "Quantity", "data_type": "double"},
    {"api_name": "List_Price", "data_type": "currency", "decimal_place": 2},
    {"api_name": "Line_Tax", "data_type": "linetax", "json_type": "jsonarray"},
    {"api_name": "Sequence_Number", "data_type": "bigint"},
    {"api_name": "Net_Total", "data_type": "formula", "formula": {"return_type": "currency"}, "read_only": True},
])
SUB = Subform("Quotes", "Quoted_Items", "Quoted_Items", "Parent_Id_Id")
MAPS = {"Products": {"p1": "P1", "p2": "P2"}, "Price_Books": {"b1": "B1"}}


def resolve(module: str, ids: set[str]) -> dict[str, str]:
    return {i: MAPS.get(module, {})[i] for i in ids if i in MAPS.get(module, {})}


def line(parent: str, lid: str, product: str | None, seq: int, **values: Any) -> dict[str, Any]:
    return {"id": lid, "Parent_Id_Id": parent, "Product_Name_Id": product, "Price_Book_Name_Id": None,
            "Quantity": 1.0, "List_Price": None, "Line_Tax": None, "Sequence_Number": seq, "Net_Total": 9.0,
            **values}


def items(rows: list[dict[str, Any]]) -> LineItems:
    li = LineItems(SUB, ITEMS, lookup_columns(ITEMS), True, lambda: iter(()))
    li.feed(pa.Table.from_pylist(rows) if rows else pa.table({}))
    return li


def test_lines_are_mapped_ordered_and_stripped_to_what_a_target_takes():
    taxes = json.dumps([{"name": "Vat", "percentage": 5.0, "id": "555", "value": 1.25}])
    li = items([line("q1", "l2", "p2", 2, Price_Book_Name_Id="b1", List_Price=3.5),
                line("q1", "l1", "p1", 1, Line_Tax=taxes, Price_Book_Name_Id="gone")])
    got = li.payloads(["q1"], resolve)["q1"]
    assert got == [
        {"Quantity": 1.0, "Line_Tax": [{"name": "Vat", "percentage": 5.0}], "Sequence_Number": "1",
         "Product_Name": {"id": "P1"}},  # a price book not in the target is left out (optional)
        {"Quantity": 1.0, "List_Price": 3.5, "Sequence_Number": "2", "Product_Name": {"id": "P2"},
         "Price_Book_Name": {"id": "B1"}},
    ]


@pytest.mark.parametrize("rows, code, words", [
    ([line("q1", "l1", "p9", 1)], "LOOKUP_NOT_IN_TARGET", "Products record p9, which is not in the target"),
    ([line("q1", "l1", "p1", 1, Quantity="lots")], "INVALID_DATA", "Quantity"),
    ([line("q2", "l1", "p1", 1)], "MANDATORY_NOT_FOUND", "Zoho needs at least one in Quoted_Items"),
])
def test_a_parent_whose_lines_cannot_be_written_says_why(rows, code, words):
    got = items(rows).payloads(["q1"], resolve)["q1"]
    assert isinstance(got, LineFailure) and got.code == code and words in got.message


def test_subform_fields_are_found_in_the_field_metadata():
    meta = [{"api_name": "Subject", "data_type": "text"},
            {"api_name": "Quoted_Items", "data_type": "subform", "subform": {"module": {"api_name": "Quoted_Items"}}},
            {"api_name": "Milestones", "data_type": "subform", "associated_module": {"api_name": "Project_Ms"}},
            {"api_name": "Broken", "data_type": "subform"}]
    assert subforms_of("Quotes", meta) == [("Quoted_Items", "Quoted_Items"), ("Milestones", "Project_Ms")]


@pytest.mark.parametrize("op, row, payload, codes", [
    ("insert", {"Subject": "S", "Quoted_Items": '[{"Product_Name":{"id":"1"}}]', "Tag": ["a", " ", "b"]},
     {"Subject": "S", "Quoted_Items": [{"Product_Name": {"id": "1"}}], "Tag": [{"name": "a"}, {"name": "b"}]}, []),
    ("insert", {"Subject": "S", "Quoted_Items": [{"Product_Name": {"id": "1"}}], "Tag": None},
     {"Subject": "S", "Quoted_Items": [{"Product_Name": {"id": "1"}}]}, []),
    ("insert", {"Subject": "S", "Quoted_Items": "[]"}, None, ["MANDATORY_NOT_FOUND"]),
    # a bad value is not sent, so the mandatory field is missing too (as for any field)
    ("insert", {"Subject": "S", "Quoted_Items": "{not json"}, None, ["MANDATORY_NOT_FOUND", "INVALID_DATA"]),
    ("insert", {"Subject": "S", "Quoted_Items": '["x"]'}, None, ["MANDATORY_NOT_FOUND", "INVALID_DATA"]),
    ("update", {"id": "7", "Quoted_Items": '[{"id":"9","_delete":null}]', "Tag": "x;y"},
     {"id": "7", "Quoted_Items": [{"id": "9", "_delete": None}], "Tag": [{"name": "x"}, {"name": "y"}]}, []),
])
def test_a_subform_and_tags_travel_in_the_record(op, row, payload, codes):
    plan = WritePlan(ORDER, list(row), op)
    assert plan.tag_column == ("Tag" if "Tag" in row else None) and not plan.read_only
    got = plan.check(0, row)
    if codes:
        assert not isinstance(got, RowItem) and [p.code for p in got] == codes
    else:
        assert isinstance(got, RowItem) and got.payload == payload


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=";[", blacklist_categories=("Cs",)),
                        min_size=1).filter(lambda t: t.strip() == t and t != ""), max_size=10))
def test_tag_names_read_the_same_from_a_list_its_json_and_csv_text(names):
    assert tag_names("Tag", names) == names
    assert tag_names("Tag", json.dumps([{"name": n} for n in names])) == names
    if names:
        assert tag_names("Tag", ";".join(names)) == names


def test_the_permission_text_lists_the_line_item_modules_a_migration_reads():
    needs = {"Quotes": ["insert"], "Quoted_Items": ["query"]}
    with pytest.raises(PermissionDenied) as info:
        require_writes(parse_connection_string("AllowedOperations=read"), needs)
    text = str(info.value).split("`")[1]
    # read already allows the query; AllowedModules, once there, must list what is read too
    assert text == ";AllowedOperations=read,insert;AllowedModules=Quotes,Quoted_Items"
    require_writes(parse_connection_string(text.lstrip(";")), needs)
    with pytest.raises(PermissionDenied, match="query on Quoted_Items"):
        require_writes(parse_connection_string("AllowedOperations=read,insert;AllowedModules=Quotes"), needs)
