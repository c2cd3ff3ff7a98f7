"""Property tests for the bulk CSV decoder (pure: a CSV written the way Zoho writes it, decoded back)."""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import ConfigError, ConversionError
from connector.readers import READERS, ReaderContext, reader_for
from connector.readers.bulk_csv import canonical_json, decode_page, plan_csv, stored_bytes
from connector.readers.names import LookupNames
from connector.schema.convert import records_to_batch
from connector.schema.types import build_table_schema

FIELDS = [("Name", "text", {}), ("Tags", "multiselectpicklist", {}), ("Price", "currency", {"decimal_place": 2}),
          ("Seen", "datetime", {}), ("Flag", "boolean", {}), ("Count", "integer", {}), ("Ratio", "double", {}),
          ("Born", "date", {}), ("Where", "address", {}), ("Big", "bigint", {})]
TS = build_table_schema("Things", [{"api_name": n, "data_type": t, **extra} for n, t, extra in FIELDS])
COLUMNS = [c.name for c in TS.columns]

json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=12)
json_docs = st.recursive(st.dictionaries(st.text(max_size=6), json_scalars, max_size=4),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=3), max_leaves=8)


@given(json_docs)
def test_canonical_json_matches_the_rest_readers_text(doc: Any) -> None:
    # The JSON readers turn a JSON value into text with convert._text; bulk cells must end up the same.
    rest = records_to_batch(TS, ["id", "Where"], [{"id": "1", "Where": doc}]).column(1).to_pylist()
    assert canonical_json(pa.array([json.dumps(doc)])).to_pylist() == rest


cell_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\x00"), min_size=1, max_size=40)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
rows = st.fixed_dictionaries({
    "Name": st.none() | cell_text | st.sampled_from(["NULL", "null", "N/A", "NaN", 'say "hi", ok', "a\nb"]),
    "Tags": st.none() | st.lists(st.text(st.characters(codec="utf-8", exclude_characters=";\r\x00"), min_size=1, max_size=8),
                                 min_size=1, max_size=3),
    "Price": st.none() | st.decimals(-10**9, 10**9, places=4, allow_nan=False, allow_infinity=False),
    "Seen": st.none() | st.builds(lambda s, z: datetime(2020, 1, 1, tzinfo=UTC).astimezone(z) + timedelta(seconds=s),
                                  st.integers(0, 10**9), zones),
    "Flag": st.none() | st.booleans(),
    "Count": st.none() | st.integers(-(2**31), 2**31),
    "Ratio": st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64),
    "Born": st.none() | st.dates(date(1900, 1, 1), date(2100, 1, 1)),
    "Where": st.none() | st.dictionaries(st.text(max_size=5), json_scalars, min_size=1, max_size=3),
    "Big": st.none() | st.integers(-(2**63), 2**63 - 1),
})


def _cell(name: str, v: Any) -> str:
    """Zoho's Bulk Read CSV form of a value (bulk-read.md section 4)."""
    if v is None:
        return ""
    if name == "Tags":
        return ";".join(v)
    if name == "Seen":
        return v.isoformat()
    if name == "Flag":
        return "true" if v else "false"
    if name == "Born":
        return v.isoformat()
    if name == "Where":
        return json.dumps(v)
    return repr(v) if isinstance(v, float) else str(v)


def _zip(path: Path, records: list[dict[str, Any]], compression: int = zipfile.ZIP_STORED) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", *[n for n, _, _ in FIELDS]])
    for i, r in enumerate(records):
        w.writerow([str(5843104000000000000 + i), *[_cell(n, r[n]) for n, _, _ in FIELDS]])
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("1.csv", buf.getvalue())


@given(st.lists(rows, min_size=1, max_size=30), st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
def test_decoded_csv_equals_the_json_conversion(tmp_path_factory: pytest.TempPathFactory,
                                                records: list[dict[str, Any]], compression: int) -> None:
    # a stored entry is parsed where it lies in the file, a deflated one through zipfile: the same rows
    path = tmp_path_factory.mktemp("csv") / "page.zip"
    _zip(path, records, compression)
    plan = plan_csv(TS, COLUMNS, lambda module: None)
    got = pa.Table.from_batches(list(decode_page(path, plan, LookupNames(None), block_size=1 << 10)),  # type: ignore[arg-type]
                                schema=plan.schema)
    as_json = [{"id": str(5843104000000000000 + i), **r,
                "Price": None if r["Price"] is None else float(r["Price"].quantize(Decimal("0.01"), ROUND_HALF_EVEN)),
                "Seen": None if r["Seen"] is None else r["Seen"].isoformat(),
                "Born": None if r["Born"] is None else r["Born"].isoformat(),
                "Big": None if r["Big"] is None else str(r["Big"])} for i, r in enumerate(records)]
    want = pa.Table.from_batches([records_to_batch(TS, COLUMNS, as_json)], schema=plan.schema)
    assert got.equals(want), (got.to_pylist()[:2], want.to_pylist()[:2])


@pytest.mark.parametrize(("name", "cls"), [("REST", "RestReader"), ("rest", "RestReader"), ("COQL", "CoqlReader"),
                                           ("Search", "SearchReader"), (" bulk ", "BulkReader")])
def test_reader_for(ctx: ReaderContext, name: str, cls: str) -> None:
    assert type(reader_for(name, ctx)).__name__ == cls
    assert set(READERS) == {"REST", "COQL", "Search", "Bulk"}


@pytest.mark.parametrize(("name", "hint"), [("Bulkk", "did you mean Bulk?"), ("Auto", "resolved by the planner")])
def test_reader_for_unknown(ctx: ReaderContext, name: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        reader_for(name, ctx)
    assert hint in str(info.value)


def _page(path: Path, text: str, compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("7.csv", text.encode("utf-8"))
    return path


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_page_damaged_on_the_way_is_a_conversion_error_with_a_hint(tmp_path: Path, compression: int) -> None:
    plan = plan_csv(TS, ["id", "Name", "Count"], lambda module: None)
    path = _page(tmp_path / "p.zip", "id,Name,Count\n" + "".join(f"{i},n{i},{i}\n" for i in range(5000)), compression)
    with zipfile.ZipFile(path) as zf:
        entry = zf.infolist()[0]
    assert (stored_bytes(path, entry) is not None) == (compression == zipfile.ZIP_STORED)  # parsed in place
    # the CRC both headers give no longer matches the bytes (as when a transfer changed one of them)
    raw = bytearray(path.read_bytes())
    crc = struct.pack("<I", entry.CRC)
    assert raw.count(crc) == 2
    path.write_bytes(bytes(raw).replace(crc, struct.pack("<I", entry.CRC ^ 1)))
    with pytest.raises(ConversionError, match="damaged") as info:
        list(decode_page(path, plan, LookupNames(None), block_size=1 << 12))  # type: ignore[arg-type]
    assert "run the read again" in (info.value.hint or "")


def test_a_stored_page_shorter_than_its_directory_says_is_read_by_zipfile(tmp_path: Path) -> None:
    path = _page(tmp_path / "p.zip", "id,Name,Count\n1,x,2\n")
    with zipfile.ZipFile(path) as zf:
        entry = zf.infolist()[0]
    entry.compress_size += 10**6  # past the file's end: not mapped, zipfile says what is wrong
    assert stored_bytes(path, entry) is None


@pytest.mark.parametrize("header", ["id,Name,Count", "\ufeffid,Name,Count", "ID,name,COUNT"])
def test_header_spelling_and_bom(tmp_path: Path, header: str) -> None:
    plan = plan_csv(TS, ["id", "Name", "Count"], lambda module: None)
    path = _page(tmp_path / "p.zip", f'{header}\n1,"N/A",7\n2,,\n')
    got = pa.Table.from_batches(list(decode_page(path, plan, LookupNames(None))), schema=plan.schema)  # type: ignore[arg-type]
    assert got.to_pylist() == [{"id": "1", "Name": "N/A", "Count": 7}, {"id": "2", "Name": None, "Count": None}]


@pytest.mark.parametrize(("text", "message"), [
    ("id,Name\n1,x\n", "no column 'Count'"),
    ("id,Name,Count\n1,x,seven\n", "does not fit its column"),
])
def test_unreadable_pages_raise_conversion_errors(tmp_path: Path, text: str, message: str) -> None:
    plan = plan_csv(TS, ["id", "Name", "Count"], lambda module: None)
    with pytest.raises(ConversionError, match=message):
        list(decode_page(_page(tmp_path / "p.zip", text), plan, LookupNames(None)))  # type: ignore[arg-type]
