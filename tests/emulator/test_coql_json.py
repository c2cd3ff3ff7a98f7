"""COQL pages rendered as JSON by DuckDB say exactly what the Python decoders say.

The emulator answers a COQL page with records DuckDB renders (``coql_json``); the Python decoders
of ``handlers/coql.py`` are the reference. Every selectable field of every COQL module of the shared
org (and of an org whose user sits west of UTC), dotted lookup paths included, goes both ways and
the parsed answers must be equal, in value and key order. Types the SQL rendering is not certain of
go the Python way, and datetimes render as the clock does for any instant and offset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.emulator.clock import VirtualClock
from connector.emulator.coql import parse_coql
from connector.emulator.coql_json import column_json, scalar_json
from connector.emulator.coql_plan import plan_coql
from connector.emulator.handlers.coql import run_plan, run_plan_json
from connector.emulator.schema import ModuleDef
from connector.emulator.zoho_errors import ZohoError


def _selectable(emu: Emulator, m: ModuleDef) -> list[str]:
    """The fields of ``m`` a COQL select list takes, with dotted paths through its first lookups."""
    names = []
    for f in m.fields:
        try:
            plan_coql(parse_coql(f"select {f.api_name} from {m.api_name} where id is not null"), m)
        except ZohoError:
            continue
        names.append(f.api_name)
    for path in ("Owner.last_name", "Owner.email", "Created_By.id", "Account_Name.Account_Name",
                 "Account_Name.Owner.first_name", "Contact_Name.Email", "Vendor_Name.Vendor_Name"):
        try:
            plan_coql(parse_coql(f"select {path} from {m.api_name} where id is not null"), m)
        except ZohoError:
            continue
        names.append(path)
    return names


def _both_ways(emu: Emulator, module: str, query: str) -> tuple[list[Any], Any, bool]:
    m = emu.app.org.module(module)
    assert m is not None
    plan = plan_coql(parse_coql(query), m)
    with emu.app.clock.frozen():  # one instant for both: formulas such as Days_Open move with the clock
        rows, more = run_plan(emu.app.store, emu.app.clock, plan)
        rendered = run_plan_json(emu.app.store, emu.app.clock, plan)
    assert rendered is not None, f"{module}: the SQL rendering gave up on {query}"
    records, count, more_json = rendered
    assert more_json == more
    got = json.loads(b"[" + records + b"]", object_pairs_hook=list)
    assert count == len(got) == len(rows)
    return rows, got, more


def _as_pairs(value: Any) -> Any:
    """A decoded record with its keys in order (dicts as lists of pairs, as object_pairs_hook gives)."""
    if isinstance(value, dict):
        return [(k, _as_pairs(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_as_pairs(v) for v in value]
    return value


def _coql_modules(emu: Emulator) -> list[ModuleDef]:
    return [m for m in emu.app.org.listed if m.coql and m.api_supported]


def _check_org(emu: Emulator) -> int:
    checked = 0
    for m in _coql_modules(emu):
        names = _selectable(emu, m)
        for at in range(0, len(names), 50):  # COQL takes 50 fields per select
            query = f"select {', '.join(names[at:at + 50])} from {m.api_name} where id is not null limit 2000"
            python, sql, _ = _both_ways(emu, m.api_name, query)
            assert sql == _as_pairs(python), (m.api_name, names[at:at + 50])
            checked += len(python)
    return checked


def test_every_field_of_every_module_renders_as_the_python_decoders_do(emulator: Emulator) -> None:
    assert len(_coql_modules(emulator)) >= 10
    assert _check_org(emulator) > 1_000


def test_an_org_west_of_utc_renders_its_datetimes_in_its_own_offset(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=300, seed=3, utc_offset_minutes=-300, org="classic")
    assert _check_org(emu) > 100
    _, sql, _ = _both_ways(emu, "Leads", "select Created_Time from Leads where id is not null limit 5")
    assert all(dict(r)["Created_Time"].endswith("-05:00") for r in sql)


def test_paging_and_ordering_are_the_same_either_way(emulator: Emulator) -> None:
    for query in ("select Last_Name, Email from Leads where id is not null order by Last_Name desc limit 7 offset 3",
                  "select Last_Name from Leads where Last_Name is null limit 10",  # nothing, or a few
                  "select id, Owner from Leads where id is not null limit 200 offset 1990"):
        python, sql, _ = _both_ways(emulator, "Leads", query)
        assert sql == _as_pairs(python), query


@pytest.mark.parametrize(("value_type", "stored", "certain"), [
    ("bigint", "BIGINT", True), ("bigint", "DECIMAL(18,2)", False), ("bigint", "VARCHAR", False),
    ("double", "DOUBLE", True), ("currency", "DECIMAL(18,2)", True), ("percent", "INTEGER", True),
    ("double", "VARCHAR", False), ("integer", "INTEGER", True), ("integer", "DOUBLE", False),
    ("datetime", "TIMESTAMP", True), ("datetime", "VARCHAR", True), ("datetime", "TIMESTAMP WITH TIME ZONE", False),
    ("date", "DATE", True), ("date", "TIMESTAMP", False), ("multiselectpicklist", "VARCHAR[]", True),
    ("multiselectpicklist", "VARCHAR", False), ("text", "VARCHAR", True), ("text", "DECIMAL(10,2)", True),
    ("text", "BLOB", False), ("boolean", "BOOLEAN", True), ("text", "STRUCT(a INTEGER)", False),
])
def test_a_stored_type_is_rendered_in_sql_only_where_the_rendering_is_certain(value_type: str, stored: str,
                                                                               certain: bool) -> None:
    clock = VirtualClock()
    assert (scalar_json(value_type, "x", stored, clock) is not None) == certain


def test_lookups_and_ids_need_integer_ids() -> None:
    clock = VirtualClock()
    assert column_json("lookup", ["a", "b"], ["BIGINT", "VARCHAR"], clock) is not None
    assert column_json("lookup", ["a", "b"], ["VARCHAR", "VARCHAR"], clock) is None
    assert column_json("lookup", ["a", "b", "c"], ["BIGINT", "VARCHAR", "INTEGER"], clock) is None
    assert column_json("id", ["a"], ["DOUBLE"], clock) is None


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
       st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_a_datetime_rendered_in_sql_is_the_clocks_rendering(value: datetime, minutes: int) -> None:
    clock = VirtualClock(utc_offset_minutes=minutes)
    got = duckdb.execute(f"SELECT {clock.render_sql('?::TIMESTAMP')}", [value]).fetchone()
    assert got is not None and got[0] == clock.render(value)
    assert duckdb.execute(f"SELECT {clock.render_sql('NULL::TIMESTAMP')}").fetchone() == (None,)


def test_a_select_list_is_described_once_whatever_instant_its_formulas_were_given() -> None:
    """Formulas such as Days_Open are written with the clock's "now": the same select list a second later is the
    same columns of the same types, so it is not described again (the page is rendered at every call)."""
    from connector.emulator.coql_json import StoredTypes

    described: list[str] = []
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, made TIMESTAMP)")

    def describe(sql: str) -> list[tuple[Any, ...]]:
        described.append(sql)
        return con.execute(sql).fetchall()

    class Store:  # what the emulator's store is to the cache: a key it holds weakly
        pass

    known, store = StoredTypes(), Store()
    select = "SELECT id, round(epoch(TIMESTAMP '{}' - made) / 86400.0, 2) AS age FROM t"
    first = known.of(store, select.format("2026-12-07 23:58:01"), describe)
    assert known.of(store, select.format("2026-12-07 23:58:02"), describe) == first == ["BIGINT", "DOUBLE"]
    assert len(described) == 1
    known.of(store, "SELECT made FROM t", describe)  # another select list is described
    assert len(described) == 2
