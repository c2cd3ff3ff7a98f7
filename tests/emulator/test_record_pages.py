"""A page of records read through ``RecordReader.sql`` (the page's ids chosen first, only its rows
joined to the select list) holds the rows, in the order, that one query joining every row gives."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connector.emulator import Emulator
from connector.emulator.criteria import parse_criteria
from connector.emulator.encoding import RecordReader, record_fields, scalar_converter, scalar_to_json
from connector.emulator.filters import compile_filter


def _reference(reader: RecordReader, where: str, order_by: str, limit: int, offset: int) -> str:
    """The single query every row goes through: filter, joins, sort, then the page."""
    rows = reader.sel.from_clause()
    if reader.page.joins:  # a filter through a lookup: its joins are the page selection's
        picked = f"SELECT t.id FROM {reader.page.from_clause()}" + (f" WHERE {where}" if where else "")
        where = f"t.id IN ({picked})"
    return (f"SELECT {', '.join(reader.exprs)} FROM {rows}" + (f" WHERE {where}" if where else "")
            + f" ORDER BY {order_by} LIMIT {limit} OFFSET {offset}")


def _same(emu: Emulator, module: str, where: str, params: list[Any], order_by: str, limit: int, offset: int,
          criteria: str | None = None) -> int:
    m = emu.app.org.module(module)
    assert m is not None
    reader = RecordReader(emu.app.store, m, emu.app.clock, record_fields(m))
    if criteria is not None:
        sql, extra = compile_filter(parse_criteria(criteria, m, "v8"), reader.page, m, emu.app.clock)
        where, params = " AND ".join(x for x in (where, sql) if x), params + extra
    got = emu.app.store.fetchall(reader.sql(where, order_by, limit, offset), params)
    want = emu.app.store.fetchall(_reference(reader, where, order_by, limit, offset), params)
    assert got == want, (module, where, order_by, limit, offset)
    return len(got)


def test_pages_of_every_listed_module_are_the_rows_of_one_joined_query(emulator: Emulator) -> None:
    seen = 0
    for m in emulator.app.org.listed:
        if not m.api_supported:
            continue
        for order in ("t.id ASC", "t.id DESC", "t.Created_Time DESC NULLS LAST, t.id DESC",
                      "t.Modified_Time ASC NULLS LAST, t.id ASC"):
            if "Time" in order and m.field(order.split()[0][2:]) is None:
                continue
            for limit, offset in ((201, 0), (51, 150), (7, 1990)):
                seen += _same(emulator, m.api_name, "", [], order, limit, offset)
    assert seen > 1_000


def test_filtered_pages_and_search_criteria_choose_the_same_rows(emulator: Emulator) -> None:
    assert _same(emulator, "Leads", "t.id > ?", [0], "t.id ASC", 201, 0) > 0
    assert _same(emulator, "Leads", "NOT coalesce(t.Converted__s, false)", [], "t.Created_Time DESC NULLS LAST, t.id DESC",
                 101, 20) > 0
    assert _same(emulator, "Contacts", "", [], "t.id ASC", 50, 0, criteria="(Last_Name:starts_with:a)") > 0
    assert _same(emulator, "Deals", "", [], "t.id ASC", 200, 0, criteria="(Owner:equals:5843104000000424672)") > 0


def test_the_column_converter_renders_every_stored_value_as_scalar_to_json_does(emulator: Emulator) -> None:
    clock = emulator.app.clock
    values: list[Any] = [None, 0, 7, -3, 2.5, Decimal("12.50"), Decimal("-0.01"), "text", "[1, 2]", '{"a": 1}',
                         ["a", "b"], True, False, datetime(2025, 5, 21, 22, 10, 40, 123), date(2024, 2, 29)]
    types = {f.value_type for m in emulator.app.org.listed for f in m.fields} | {"bigint", "rollup_summary"}
    for vt in sorted(types):
        convert = scalar_converter(vt, clock)
        for v in values:
            try:
                want = scalar_to_json(vt, v, clock)
            except (TypeError, ValueError):
                continue  # a value this type never stores
            got = convert(v)
            assert (type(got), got) == (type(want), want), (vt, v)


def test_user_and_layout_lookups_are_named_as_the_users_and_layouts_tables_say(emulator: Emulator) -> None:
    """Pages name users and layouts from the store's tables read once, not by a join per page: every such
    lookup of every listed module reads as a join of those tables gives it."""
    store, checked = emulator.app.store, 0
    for m in emulator.app.org.listed:
        if not m.api_supported:
            continue
        people = [f for f in m.fields if f.data_type in ("ownerlookup", "userlookup", "layout") and not f.targets]
        if not people:
            continue
        reader = RecordReader(store, m, emulator.app.clock, record_fields(m))
        got = {r["id"]: r for r in reader.fetch(order_by="t.id", limit=300)}
        for f in people:
            table, cols = ("layouts", "j.name") if f.data_type == "layout" else ("users", "j.full_name, j.email")
            want = store.fetchall(f'SELECT t.id, t."{f.api_name}", {cols} FROM "{m.api_name}" t '
                                  f'LEFT JOIN {table} j ON j.id = t."{f.api_name}" ORDER BY t.id LIMIT 300')
            for rid, value, *named in want:
                seen = got[str(rid)].get(f.api_name)
                if value is None:
                    assert seen is None, (m.api_name, f.api_name, rid)
                    continue
                expect = {"name": named[0], "id": str(value)}
                if f.data_type != "layout":
                    expect["email"] = named[1]
                assert seen == expect and list(seen) == list(expect), (m.api_name, f.api_name, rid)
                checked += 1
    assert checked > 1_000
