"""``Store.insert_rows`` (Arrow-backed): every column type round-trips, missing columns read NULL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from connector.emulator import schema
from connector.emulator.store import Store, id_base, stored_columns


def test_insert_rows_round_trips_every_column_type():
    store = Store()
    try:
        store.create_schema()
        m = schema.LEADS
        first = id_base(m) + 1
        rows = [
            {"id": first, "Last_Name": "O'Neil, \"MJ\"\n\u65e5\u672c", "Interests": ["CRM", "HR"],
             "Annual_Revenue": 1234.5, "Budget": Decimal("10.005"), "Created_Time": datetime(2024, 5, 2, 4, 45, 31),
             "Last_Contacted_On": date(1815, 12, 10), "Email_Opt_Out": True, "Visitor_Id": 123456789012345678,
             "No_of_Employees": 42, "Engagement_Ratio": 0.125, "Owner": schema.ADMIN_USER.id},
            {"id": first + 1, "Last_Name": "Sparse"},
        ]
        store.insert_rows(m, rows)
        got = store.raw_rows(m, [first, first + 1])
        full = got[first]
        for key, value in rows[0].items():
            expected = Decimal("10.01") if key == "Budget" else Decimal("1234.50") if key == "Annual_Revenue" \
                else value
            assert full[key] == expected, key
        sparse = got[first + 1]
        assert sparse["Last_Name"] == "Sparse"
        assert all(v is None for c, v in sparse.items() if c not in ("id", "Last_Name"))
        assert set(full) == {c for c, _ in stored_columns(m)}
    finally:
        store.close()



def test_counters_reserved_together_continue_as_one_at_a_time():
    """``next_values_many`` (ids and autonumbers in one statement) gives what reserving counter by counter
    gave: a new counter starts at its start, a known one continues, a count of 0 reserves none."""
    store = Store()
    try:
        store.create_schema()
        store.set_counter("known", 41)
        assert store.next_values_many([("known", 3, 1), ("new", 2, 100)]) == [[42, 43, 44], [100, 101]]
        assert store.next_values_many([("new", 0, 7), ("known", 1, 1), ("other", 1, 5)]) == [[], [45], [5]]
        assert store.next_values("other", 4, 5) == [6, 7, 8, 9]
        assert store.next_values("zero", 0, 10) == []
        assert store.next_values_many([]) == []
        assert store.fetchall("SELECT name, value FROM counters WHERE name IN ('known', 'new', 'other', 'zero') "
                              "ORDER BY name") == [("known", 45), ("new", 101), ("other", 9), ("zero", 9)]
    finally:
        store.close()
