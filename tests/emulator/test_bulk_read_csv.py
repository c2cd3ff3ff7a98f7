"""Bulk Read CSV content: round trip against the export, awkward text, dotted fields, criteria, the zip writer."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import schema
from tests.conftest import client_fixture, org_fixture
from tests.emulator.bulk_read_client import create, download, run_job, wait_state

bulk_emu = org_fixture("A private org for this module: jobs and downloads here never touch the shared org's limits.",
                       records=900, seed=11, downloads_per_minute=10_000)
bz = client_fixture("bulk_emu")


# -- CSV round trip ------------------------------------------------------------------------------


def _expected_cell(f: schema.FieldDef, v: Any) -> Callable[[str], bool]:
    """A predicate telling whether a CSV cell is the Bulk Read form of export value ``v``."""
    if v is None or v == []:
        return lambda c: c == ""
    vt = f.value_type
    if f.data_type in ("lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"):
        return lambda c: c == v["id"]
    if vt == "boolean":
        return lambda c: c == ("true" if v else "false")
    if vt == "integer":
        return lambda c: int(c) == v
    if vt in ("double", "percent", "currency", "rollup_summary"):
        return lambda c: "e" not in c.lower() and "," not in c and float(c) == pytest.approx(float(v), rel=1e-12)
    if vt == "multiselectpicklist":
        return lambda c: c.split(";") == v
    if f.data_type in schema.JSON_DOCUMENT_TYPES:
        return lambda c: json.loads(c) == v
    return lambda c: c == v  # text, picklist, bigint (a string), date, datetime with the user's offset


@pytest.mark.parametrize("module", ["Leads", "Contacts", "Accounts", "Deals", "Tasks", "Projects",
                                    "Project_Milestones", "Projects_X_Contacts"])
def test_csv_round_trip_matches_the_export(bulk_emu, bz, module):
    m = schema.module(module)
    assert m is not None
    # Formulas such as Leads.Days_Open move with the clock, so the CSV and the export are read at one
    # virtual instant: the job's start, when its snapshot (formulas included) is taken. Finishing a
    # small job first leaves the queue idle, so the job starts the moment it is created.
    run_job(bz, {"module": {"api_name": "Tasks"}, "fields": ["Subject"]})
    with bulk_emu.frozen_clock():
        r = create(bz, {"module": {"api_name": module}})
        assert r.status_code == 201, r.text
        truth = {r["id"]: r for r in bz.export(module)}  # converted leads included, as in the export
        bulk_emu.advance_clock(1)  # a job needs virtual time to finish (0.2 s at least)
        job = wait_state(bz, r.json()["data"][0]["details"]["id"])
        assert job["state"] == "COMPLETED", job
        header, rows = download(bz, job["id"])
    exportable = [f for f in m.fields if f.data_type not in schema.NOT_EXPORTED_TYPES]
    assert header == ["id"] + [f.api_name for f in exportable]
    assert job["result"]["count"] == len(rows) == len(truth)
    for row in rows:
        rec = truth[row[0]]
        for f, cell in zip(exportable, row[1:], strict=True):
            assert _expected_cell(f, rec[f.api_name])(cell), (module, row[0], f.api_name, cell, rec[f.api_name])


def test_awkward_text_survives_and_dotted_fields_read_the_related_record(bz):
    fields = ["Last_Name", "Description", "Account_Name", "Account_Name.Account_Name", "Owner.email",
              "Owner.last_name", "Modified_Time"]
    _, header, rows = run_job(bz, {"module": {"api_name": "Contacts"}, "fields": fields})
    assert header == ["id", *fields]
    truth = {r["id"]: r for r in bz.export("Contacts")}
    text = "".join(r[2] for r in rows)
    assert "\n" in text and '"' in text and "," in text and any(ord(ch) > 127 for ch in text)
    users = {str(u.id): u for u in schema.USERS}
    for row in rows:
        rec = truth[row[0]]
        acc = rec["Account_Name"]
        assert row[3] == (acc["id"] if acc else "") and row[4] == (acc["name"] if acc else "")
        assert row[5] == rec["Owner"]["email"] and row[6] == users[rec["Owner"]["id"]].last_name
        assert row[7] == rec["Modified_Time"] and row[7].endswith("+05:30")


# -- criteria (compiled by filters.py) ------------------------------------------------------------

CRITERIA_CODES = {
    "INVALID_CRITERIA", "AMBIGUOUS_CRITERIA", "AMBIGUOUS_GROUP_IN_CRITERIA", "FIELD_IN_CRITERIA_NOT_SUPPORTED",
    "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED", "FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE",
    "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
    "VALUE_TYPE_NOT_SUPPORTED", "GROUP_OPERATOR_NOT_SUPPORTED", "CRITERIA_LIMIT_EXCEEDED",
    "VALUE_LIMIT_EXCEEDED_IN_CRITERIA", "FIELD_IN_CRITERIA_NOT_AVAILABLE", "VALUE_IN_CRITERIA_NOT_SUPPORTED",
    "CRITERIA_NOT_SUPPORTED", "INVALID_DATA"}


def test_criteria_select_the_matching_rows(bz):
    crit = {"group_operator": "or", "group": [
        {"group_operator": "and", "group": [
            {"field": {"api_name": "Lead_Source"}, "comparator": "in", "value": ["Web Download", "Chat"]},
            {"field": {"api_name": "Annual_Revenue"}, "comparator": "greater_than", "value": 100000}]},
        {"field": {"api_name": "Modified_Time"}, "comparator": "greater_equal",
         "value": "2025-06-01T00:00:00+05:30"}]}
    job, header, rows = run_job(bz, {"module": {"api_name": "Leads"}, "fields": ["Lead_Source"], "criteria": crit})
    assert job["query"]["criteria"] == crit and header == ["id", "Lead_Source"]

    def matches(r: dict[str, Any]) -> bool:
        hot = r["Lead_Source"] in ("Web Download", "Chat") and (r["Annual_Revenue"] or 0) > 100000
        return hot or r["Modified_Time"] >= "2025-06-01T00:00:00+05:30"  # same offset: text order is time order

    expected = sorted(r["id"] for r in bz.export("Leads") if matches(r))
    assert expected and sorted(row[0] for row in rows) == expected


def test_bad_criteria_are_rejected_with_a_criteria_code(bz):
    bad = {"field": {"api_name": "Lead_Source"}, "comparator": "greater_than", "value": 5}
    r = create(bz, {"module": {"api_name": "Leads"}, "criteria": bad})
    assert r.status_code == 400 and r.json()["code"] in CRITERIA_CODES, r.text


# -- the zipped CSV writer (pure function, property-based) ------------------------------------------


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=2**62), st.one_of(st.none(), st.text()),
                          st.one_of(st.none(), st.booleans())), max_size=40),
       st.sampled_from([0, 1]), st.integers(min_value=1, max_value=7))
def test_zipped_csv_round_trips_any_text(tmp_path_factory, rows, level, chunk_rows):
    import pyarrow as pa

    from connector.emulator.csv_format import write_zipped_csv

    table = pa.table({"id": pa.array([r[0] for r in rows], pa.int64()),
                      "Text": pa.array([r[1] for r in rows], pa.string()),
                      "Flag": pa.array([r[2] for r in rows], pa.bool_())})
    path = tmp_path_factory.mktemp("zip") / "page.zip"
    size = write_zipped_csv(table, path, "page.csv", level=level, chunk_rows=chunk_rows)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None and zf.namelist() == ["page.csv"]
        data = zf.read("page.csv")
    assert len(data) == size
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[0] == ["id", "Text", "Flag"]
    # csv cannot tell NULL from "" (both are empty cells, as in Zoho's files); text is otherwise exact.
    assert parsed[1:] == [[str(i), t or "", "" if b is None else str(b).lower()] for i, t, b in rows]


def _runs(ids: list[int], cuts: list[int], order: list[int]) -> Any:
    """A two-column table of ``ids`` cut into record batches at ``cuts``; piece ``i`` goes ``order[i]``-th
    (pieces without a place in ``order`` go last, in turn)."""
    import pyarrow as pa

    schema = pa.schema([("id", pa.int64()), ("cell", pa.string())])
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(ids)}), len(ids)]
    pieces = [ids[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    rank = {i: (order[i] if i < len(order) else len(order) + i) for i in range(len(pieces))}
    batches = [pa.record_batch({"id": pa.array(pieces[i], pa.int64()), "cell": pa.array([f"v{x}" for x in pieces[i]])},
                               schema=schema) for i in sorted(rank, key=rank.__getitem__)]
    return pa.Table.from_batches(batches, schema=schema)


@pytest.mark.parametrize(("ids", "cuts", "order", "moved"), [
    ([], [], [], False),
    ([1, 2, 3, 4], [2], [0, 1], False),  # in order already: the table itself comes back
    ([1, 2, 3, 4, 5, 6], [2, 4], [2, 0, 1], False),  # runs out of turn ([1,2] [3,4] [5,6] placed third, first, second): put in turn, no row copied
    ([1, 2, 3, 4, 5, 6], [3], [1, 0], False),
    ([4, 5, 6, 1, 2, 3], [], [], False),  # runs out of turn inside one batch
    ([5, 6, 1, 2, 3, 4], [3], [0, 1], False),  # ... and across a batch's edge
    ([2, 5, 1, 6], [], [], False),  # runs that interleave: moved as the stretches the order takes whole
    ([3, 1, 2, 4], [2], [0, 1], False),  # a row out of order inside a run: a stretch of its own
    ([1, 4, 7, 2, 5, 8, 3, 6, 9], [3, 6], [0, 1, 2], False),  # three runs interleaved row by row: still moved
    (list(range(600, 0, -1)), [], [], True),  # no order at all (a stretch a row): copied in order
])
def test_a_bulk_page_is_put_in_id_order(ids, cuts, order, moved):
    import pyarrow as pa

    from connector.emulator.bulk_read import in_id_order

    table = _runs(ids, cuts, order)
    out = in_id_order(table)
    assert out.column("id").to_pylist() == sorted(ids)
    assert out.column("cell").to_pylist() == [f"v{x}" for x in sorted(ids)]
    if ids and not moved:
        # runs are reordered, not copied: each of the answer's chunks is one of the input's buffers
        held = {b.column(0).buffers()[1].address for b in table.to_batches()}
        assert {c.buffers()[1].address for c in out.column("id").chunks} <= held
    assert isinstance(out, pa.Table)


@given(st.lists(st.integers(0, 10**6), unique=True, max_size=60), st.lists(st.integers(0, 60), max_size=6),
       st.permutations(range(7)))
def test_in_id_order_sorts_any_page(ids, cuts, order):
    from connector.emulator.bulk_read import in_id_order

    out = in_id_order(_runs(ids, cuts, list(order)))
    assert out.column("id").to_pylist() == sorted(ids)
    assert out.column("cell").to_pylist() == [f"v{x}" for x in sorted(ids)]
