"""Generator hooks of the classic modules: what one field at a time cannot express.

A hook runs after a chunk's fields are generated and may fill or overwrite
columns: converted leads (their conversion time and the records conversion
made), Deals' pipeline split, and the polymorphic lookups of Tasks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store import id_base
from .gen_base import GenContext, either, ids, index, module_def, ts

Columns = dict[str, pa.Array]


def leads(ctx: GenContext, cols: Columns) -> None:
    rng = ctx.rng
    # converting makes an account and a contact (the deal is optional): not possible without them
    can_convert = ctx.sizes["Accounts"] > 0 and ctx.sizes["Contacts"] > 0
    converted = (rng.random(ctx.n) < 0.08) & can_convert
    cols["Converted__s"] = pa.array(converted)
    at = np.minimum(ctx.modified, ctx.created + rng.integers(3_600, 86_400 * 30, ctx.n))
    none = pa.nulls(ctx.n, pa.timestamp("us"))
    cols["Converted_Date_Time"] = pc.if_else(pa.array(converted), ts(at), none)
    for fld, target in (("Converted_Account", "Accounts"), ("Converted_Contact", "Contacts"),
                        ("Converted_Deal", "Deals")):
        picked = ids(target, ctx)
        cols[fld] = pc.if_else(pa.array(converted), picked, pa.nulls(ctx.n, pa.int64()))


def deals(ctx: GenContext, cols: Columns) -> None:
    cols["Pipeline"] = pa.array(np.where(ctx.rng.random(ctx.n) < 0.85, "Standard (Standard)", "Renewals"))


def polymorphic(ctx: GenContext, cols: Columns, field: str, first: str, second: str, share_first: float,
                share_empty: float) -> None:
    """A lookup that points at ``first`` or ``second`` (its module in ``<field>$module``), or nowhere."""
    to_first, empty = either(ctx, first, second, share_first, share_empty)
    picked = np.where(to_first, id_base(module_def(first)) + index(ctx, first),
                      id_base(module_def(second)) + index(ctx, second))
    mods = np.where(to_first, first, second)
    mask = pa.array(empty)
    cols[field] = pc.if_else(mask, pa.nulls(ctx.n, pa.int64()), pa.array(picked, pa.int64()))
    cols[field + "$module"] = pc.if_else(mask, pa.nulls(ctx.n, pa.string()), pa.array(mods))


def tasks(ctx: GenContext, cols: Columns) -> None:
    polymorphic(ctx, cols, "What_Id", "Deals", "Accounts", 0.4, 0.2)
    polymorphic(ctx, cols, "Related_Record", "Leads", "Contacts", 0.5, 0.5)


HOOKS = {"Leads": leads, "Deals": deals, "Tasks": tasks}
