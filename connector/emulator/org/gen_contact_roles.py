"""Generating the contact roles of deals (the table is defined in ``contact_roles.py``)."""

from __future__ import annotations

import pyarrow as pa

from ..store import id_base
from .contact_roles import DEAL_CONTACT_ROLES, ROLES
from .gen_base import GenContext, module_def, row_index


def deal_roles(ctx: GenContext, cols: dict[str, pa.Array]) -> None:
    """Spread over deals round-robin, distinct contacts per deal (a contact has one role in a deal)."""
    n_d, n_c = max(ctx.sizes["Deals"], 1), max(ctx.sizes["Contacts"], 1)
    k = row_index(ctx)
    deal = k % n_d
    contact = (deal * 7919 + k // n_d) % n_c + 1
    cols["Deal"] = pa.array(id_base(module_def("Deals")) + deal + 1, pa.int64())
    cols["Contact"] = pa.array(id_base(module_def("Contacts")) + contact, pa.int64())
    cols["Contact_Role"] = pa.array([ROLES[int(i) % len(ROLES)][0] for i in (k * 5 + deal)], pa.int64())


HOOKS = {DEAL_CONTACT_ROLES.api_name: deal_roles}
