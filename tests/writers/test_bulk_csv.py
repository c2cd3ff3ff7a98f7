"""Bulk Write CSV formatting, file splitting and result parsing: pure functions."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import PlanningError
from connector.schema.types import build_table_schema
from connector.writers.bulk_csv import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    CsvColumn,
    ResultRow,
    cell,
    field_mappings,
    parse_errors,
    parse_result,
    plan_columns,
    split_files,
)
from connector.writers.validate import RowItem, WritePlan

TS = build_table_schema("Things", [
    {"api_name": "Name", "data_type": "text", "system_mandatory": True},
    {"api_name": "Tags", "data_type": "multiselectpicklist", "pick_list_values": [{"actual_value": "A"},
                                                                                  {"actual_value": "B"}]},
    {"api_name": "Seats", "data_type": "integer"},
    {"api_name": "Ratio", "data_type": "double"},
    {"api_name": "Active", "data_type": "boolean"},
    {"api_name": "Since", "data_type": "date"},
    {"api_name": "Seen_At", "data_type": "datetime"},
    {"api_name": "Account", "data_type": "lookup", "lookup": {"module": {"api_name": "Accounts"}}},
    {"api_name": "Address", "data_type": "address", "json_type": "jsonobject"},
])


def col(name: str) -> CsvColumn:
    f = TS.fields[name]
    return CsvColumn(f"{name}.id" if f.is_lookup else name, name, f, name)


@pytest.mark.parametrize(("field", "value", "text"), [
    ("Name", "Acme, Inc.", "Acme, Inc."),
    ("Name", None, ""),
    ("Tags", ["A", "B"], "A;B"),
    ("Seats", 7, "7"),
    ("Ratio", 12345678901234.5, "12345678901234.5"),
    ("Ratio", 1e-7, "0.0000001"),
    ("Ratio", 2.0, "2"),
    ("Active", True, "true"),
    ("Active", False, "false"),
    ("Since", "2024-02-29", "2024-02-29"),
    ("Seen_At", "2024-05-02T10:15:31+00:00", "2024-05-02T10:15:31+00:00"),
    ("Account", {"id": "5843104000000000001"}, "5843104000000000001"),
    ("Address", {"city": "Pune"}, '{"city":"Pune"}'),
])
def test_cells_use_zohos_write_formats(field, value, text):
    assert cell(col(field), {field: value}) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_numbers_never_use_an_exponent_and_read_back_equal(x):
    text = cell(col("Ratio"), {"Ratio": x})
    assert "e" not in text.lower() and float(text) == x


def test_mappings_give_formats_and_lookups_by_id():
    plan = WritePlan(TS, ["id", "Name", "Since", "Seen_At", "Account_Id", "Account_Name"], "update")
    cols = plan_columns(plan)
    assert [c.header for c in cols] == ["id", "Name", "Since", "Seen_At", "Account.id"]
    assert field_mappings(cols) == [
        {"api_name": "id", "index": 0}, {"api_name": "Name", "index": 1},
        {"api_name": "Since", "index": 2, "format": DATE_FORMAT},
        {"api_name": "Seen_At", "index": 3, "format": DATETIME_FORMAT},
        {"api_name": "Account", "index": 4, "find_by": "id"}]


def test_more_than_200_columns_do_not_fit_a_file():
    wide = build_table_schema("Wide", [{"api_name": f"F{i}", "data_type": "text"} for i in range(201)])
    with pytest.raises(PlanningError, match="200 columns"):
        plan_columns(WritePlan(wide, [f"F{i}" for i in range(201)], "insert"))


def items(n: int, width: int = 1) -> list[RowItem]:
    return [RowItem(i, {"Name": f"{i:04d}" + "x" * width}) for i in range(n)]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@given(st.integers(min_value=1, max_value=120), st.integers(min_value=1, max_value=50))
def test_files_split_by_rows_keep_every_row_once_in_order(n, max_rows):
    files = list(split_files([col("Name")], iter(items(n)), max_rows=max_rows))
    assert [len(f.items) for f in files] == [min(max_rows, n - i) for i in range(0, n, max_rows)]
    assert [it.row for f in files for it in f.items] == list(range(n))
    for f in files:
        rows = read_csv(f.data)
        assert rows[0] == ["Name"] and [r[0][:4] for r in rows[1:]] == [f"{it.row:04d}" for it in f.items]


def test_files_split_by_size():
    files = list(split_files([col("Name")], iter(items(10, width=95)), max_bytes=450))
    assert all(len(f.data) <= 450 for f in files) and sum(len(f.items) for f in files) == 10
    assert [len(f.items) for f in files] == [4, 4, 2]  # a 5-byte header, then 100-byte lines


def test_zip_holds_one_csv():
    (f,) = split_files([col("Name")], iter(items(2)))
    with zipfile.ZipFile(io.BytesIO(f.zipped("Things-0001.csv"))) as zf:
        assert zf.namelist() == ["Things-0001.csv"] and zf.read("Things-0001.csv") == f.data


@pytest.mark.parametrize(("text", "parsed"), [
    ("", []),
    ("INVALID_DATA-Email", [("INVALID_DATA", ["Email"])]),
    ("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email",
     [("MANDATORY_NOT_FOUND", ["Company", "Last_Name"]), ("DUPLICATE_DATA", ["Email"])]),
    ("INVALID_DATA-Account_Name.id", [("INVALID_DATA", ["Account_Name.id"])]),
])
def test_result_errors_are_split_by_code_and_column(text, parsed):
    assert parse_errors(text) == parsed


def test_result_rows_come_back_in_order():
    body = ("Last_Name,Email,Company,STATUS,RECORD_ID,ERRORS\n"
            "a,a@x.co,A,ADDED,5843104000000000001,\n"
            "b,,B,SKIPPED,,MANDATORY_NOT_FOUND-Email\n"
            "c,c@x.co,C,UNPROCESSED,,\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Leads-leads.csv", body)
    assert parse_result(buf.getvalue()) == [
        ResultRow("ADDED", "5843104000000000001", []),
        ResultRow("SKIPPED", None, [("MANDATORY_NOT_FOUND", ["Email"])]),
        ResultRow("UNPROCESSED", None, [])]
