"""Meeting participants re-pointed for the target (connector.sync.participants), table-driven and by property."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.sync import participants

MAPS = {"Contacts": {"c1": "C1"}, "Leads": {"l1": "L1"}}
USERS = {"u1": "U1"}


def entry(kind: str, who: Any, invited: Any = True, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "participant": who, "invited": invited, "status": "accepted", "id": "99", **extra}


@pytest.mark.parametrize(("given_", "want", "dropped"), [
    (None, None, 0),
    ("[]", [], 0),
    ([entry("contact", "c1")], [{"type": "contact", "participant": "C1", "invited": True}], 0),
    ([entry("lead", "l1", False)], [{"type": "lead", "participant": "L1", "invited": False}], 0),
    ([entry("contact", "gone")], [], 1),  # a contact not in the target: left out, counted
    ([entry("user", "u1")], [{"type": "user", "participant": "U1", "invited": True}], 0),
    # a user with no active match is invited by the address the source gave
    ([entry("user", "u9", Email="x@y.example")], [{"type": "email", "participant": "x@y.example", "invited": True}], 0),
    ([entry("user", "u9")], [], 1),
    ([entry("email", "a@b.example")], [{"type": "email", "participant": "a@b.example", "invited": True}], 0),
    ([entry("email", None)], [], 1),
    ([entry("robot", "r1")], [], 1),
    ([entry("contact", "c1", "yes")], [{"type": "contact", "participant": "C1", "invited": True}], 0),
    ("not json", [], 0),
])
def test_rewrite(given_: Any, want: Any, dropped: int) -> None:
    raw = json.dumps(given_) if isinstance(given_, list) else given_
    got, n = participants.rewrite(raw, MAPS, USERS.get)
    assert (json.loads(got) if got is not None else None) == want
    assert n == dropped


def test_record_refs_collects_contacts_and_leads_only() -> None:
    values = [json.dumps([entry("contact", "c1"), entry("lead", "l1"), entry("user", "u1")]), None,
              json.dumps([entry("contact", "c2"), entry("email", "a@b.example")])]
    assert participants.record_refs(values) == {"Contacts": {"c1", "c2"}, "Leads": {"l1"}}


KINDS = st.sampled_from(["contact", "lead", "user", "email"])
IDS = st.sampled_from(["c1", "l1", "u1", "gone", "a@b.example"])


@given(st.lists(st.tuples(KINDS, IDS, st.booleans()), max_size=8))
def test_every_entry_is_written_or_counted_and_nothing_points_at_a_source_record(items: list[Any]) -> None:
    raw = json.dumps([entry(k, w, i) for k, w, i in items])
    got, dropped = participants.rewrite(raw, MAPS, USERS.get)
    written = json.loads(got or "[]")
    assert len(written) + dropped == len(items)
    for e in written:
        assert set(e) == {"type", "participant", "invited"}
        if e["type"] in participants.RECORD_TYPES:
            assert e["participant"] in MAPS[participants.RECORD_TYPES[e["type"]]].values()
