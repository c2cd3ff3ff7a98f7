"""A WHERE of 25 pushable conjuncts: every API answers it, and COUNT(*) stays one COQL call.

COQL and Bulk take 25 conditions; their readers add their own (COQL's keyset
``id > last`` from the second page on, ``Modified_Time >= since``, a
partition's bounds). The planner leaves them that room, so a read past one page
is not refused with LIMIT_EXCEEDED; a COUNT(*) has no keyset and may use all 25.
"""

from __future__ import annotations

import pytest

from connector.emulator import Emulator

from .conftest import Sessions, Truth, assert_same_result, calls_since, data_calls

WHERE = " AND ".join(f"No_of_Employees >= {-i}" for i in range(25))  # 25 exact conditions
SQL = f"SELECT id, No_of_Employees FROM Leads WHERE {WHERE}"


@pytest.mark.parametrize("api", ["COQL", "Bulk", "Search", "Auto"])
def test_25_conjuncts_read_past_the_first_page(api: str, sessions: Sessions, truth: Truth) -> None:
    engine = sessions.engine(f";APIType={api}")
    plan = engine.plan(SQL)
    if api in ("COQL", "Bulk"):
        pushed = plan.scans[0].pushdown
        assert (pushed.coql_where or "").count(">=") == 22 and len(pushed.bulk_criteria["group"]) == 22
    want = truth.query(SQL, modules=("Leads",))
    assert want.num_rows > 200  # the COQL reader needs a second page, with its keyset condition
    got = engine.run(SQL).reader.read_all()
    assert_same_result(got, want, ordered=False, label=api)


def test_count_with_25_conjuncts_is_one_coql_call(org: Emulator, sessions: Sessions, truth: Truth) -> None:
    engine = sessions.engine()
    sql = f"SELECT COUNT(*) AS n FROM Leads WHERE {WHERE}"
    assert engine.plan(sql).count_via_coql
    before = data_calls(org)
    got = engine.run(sql).reader.read_all()
    assert calls_since(org, before) == {"coql_query": 1}
    assert got.column("n").to_pylist() == truth.query(sql, modules=("Leads",)).column("n").to_pylist()
