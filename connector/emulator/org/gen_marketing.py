"""Generator hooks for Campaigns' members, Cases and Solutions.

Members are spread over campaigns round-robin and pick distinct records per campaign
(record ``(campaign x 7919 + k) mod records``), so no lead or contact is a member of the
same campaign twice, as Zoho allows only once.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..store import id_base
from .gen_base import GenContext, ids, module_def, pick, row_index, str_index
from .gen_fields import GENERATORS

CAMPAIGN_NAMES = ["Spring launch", "Webinar: data migration", "Trade show \u2014 Hannover", "Win-back Q4",
                  "Newsletter, May", "Partner summit", "\u5e74\u672b\u30bb\u30fc\u30eb"]
CASE_SUBJECTS = ["Cannot log in", "Invoice shows wrong VAT", "Sync fails with \"timeout\"", "Feature request: SSO",
                 "Export, CSV broken", "Password reset loop", "Drucker druckt nicht"]
SOLUTION_TITLES = ["Reset a password", "Configure SSO", "Fix CSV export encoding", "Understand VAT on invoices",
                   "Increase the sync timeout"]
OTHER = {"Campaigns_X_Leads": "Leads", "Campaigns_X_Contacts": "Contacts"}
FIELD = {"Campaigns_X_Leads": "Lead", "Campaigns_X_Contacts": "Contact"}

Columns = dict[str, pa.Array]


def members(ctx: GenContext, cols: Columns) -> None:
    other = OTHER[ctx.module.api_name]
    n_c, n_o = max(ctx.sizes["Campaigns"], 1), max(ctx.sizes[other], 1)
    k = row_index(ctx)
    campaign = k % n_c
    record = (campaign * 7919 + k // n_c) % n_o + 1
    cols["Campaign"] = pa.array(id_base(module_def("Campaigns")) + campaign + 1, pa.int64())
    cols[FIELD[ctx.module.api_name]] = pa.array(id_base(module_def(other)) + record, pa.int64())


GENERATORS.update({
    "campaign_name": lambda c, f: pc.binary_join_element_wise(pick(c, CAMPAIGN_NAMES), str_index(c, 3), " #"),
    "case_subject": lambda c, f: pick(c, CASE_SUBJECTS),
    "solution_title": lambda c, f: pc.binary_join_element_wise(pick(c, SOLUTION_TITLES), str_index(c), " \u2116"),
    "sent": lambda c, f: pa.array(c.rng.integers(100, 1_000_000, c.n), pa.int64()),
    "product": lambda c, f: ids("Products", c),
})

HOOKS = {"Campaigns_X_Leads": members, "Campaigns_X_Contacts": members}
