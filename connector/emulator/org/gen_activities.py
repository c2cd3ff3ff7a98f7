"""Generator hooks for Calls and Events: what they relate to, when they end, who takes part."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from . import people
from .gen_base import GEN_END, GEN_START, GenContext, ids, null_out, pick, ts
from .gen_fields import GENERATORS
from .gen_notes import parents
from .types import ORG_PREFIX

CALL_SUBJECTS = ["Discovery call", "Follow-up call", "Pricing call, part 2", "Renewal check-in", "Demo \"Pro\"",
                 "R\u00fcckruf", "Support escalation", "Intro with CFO"]
EVENT_TITLES = ["Quarterly review", "On-site visit", "Kick-off; phase 2", "Product demo", "Workshop \u2014 data",
                "Lunch & learn", "Contract signing", "\u6253\u3061\u5408\u308f\u305b"]
WHAT_WEIGHTS = {"Accounts": 0.45, "Deals": 0.35, "Leads": 0.20}
STATUSES = ["not_known", "accepted", "declined", "maybe"]
EXTERNAL_GUESTS = ["guest@partner.example", "cfo@customer.example", "legal@acme.example"]
#: ids of participant entries (their own range, outside every module's)
PARTICIPANT_SLOT = 63

Columns = dict[str, pa.Array]


def what_id(ctx: GenContext, cols: Columns, share_empty: float) -> None:
    """``What_Id`` among Accounts, Deals and Leads (its module in ``What_Id$module``), some empty."""
    picked, mods = parents(ctx, WHAT_WEIGHTS)
    empty = pa.array(ctx.rng.random(ctx.n) < share_empty)
    cols["What_Id"] = pc.if_else(empty, pa.nulls(ctx.n, pa.int64()), picked)
    cols["What_Id$module"] = pc.if_else(empty, pa.nulls(ctx.n, pa.string()), mods)


def calls(ctx: GenContext, cols: Columns) -> None:
    what_id(ctx, cols, 0.2)


def participants(ctx: GenContext, contacts: pa.Array, leads: pa.Array, row_ids: list[int]) -> list[str | None]:
    """0-3 participants per meeting: contacts, leads, users or plain addresses (stored without names:
    those are read from the records they name, as lookups are)."""
    rng = ctx.rng
    counts = rng.integers(0, 4, ctx.n)
    kinds = rng.choice(4, (ctx.n, 3), p=[0.45, 0.25, 0.2, 0.1])
    status = rng.integers(0, len(STATUSES), (ctx.n, 3))
    invited = rng.random((ctx.n, 3)) < 0.8
    users = rng.choice([u.id for u in people.ACTIVE_USERS], (ctx.n, 3))
    guests = rng.integers(0, len(EXTERNAL_GUESTS), (ctx.n, 3))
    c_ids, l_ids = contacts.to_pylist(), leads.to_pylist()
    out: list[str | None] = []
    for i in range(ctx.n):
        entries: list[dict[str, object]] = []
        seen: set[str] = set()
        for k in range(int(counts[i])):
            kind = int(kinds[i, k])
            if kind == 0 and c_ids[i] is not None:
                t, who = "contact", str(c_ids[i])
            elif kind == 1 and l_ids[i] is not None:
                t, who = "lead", str(l_ids[i])
            elif kind == 2:
                t, who = "user", str(int(users[i, k]))
            else:
                t, who = "email", EXTERNAL_GUESTS[int(guests[i, k])]
            if who in seen:
                continue  # one entry per person
            seen.add(who)
            entry_id = ORG_PREFIX * 10**12 + PARTICIPANT_SLOT * 10**10 + (row_ids[i] % 10**9) * 10 + k
            entries.append({"type": t, "participant": who, "invited": bool(invited[i, k]),
                            "status": STATUSES[int(status[i, k])], "id": str(entry_id)})
        out.append(json.dumps(entries) if entries else None)
    return out


def events(ctx: GenContext, cols: Columns) -> None:
    start = cols["Start_DateTime"].cast(pa.int64()).to_numpy() // 1_000_000
    length = ctx.rng.choice([15, 30, 45, 60, 90, 120, 240], ctx.n) * 60
    cols["End_DateTime"] = ts(start + length)
    what_id(ctx, cols, 0.25)
    contacts = null_out(ctx, ids("Contacts", ctx), 0.3)
    leads = null_out(ctx, ids("Leads", ctx), 0.3)
    cols["Participants"] = pa.array(participants(ctx, contacts, leads, cols["id"].to_pylist()), pa.string())


GENERATORS.update({
    "call_subject": lambda c, f: pick(c, CALL_SUBJECTS),
    "event_title": lambda c, f: pick(c, EVENT_TITLES),
    "activity_start": lambda c, f: ts((c.rng.integers(GEN_START, GEN_END + 86_400 * 60, c.n) // 900) * 900),
    "call_duration": lambda c, f: pa.array([f"{m:02d}:{s:02d}" for m, s in zip(
        c.rng.integers(0, 90, c.n).tolist(), c.rng.integers(0, 60, c.n).tolist(), strict=True)], pa.string()),
    "participants": lambda c, f: pa.nulls(c.n, pa.string()),  # the Events hook fills it
})

HOOKS = {"Calls": calls, "Events": events}
