"""Pending lookup clears of a file target (``connector.sync.files``): what they empty, and bad manifests.

A clear empties a lookup's columns exactly where its id is one of the deleted ids (and, for a lookup
that can point at several modules, where the module column names the parent); every other value
stays. A manifest whose pending clears were edited into something else is a StateError that says
what to do, never a traceback.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import StateError
from connector.sync.files import PENDING, Clear, pending_clears

IDS = st.sampled_from(["1", "2", "3", "4", None])
MODULES = st.sampled_from(["Accounts", "Deals", None])


@given(rows=st.lists(st.tuples(IDS, MODULES, st.text(max_size=3)), max_size=30),
       deleted=st.lists(st.sampled_from(["1", "2", "3", "4"]), max_size=4), polymorphic=st.booleans())
def test_a_clear_empties_exactly_the_lookups_that_point_at_deleted_records(
        rows: list[tuple[str | None, str | None, str]], deleted: list[str], polymorphic: bool) -> None:
    table = pa.table({"id": [str(i) for i in range(len(rows))], "L_Id": [r[0] for r in rows],
                      "L_Module": [r[1] for r in rows], "L_Name": [r[2] for r in rows]},
                     schema=pa.schema([("id", pa.string()), ("L_Id", pa.string()), ("L_Module", pa.string()),
                                       ("L_Name", pa.string())]))
    clear = Clear("L_Id", "L_Name", "L_Module" if polymorphic else "", "Accounts", tuple(deleted))
    got = clear.apply(table).to_pylist()
    for (lid, module, name), row in zip(rows, got, strict=True):
        hit = lid in deleted and (not polymorphic or module == "Accounts")
        if hit:
            assert (row["L_Id"], row["L_Name"]) == (None, None)
            assert row["L_Module"] == (None if polymorphic else module)
        else:
            assert (row["L_Id"], row["L_Module"], row["L_Name"]) == (lid, module, name)
    assert clear.apply(table).schema == table.schema


@pytest.mark.parametrize(("entry", "said"), [
    ({"id_col": "What_Id_Id", "ids": ["1"]}, "an entry has no parent"),
    ({"parent": "Accounts", "ids": ["1"]}, "an entry has no id_col"),
    ({"id_col": "What_Id_Id", "parent": "Accounts"}, "an entry has no ids"),
    ({"id_col": "What_Id_Id", "parent": "Accounts", "ids": "1,2"}, "ids must be a list of record ids, not str"),
    ("What_Id_Id", "an entry has no id_col, parent, ids"),
])
def test_a_malformed_pending_clear_is_a_state_error_that_says_what_to_do(entry: Any, said: str) -> None:
    with pytest.raises(StateError) as caught:
        pending_clears({PENDING: {"Tasks": [entry]}}, "Tasks")
    assert said in caught.value.message and "Tasks" in caught.value.message
    assert "pending_clears" in (caught.value.hint or "")


def test_a_manifest_without_pending_clears_has_none() -> None:
    assert pending_clears({"modules": {}}, "Tasks") == []
    got = pending_clears({PENDING: {"Tasks": [{"id_col": "A", "parent": "P", "ids": [1, "2"]}]}}, "Tasks")
    assert got == [Clear("A", "", "", "P", ("1", "2"))]
