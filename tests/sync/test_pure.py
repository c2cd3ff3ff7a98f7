"""Pure pieces of the sync layer: the stored-schema grammar, the load order, user mapping, the watermark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.errors import StateError
from connector.sync.boundary import read_past_boundary
from connector.sync.lookups import RECORD, USER, LookupColumn, load_order, raw_targets
from connector.sync.schema_io import (
    conform,
    merged,
    schema_from_json,
    schema_to_json,
    text_to_type,
    type_to_text,
)
from connector.sync.state import BOUNDARY_SETTLE, BoundaryCheck, ModifiedTimeWatermark, ModuleState
from connector.sync.zoho_needs import writes_needed
from connector.sync.zoho_rows import UserMap

# -- stored schema grammar ------------------------------------------------------------------------

TYPES = [
    (pa.string(), "string"), (pa.int64(), "int64"), (pa.float64(), "float64"), (pa.bool_(), "bool"),
    (pa.date32(), "date32"), (pa.decimal128(18, 2), "decimal(18,2)"), (pa.decimal128(18, 0), "decimal(18,0)"),
    (pa.timestamp("s", tz="UTC"), "timestamp[s, UTC]"), (pa.timestamp("us"), "timestamp[us]"),
    (pa.list_(pa.string()), "list<string>"), (pa.list_(pa.list_(pa.int64())), "list<list<int64>>"),
]


@pytest.mark.parametrize("arrow, text", TYPES)
def test_type_text_both_ways(arrow, text):
    assert type_to_text(arrow) == text
    assert text_to_type(text) == arrow


@pytest.mark.parametrize("bad", ["varchar", "decimal(18)", "timestamp[h]", "list<>", ""])
def test_unknown_type_text_is_a_state_error(bad):
    with pytest.raises(StateError):
        text_to_type(bad)


scalar = st.sampled_from([pa.string(), pa.int64(), pa.int32(), pa.float64(), pa.bool_(), pa.date32(),
                          pa.timestamp("s", tz="UTC"), pa.timestamp("ms"), pa.large_string()])
decimals = st.builds(lambda p, s: pa.decimal128(p, min(s, p)), st.integers(1, 38), st.integers(0, 38))
arrow_types = st.recursive(st.one_of(scalar, decimals), lambda inner: inner.map(pa.list_), max_leaves=3)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), arrow_types), max_size=8, unique_by=lambda x: x[0]))
def test_any_schema_survives_the_json_round_trip(cols):
    schema = pa.schema([pa.field(n, t) for n, t in cols])
    assert schema_from_json(schema_to_json(schema)) == schema


def test_conform_adds_missing_columns_as_nulls_and_casts():
    want = pa.schema([("id", pa.string()), ("n", pa.int64()), ("new", pa.float64())])
    got = conform(pa.table({"n": pa.array([1, 2], pa.int32()), "id": ["a", "b"], "gone": [1, 2]}), want)
    assert got.schema == want and got.column("new").null_count == 2 and got.column("n").to_pylist() == [1, 2]


_CONFORM_TYPES = [pa.string(), pa.int64(), pa.int32(), pa.float64(), pa.bool_()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abcdefg"), unique=True, max_size=7),
       st.lists(st.sampled_from("abcdefg"), unique=True, min_size=1, max_size=7), st.data())
def test_conform_gives_the_schema_s_columns_in_its_order_whatever_the_batch_holds(have, want, data):
    """Every column of the schema, in its order and type: the batch's own values where it has the column
    (cast where the type differs), nulls where it does not; the batch's other columns dropped; the
    schema's metadata kept, also when the batch already has exactly its columns."""
    rows = data.draw(st.integers(0, 2))  # values 0 and 1: every one of the types casts to every other
    values = pa.array(list(range(rows)), pa.int64())
    batch = pa.table({n: values.cast(data.draw(st.sampled_from(_CONFORM_TYPES))) for n in have}) if have \
        else pa.table({"other": values})
    schema = pa.schema([(n, data.draw(st.sampled_from(_CONFORM_TYPES))) for n in want],
                       metadata=data.draw(st.sampled_from([None, {"k": "v"}])))
    got = conform(batch, schema)
    assert got.schema.equals(schema, check_metadata=True) and got.num_rows == rows
    for f in schema:
        if f.name in have:
            assert got.column(f.name).to_pylist() == batch.column(f.name).cast(f.type).to_pylist()
        else:
            assert got.column(f.name).null_count == rows
    assert conform(got, schema).equals(got)  # already conformed: as it is


def test_merged_keeps_columns_the_org_dropped():
    old = pa.schema([("id", pa.string()), ("dropped", pa.int64())])
    new = pa.schema([("id", pa.string()), ("added", pa.bool_())])
    assert merged(new, old).names == ["id", "added", "dropped"]
    assert merged(new, None) == new


# -- load order -------------------------------------------------------------------------------------

ORDER_CASES = [
    # (modules, parents, expected order, expected deferred edges)
    (["Deals", "Contacts", "Accounts"], {"Deals": [("Accounts", False), ("Contacts", False)],
                                        "Contacts": [("Accounts", False)]},
     ["Accounts", "Contacts", "Deals"], set()),
    (["Accounts"], {"Accounts": [("Accounts", False)]}, ["Accounts"], set()),  # self reference: second pass
    (["A", "B"], {"A": [("B", True)], "B": [("A", False)]}, ["B", "A"], {("B", "A")}),  # break the optional edge
    (["A", "B"], {"A": [("B", False)], "B": [("A", False)]}, ["A", "B"], {("A", "B")}),
    (["Tasks", "Leads"], {"Tasks": [("Accounts", False)]}, ["Tasks", "Leads"], set()),  # parent not migrated
    (["Milestones", "Projects", "Milestones"], {"Milestones": [("Projects", True)]}, ["Projects", "Milestones"],
     set()),
]


@pytest.mark.parametrize("modules, parents, order, deferred", ORDER_CASES)
def test_load_order_cases(modules, parents, order, deferred):
    assert load_order(modules, parents) == (order, deferred)


names = st.sampled_from(list("ABCDEFG"))


@given(st.lists(names, min_size=1, max_size=7, unique=True),
       st.dictionaries(names, st.lists(st.tuples(names, st.booleans()), max_size=4), max_size=7))
def test_load_order_puts_parents_first_except_the_edges_it_defers(modules, parents):
    order, deferred = load_order(modules, parents)
    assert sorted(order) == sorted(modules)
    pos = {m: i for i, m in enumerate(order)}
    for child in modules:
        for parent, _ in parents.get(child, []):
            if parent in pos and parent != child and (child, parent) not in deferred:
                assert pos[parent] < pos[child]
    # A mandatory edge is deferred only when every way out of the cycle needs one.
    assert all(child in modules and parent in modules for child, parent in deferred)


def test_raw_targets_reads_polymorphic_lookup_modules():
    meta = [{"api_name": "What_Id", "lookup": {"module": {"api_name": "Accounts"},
                                                "modules": [{"api_name": "Accounts"}, {"api_name": "Deals"}]}},
            {"api_name": "Account_Name", "lookup": {"module": {"api_name": "Accounts"}}},
            {"api_name": "Email", "lookup": {}}, {"api_name": "Subject"}]
    assert raw_targets(meta) == {"What_Id": ("Accounts", "Deals"), "Account_Name": ("Accounts",)}


# -- users ------------------------------------------------------------------------------------------

def test_users_map_by_email_then_name_then_the_connection_user():
    src = [{"id": "1", "email": "Jane@X.example", "name": "Jane"}, {"id": "2", "email": "gone@x.example",
                                                                   "name": "Sam Active"},
           {"id": "3", "email": "nobody@x.example", "name": "Nobody"}]
    tgt = [{"id": "10", "email": "jane@x.example", "full_name": "Jane A", "status": "active"},
           {"id": "20", "email": "sam@x.example", "full_name": "Sam Active", "status": "active"},
           {"id": "30", "email": "nobody@x.example", "full_name": "Nobody", "status": "disabled"}]
    users = UserMap.build(src, tgt, "99")
    assert [users.map("1", None), users.map("2", None), users.map("3", "Nobody")] == ["10", "20", "99"]
    assert users.map("404", "Sam Active") == "20" and users.map(None, None) is None
    assert users.map("404", "Unknown") == "99"
    assert users.fell_back == 2


# -- watermark ----------------------------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TS = pa.timestamp("s", tz="UTC")


def _batch(rows):
    return pa.RecordBatch.from_pydict({"id": [r[0] for r in rows], "Modified_Time": [r[1] for r in rows]},
                                      schema=pa.schema([("id", pa.string()), ("Modified_Time", TS)]))


@given(st.lists(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=12), min_size=1, max_size=5))
def test_watermark_takes_every_change_once_across_runs(waves):
    """Changes land in waves (ids edited at second offsets); each run reads Modified_Time >= watermark,
    capped at its signpost. Every (id, version) is taken exactly once over all runs, none is lost.

    Writes stamp the current second or up to 6 s back — commits that become visible late — but
    never below the watermark (a run only advances it over rows below its signpost, which were
    visible when it read), and a record taken at the boundary second is not stamped with that
    very second again (Zoho's clock has moved on by the time anyone can edit it again).
    """
    wm = ModifiedTimeWatermark()
    table: dict[str, datetime] = {}
    taken: set[tuple[str, datetime]] = set()
    clock = T0
    for wave in waves:
        for rid, dt in wave:
            stamp = max(T0, clock - timedelta(seconds=dt), wm.modified_time or T0)
            if stamp == wm.modified_time and str(rid) in wm.boundary_ids:
                stamp += timedelta(seconds=1)
            table[str(rid)] = stamp
        clock += timedelta(seconds=3)
        signpost = clock
        rows = [(i, t) for i, t in table.items() if wm.modified_time is None or t >= wm.modified_time]
        kept = wm.window_filter(_batch(rows), signpost)
        got = set(zip(kept.column("id").to_pylist(), kept.column("Modified_Time").to_pylist(), strict=True))
        assert not (got & taken), "a version was taken twice"
        taken |= got
        wm = wm.advanced([kept])
    # After one more quiet run past every timestamp, every current version has been taken.
    clock += timedelta(seconds=10)
    rows = [(i, t) for i, t in table.items() if wm.modified_time is None or t >= wm.modified_time]
    kept = wm.window_filter(_batch(rows), clock)
    taken |= set(zip(kept.column("id").to_pylist(), kept.column("Modified_Time").to_pylist(), strict=True))
    assert {(i, t) for i, t in table.items()} <= taken


class TableSource:
    """An in-memory module for the boundary protocol: rows (id -> Modified_Time) and the calls it answered."""

    def __init__(self, table: dict[str, datetime]) -> None:
        self.table = table
        self.calls: list[str] = []

    def _rows(self, keep) -> pa.RecordBatch:
        return _batch(sorted((i, t) for i, t in self.table.items() if keep(t)))

    def read_from(self, since: datetime):
        self.calls.append("read")
        batch = self._rows(lambda t: t >= since)
        return iter([batch] if batch.num_rows else [])

    def count_at(self, second: datetime) -> int:
        self.calls.append("count")
        return sum(1 for t in self.table.values() if t == second)

    def read_at(self, second: datetime, _by_count: bool):
        self.calls.append("read second")
        return iter([self._rows(lambda t: t == second)])

    def delta(self, wm: ModifiedTimeWatermark, signpost: datetime) -> tuple[pa.RecordBatch, ModifiedTimeWatermark]:
        """One incremental run the way the runner drives a source past a crowded boundary second."""
        if wm.modified_time is None:
            batches = [self._rows(lambda t: True)]
            check = None
        else:
            check = BoundaryCheck(wm)
            batches = list(read_past_boundary(wm.modified_time, set(wm.boundary_ids), check, read_from=self.read_from,
                                              count_at=self.count_at, read_at=self.read_at))
        kept = [wm.window_filter(b, signpost) for b in batches]
        taken = pa.concat_tables([pa.Table.from_batches([k]) for k in kept]) if kept else None
        return (taken.combine_chunks().to_batches()[0] if taken is not None and taken.num_rows
                else _batch([])), wm.advanced(kept, check, signpost)


@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=12),
                          st.sampled_from([1, 3, 3, int(BOUNDARY_SETTLE.total_seconds()) + 1])),
                min_size=1, max_size=6))
def test_reading_past_a_crowded_boundary_takes_every_change_once(waves):
    """The same waves as above, read the way a boundary too large for one query is: after the second,
    plus a count there until it is settled. Writes become visible at most 6 s late (far less than the
    settle time). Every version is taken exactly once; once settled, a quiet run is one read call."""
    wm = ModifiedTimeWatermark()
    table: dict[str, datetime] = {}
    src = TableSource(table)
    taken: set[tuple[str, datetime]] = set()
    clock = T0
    for wave, step in waves:
        for rid, dt in wave:
            stamp = max(T0, clock - timedelta(seconds=dt), wm.modified_time or T0)
            if stamp == wm.modified_time and str(rid) in wm.boundary_ids:
                stamp += timedelta(seconds=1)
            table[str(rid)] = stamp
        clock += timedelta(seconds=step)
        kept, wm = src.delta(wm, clock)
        got = set(zip(kept.column("id").to_pylist(), kept.column("Modified_Time").to_pylist(), strict=True))
        assert not (got & taken), "a version was taken twice"
        taken |= got
    clock += timedelta(seconds=10)
    kept, wm = src.delta(wm, clock)
    taken |= set(zip(kept.column("id").to_pylist(), kept.column("Modified_Time").to_pylist(), strict=True))
    assert set(table.items()) <= taken
    if wm.modified_time is not None:
        # Quiet from here on: confirmed once past the settle time, then a single read call per run.
        clock += BOUNDARY_SETTLE
        kept, wm = src.delta(wm, clock)
        assert kept.num_rows == 0 and wm.settled()
        src.calls.clear()
        kept, wm = src.delta(wm, clock + timedelta(hours=1))
        assert kept.num_rows == 0 and src.calls == ["read"]


@pytest.mark.parametrize(("checked_after", "settled"), [
    (None, False), (timedelta(0), False), (BOUNDARY_SETTLE - timedelta(seconds=1), False),
    (BOUNDARY_SETTLE, True), (timedelta(days=400), True),
])
def test_a_boundary_second_is_settled_once_checked_long_enough_after_it(checked_after, settled):
    checked = T0 + checked_after if checked_after is not None else None
    wm = ModifiedTimeWatermark(T0, {"1", "2"}, checked)
    assert wm.settled() is settled
    assert ModifiedTimeWatermark.from_json(wm.to_json()) == wm
    assert wm.without(["2", "9"]) == ModifiedTimeWatermark(T0, {"1"}, checked)


# -- writes a migration into Zoho needs, asked before the first one ----------------------------------


def _lookup(field: str, *targets: str, kind: str = RECORD) -> LookupColumn:
    return LookupColumn(field, f"{field}_Id", kind, targets, f"{field}_Name", None, False)


LOOKUPS = {"Contacts": [_lookup("Account_Name", "Accounts"), _lookup("Reporting_To", "Contacts")],
           "Accounts": [_lookup("Parent_Account", "Accounts")],
           "Deals": [_lookup("Contact_Name", "Contacts"), _lookup("Owner", "Users", kind=USER)],
           "Leads": [_lookup("Owner", "Users", kind=USER)]}


@pytest.mark.parametrize(("mode", "names", "mapped", "deferred", "needs"), [
    ("insert", ["Leads"], set(), [], {"Leads": ["insert"]}),  # a first load: insert only
    ("upsert", ["Leads"], set(), [], {"Leads": ["upsert"]}),
    ("insert", ["Leads"], {"Leads"}, [], {"Leads": ["insert", "update"]}),  # rows of an earlier run
    ("insert", ["Deals"], set(), [], {"Deals": ["insert"]}),  # its parents are not in this run: nothing deferred
    ("insert", ["Contacts", "Deals"], set(), [], {"Contacts": ["insert", "update"], "Deals": ["insert"]}),
    ("insert", ["Deals", "Contacts"], set(), [], {"Deals": ["insert", "update"], "Contacts": ["insert", "update"]}),
    ("insert", ["Leads"], set(), ["Contacts"], {"Leads": ["insert"], "Contacts": ["update"]}),  # waiting lookups
    ("upsert", ["Accounts"], {"Accounts"}, ["Accounts"], {"Accounts": ["upsert", "update"]}),
])
def test_writes_a_migration_needs(mode, names, mapped, deferred, needs):
    assert writes_needed(mode, names, lambda m: LOOKUPS.get(m, []), lambda m: m in mapped, deferred) == needs


# -- a module's state: whether a run reads it as a delta, before its fields are known ------------------

#: (loaded, files taken at its last load, had files, this run takes files) -> incremental? (None: needs fields)
INCREMENTAL = [
    (False, True, None, True, False),  # never loaded: a full load
    (True, True, None, True, True),  # an old state (no has_files), files taken as before
    (True, True, None, False, None),  # an old state, files left out now: a module without files, or a switch
    (True, True, True, False, False),  # files taken last time and left out now: loads whole
    (True, True, False, False, True),  # no files to take: whatever the run says of files
    (True, False, True, True, False),  # left out last time, taken now: loads whole
    (True, False, True, False, True),  # left out as before
]


@pytest.mark.parametrize("loaded, files, has_files, take, expected", INCREMENTAL)
def test_a_state_says_whether_a_run_reads_its_module_as_a_delta(loaded, files, has_files, take, expected):
    state = ModuleState("Leads", loaded=loaded, files=files, has_files=has_files)
    assert state.loads_incrementally(take) is expected


APIS = st.none() | st.frozensets(st.sampled_from(["REST", "COQL", "Search", "Bulk", "Related", "Metadata"]))


FIELDS = st.none() | st.lists(st.text(min_size=1, max_size=20), max_size=50).map(tuple)


@given(st.booleans(), st.sampled_from([None, True, False]), st.integers(0, 10**9), APIS, FIELDS)
def test_a_module_state_survives_its_json(files, has_files, rows, read_apis, list_fields):
    state = ModuleState("Deals", loaded=True, rows=rows, files=files, has_files=has_files, read_apis=read_apis,
                        list_fields=list_fields)
    text = state.to_json()
    assert ("has_files" in text) is (has_files is not None)  # a state from before reads as it always did
    assert ("read_apis" in text) is (read_apis is not None)
    assert ("list_fields" in text) is (list_fields is not None)
    back = ModuleState.from_json(json.loads(json.dumps(text)))
    assert back == state


@pytest.mark.parametrize(("data", "word"), [
    ({"has_files": "yes"}, "has_files"),
    ({"read_apis": "COQL"}, "read_apis"),  # a string is no list of names
    ({"read_apis": ["COQL", 3]}, "read_apis"),
    ({"read_apis": {"COQL": True}}, "read_apis"),
    ({"list_fields": "Name,Owner"}, "list_fields"),  # the fields a first page asks: a list of names
    ({"list_fields": ["Name", None]}, "list_fields"),
])
def test_a_state_field_of_the_wrong_kind_is_refused(data, word):
    with pytest.raises(ValueError, match=word):
        ModuleState.from_json({"module": "Leads", "loaded": True, **data})
