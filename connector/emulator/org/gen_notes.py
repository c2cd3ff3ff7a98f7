"""Generator hooks for records that hang off another record: notes (and, later, attachments).

:func:`parents` draws each row's parent among many modules at once: a module is
picked with its weight (modules without records are left out), then a record
number inside it, all vectorized.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store import id_base
from .gen_base import GenContext, module_def, pick
from .gen_fields import GENERATORS
from .notes import NOTE_PARENTS

NOTE_TITLES = ["Call summary", "Follow-up", "Pricing, discussed", "Meeting notes \u2014 Q3", "Objections",
               "Next steps", "Renewal risk", "Kick-off \"phase 2\"", "Besprechung M\u00fcnchen", "\u6253\u3061\u5408\u308f\u305b"]
NOTE_BODIES = [
    "Spoke with the buyer; they want a quote by Friday.",
    "Left a voicemail.\nWill try again on Monday, 10:00 CET.",
    "Budget approved: 45,000 EUR; legal review pending.",
    "Asked for references (two customers in \"manufacturing\").",
    "<p>Demo went <b>well</b>; send the deck.</p>",
    "Competitor offered 20% off; we hold at 12%.",
    "Decision maker: CFO. Champion: Head of Data.\nRisks: timing; procurement.",
    "Caf\u00e9 meeting \u2615 \u2014 na\u00efve questions, good signals.",
    "=HYPERLINK(\"x\") is text, not a formula",
    "\u8cc7\u6599\u3092\u9001\u4ed8\u6e08\u307f\u3002\u6765\u9031\u30d5\u30a9\u30ed\u30fc\u3002",
]

Columns = dict[str, pa.Array]


def parents(ctx: GenContext, weights: dict[str, float]) -> tuple[pa.Array, pa.Array]:
    """(parent ids, parent modules) for every row; all null when no parent module has records."""
    names = [m for m, w in weights.items() if w > 0 and ctx.sizes.get(m, 0) > 0]
    if not names:
        return pa.nulls(ctx.n, pa.int64()), pa.nulls(ctx.n, pa.string())
    p = np.array([weights[m] for m in names])
    which = ctx.rng.choice(len(names), ctx.n, p=p / p.sum())
    sizes = np.array([ctx.sizes[m] for m in names], dtype=np.int64)
    bases = np.array([id_base(module_def(m)) for m in names], dtype=np.int64)
    k = (ctx.rng.random(ctx.n) * sizes[which]).astype(np.int64) + 1
    return pa.array(bases[which] + k, pa.int64()), pa.array(np.array(names, dtype=object)[which], pa.string())


def notes(ctx: GenContext, cols: Columns) -> None:
    ids, mods = parents(ctx, NOTE_PARENTS)
    cols["Parent_Id"], cols["Parent_Id$module"] = ids, mods


GENERATORS.update({
    "note_title": lambda c, f: pick(c, NOTE_TITLES),
    "note_content": lambda c, f: pc.binary_join_element_wise(
        pick(c, NOTE_BODIES), pick(c, ["", "", "\nThanks.", "\n\u2014 sent from mobile"]), ""),
})

HOOKS = {"Notes": notes}
