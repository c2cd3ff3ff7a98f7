"""A page of records decoded by Arrow's JSON reader gives the batch ``json`` and ``convert`` give.

:class:`connector.schema.json_page.PageDecoder` reads Zoho's bytes straight into Arrow where every
value has the JSON type its field's metadata gives, and otherwise decodes the page with ``json``.
Both ways must give the same batch (or the same error) for any page Zoho might send; and on the
emulator, whose answers follow Zoho's types, the fast way must be the one taken.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.api import coql as coql_api
from connector.emulator import Emulator
from connector.errors import ConversionError
from connector.readers.coql import CoqlReader
from connector.readers.dialects.coql import CoqlQuery
from connector.readers.paging import coql_page
from connector.schema.convert import records_to_batch
from connector.schema.json_page import PageDecoder
from connector.schema.types import TableSchema, build_table_schema
from connector.session import ZohoSession

FIELDS = [
    {"api_name": "When", "data_type": "datetime", "json_type": "string"},
    {"api_name": "Day", "data_type": "date", "json_type": "string"},
    {"api_name": "Text", "data_type": "text", "json_type": "string"},
    {"api_name": "N", "data_type": "integer", "json_type": "integer"},
    {"api_name": "Big", "data_type": "bigint", "json_type": "string"},
    {"api_name": "X", "data_type": "double", "json_type": "double"},
    {"api_name": "Flag", "data_type": "boolean", "json_type": "boolean"},
    {"api_name": "Many", "data_type": "multiselectpicklist", "json_type": "jsonarray"},
    {"api_name": "Money", "data_type": "currency", "json_type": "double", "decimal_place": 2},
    {"api_name": "Account", "data_type": "lookup", "json_type": "jsonobject",
     "lookup": {"module": {"api_name": "Accounts"}}},
    {"api_name": "Remind_At", "data_type": "ALARM", "json_type": "jsonobject"},  # kept as JSON text
    {"api_name": "Tag", "data_type": "text", "json_type": "jsonarray"},
]

zones = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
ISO = moments.map(lambda d: d.replace(microsecond=0).isoformat())
ODD = st.sampled_from(["", "12", "1.5", "true", "a;b", "2024-02-29", "not a date", "-0", " 7",
                       # integers as text that int() and Arrow's cast read differently, or not at all
                       "+5", "007", "0x1F", "1_000", "\u0663", "9" * 20, "-9223372036854775809"])
IDS = st.integers(min_value=1, max_value=10**19).map(str)
#: values of each field's own JSON type (Zoho's), and values of other types now and then
GOOD = {
    "When": st.one_of(st.none(), ISO),
    "Day": st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1)).map(date.isoformat)),
    "Text": st.one_of(st.none(), st.text(max_size=8)),
    "N": st.one_of(st.none(), st.integers(min_value=-2**31, max_value=2**31)),
    "Big": st.one_of(st.none(), st.integers(min_value=-2**63, max_value=2**63 - 1).map(str)),
    "X": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-2**60, 2**60)),
    "Flag": st.one_of(st.none(), st.booleans()),
    "Many": st.one_of(st.none(), st.lists(st.text(max_size=4), max_size=3)),
    "Money": st.one_of(st.none(), st.floats(allow_nan=False, min_value=-1e12, max_value=1e12),
                       st.integers(-10**16, 10**16),
                       # Zoho's own: a number of the field's 2 decimals, up to past where doubles space 0.01
                       st.integers(-10**17, 10**17).map(lambda k: k / 100), st.integers(-10**5, 10**5).map(
                           lambda k: k / 1000)),
    "Account": st.one_of(st.none(), st.fixed_dictionaries({"id": IDS}, optional={"name": st.text(max_size=5)})),
    "Remind_At": st.one_of(st.none(), st.fixed_dictionaries({"ALARM": st.text(max_size=6)}),
                           st.dictionaries(st.text(max_size=3), st.integers() | st.floats(allow_nan=False), max_size=2)),
    "Tag": st.one_of(st.none(), st.lists(st.fixed_dictionaries({"name": st.text(max_size=4), "id": IDS}), max_size=2)),
}
OTHER = st.one_of(ODD, st.integers(min_value=-2**70, max_value=2**70), st.booleans(),
                  st.lists(st.integers(), max_size=2), st.fixed_dictionaries({"id": st.integers()}),
                  st.sampled_from(["2024-05-02T10:15:31", "2024-05-02T10:15:31.5+05:30", "2024-05-02T10:15:31Z"]))


def _schema() -> TableSchema:
    return build_table_schema("Leads", FIELDS)


def _both(ts: TableSchema, records: list[dict[str, Any]], more: bool = False) -> tuple[Any, Any, bool]:
    body = json.dumps({"data": records, "info": {"count": len(records), "more_records": more}}).encode()
    cols = [c.name for c in ts.columns]
    page = PageDecoder.for_columns(ts, cols).page(body, lambda: json.loads(body))
    assert page.more is more and page.ids == [str(r["id"]) for r in records] and len(page) == len(records)
    return _outcome(lambda: page.to_batch(ts, cols)), \
        _outcome(lambda: records_to_batch(ts, cols, json.loads(body)["data"])), page.by_arrow


def _outcome(make: Any) -> Any:
    try:
        return make()
    except ConversionError:
        return ConversionError
    except (ValueError, TypeError, ArithmeticError, pa.ArrowException) as exc:
        return type(exc)


def _records(data: st.DataObject, values: dict[str, Any]) -> list[dict[str, Any]]:
    n = data.draw(st.integers(min_value=1, max_value=6))
    return [{"id": data.draw(IDS), **{k: data.draw(v) for k, v in values.items() if data.draw(st.booleans()) or k}}
            for _ in range(n)]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_page_of_zohos_types_is_read_by_arrow_as_json_and_convert_read_it(data: st.DataObject) -> None:
    ts = _schema()
    records = _records(data, GOOD)
    for r in records:  # a field left out of a record is null, as when Zoho sends it as null
        for k in [k for k in r if k != "id" and data.draw(st.booleans())]:
            del r[k]
    fast, slow, by_arrow = _both(ts, records, more=data.draw(st.booleans()))
    money = [r.get("Money") for r in records]
    if all(not isinstance(m, int) or abs(m) < 2**53 for m in money):
        assert by_arrow
    assert isinstance(fast, pa.RecordBatch) == isinstance(slow, pa.RecordBatch), (records, fast, slow)
    assert fast.equals(slow) if isinstance(fast, pa.RecordBatch) else fast is slow, (records, fast, slow)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_a_page_with_values_of_other_types_gives_the_same_batch_or_error(data: st.DataObject) -> None:
    ts = _schema()
    mixed = {k: st.one_of(v, OTHER) for k, v in GOOD.items()}
    records = _records(data, mixed)
    fast, slow, _ = _both(ts, records)
    assert isinstance(fast, pa.RecordBatch) == isinstance(slow, pa.RecordBatch), (records, fast, slow)
    assert fast.equals(slow) if isinstance(fast, pa.RecordBatch) else fast is slow, (records, fast, slow)


@pytest.mark.parametrize("text", ["12", "-0", "007", "-9223372036854775808", "9223372036854775807", "+5", " 7",
                                  "0x1F", "1_000", "\u0663", "1e3", "", "9" * 20, "-9223372036854775809"])
def test_an_integer_given_as_text_is_read_as_int_reads_it(text: str) -> None:
    """bigint comes as text: a page whose values are plain digits is cast whole, any other form (one Arrow's cast
    would read and ``int()`` would not, or the reverse) as :mod:`connector.schema.convert` reads it."""
    ts = _schema()
    fast, slow, by_arrow = _both(ts, [{"id": "1", "Big": "41"}, {"id": "2", "Big": text}, {"id": "3", "Big": None}])
    assert by_arrow
    assert isinstance(fast, pa.RecordBatch) == isinstance(slow, pa.RecordBatch), (text, fast, slow)
    assert fast.equals(slow) if isinstance(fast, pa.RecordBatch) else fast is slow, (text, fast, slow)


def test_a_page_arrow_refuses_is_read_by_json_and_so_are_the_reads_later_pages() -> None:
    ts = _schema()
    cols = [c.name for c in ts.columns]
    decoder = PageDecoder.for_columns(ts, cols)
    good = json.dumps({"data": [{"id": "1", "N": 3}], "info": {"more_records": True}}).encode()
    odd = json.dumps({"data": [{"id": "2", "N": "3"}], "info": {"more_records": True}}).encode()
    assert decoder.page(good, lambda: json.loads(good)).by_arrow
    page = decoder.page(odd, lambda: json.loads(odd))
    assert not page.by_arrow and page.to_batch(ts, ["N"]).column(0).to_pylist() == [3]
    assert not decoder.page(good, lambda: json.loads(good)).by_arrow


def test_a_slice_of_a_page_keeps_its_rows_and_ids() -> None:
    ts = _schema()
    records = [{"id": str(i), "Text": f"t{i}", "Account": {"id": str(100 + i), "name": None}} for i in range(1, 8)]
    body = json.dumps({"data": records, "info": {"more_records": False}}).encode()
    page = PageDecoder.for_columns(ts, ["id", "Text"]).page(body, lambda: json.loads(body))
    cut = page[2:5]
    assert cut.by_arrow and cut.ids == ["3", "4", "5"] and len(cut) == 3 and not page[7:]
    assert cut.to_batch(ts, ["id", "Text"]).to_pylist() == [{"id": str(i), "Text": f"t{i}"} for i in (3, 4, 5)]
    assert [r["id"] for r in cut.records] == ["3", "4", "5"] and cut[1:].records[0]["Text"] == "t4"


@pytest.fixture(scope="module")
def org() -> Any:
    with Emulator(records=600, seed=7, org="classic") as emu:
        yield emu


def test_every_coql_module_of_the_emulator_is_read_by_arrow(org: Emulator) -> None:
    """The emulator answers in Zoho's JSON types: no page of any module falls back to ``json``, and the
    batch equals the one ``json`` and ``convert`` make of the same bytes."""
    fast = 0
    with ZohoSession(org.connection_string) as s:
        for module in s.catalog.modules():
            ts = s.catalog.table(module)
            if "COQL" not in ts.read_apis:
                continue
            cols = [c.name for c in ts.columns if c.part != "module" and c.value_type != "tag"
                    and c.name not in ts.records_only_columns]
            decoder = PageDecoder.for_columns(ts, cols)
            if decoder.schema is None:
                continue
            fields = tuple(ts.fields_for(cols) or ["id"])
            r = coql_api.ask(s.http, CoqlQuery(module, fields, (), limit=200, order_by=(("id", True),)).text())
            if r.empty:
                continue
            page = decoder.page(r.content, lambda answer=r: answer.body)
            assert page.by_arrow, module
            assert page.to_batch(ts, cols).equals(records_to_batch(ts, cols, r.body["data"])), module
            fast += 1
    assert fast >= 10


def test_a_split_read_decoded_by_arrow_equals_the_read_decoded_by_json(org: Emulator) -> None:
    # one virtual instant for both reads: Leads.Days_Open is a formula over the org's clock
    with org.app.clock.frozen(), ZohoSession(org.connection_string + ";MaxConcurrency=10") as s:
        ctx = s.reader_context()
        got = pa.Table.from_batches(list(CoqlReader(ctx).batches("Leads")))
        cols = got.column_names
        ts = s.catalog.table("Leads")
        pages = []
        after = None
        while True:
            page = coql_page(s.http, CoqlQuery("Leads", tuple(ts.fields_for(cols)), (), after_id=after, limit=2000,
                                               order_by=(("id", True),)).text())
            if not page:
                break
            assert not page.by_arrow
            pages.append(records_to_batch(ts, cols, page.records))
            after = page.ids[-1]
        assert got.equals(pa.Table.from_batches(pages, schema=got.schema))
