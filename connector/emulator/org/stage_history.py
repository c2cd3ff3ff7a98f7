"""Deals' stage history: the ``Stage_History`` related list of a deal (``GET /Deals/{id}/Stage_History``).

Zoho keeps one row each time a deal enters a stage, with the deal's amount, probability,
expected revenue and closing date at that moment, how long it stayed (``Stage_Duration``,
calendar days; null for the current stage) and where it went next (``Moved_To__s``). The rows
are read-only: written by Zoho when a deal is created or its ``Stage`` changes. They are no
module of their own here (not in ``/settings/modules``, COQL or bulk), only the related list.
Field names as the emulator serves them (unconfirmed: the v8 specs do not describe them).

Generation walks each generated deal up the pipeline to its current stage: one row per stage
passed (at most four), a few days apart, the last one at the deal's ``Modified_Time``.
"""

from __future__ import annotations

from .classic import DEALS
from .types import FieldDef, ModuleDef

STAGES = DEALS.by_name["Stage"].picklist
PROBABILITY = {"Qualification": 10, "Needs Analysis": 20, "Value Proposition": 40, "Identify Decision Makers": 60,
               "Proposal/Price Quote": 75, "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0,
               "Closed Lost to Competition": 0}

STAGE_HISTORY = ModuleDef(
    "Stage_History", 5843104000000002227, "Stage History", "Stage History", "Stage", id_slot=41,
    generated_type="default", api_supported=False, listed=False, creatable=False, bulk_read=False, bulk_write=False,
    coql=False, search=False, related_list_of="Deals",
    fields=(
        FieldDef("Deal_Name", "lookup", "Deal Name", lookup="Deals", read_only=True, cascade=True),
        FieldDef("Stage", "picklist", read_only=True, picklist=STAGES),
        FieldDef("Amount", "currency", read_only=True, decimal_place=2),
        FieldDef("Probability", "integer", "Probability (%)", read_only=True),
        FieldDef("Expected_Revenue", "currency", "Expected Revenue", read_only=True, decimal_place=2),
        FieldDef("Closing_Date", "date", "Closing Date", read_only=True),
        FieldDef("Stage_Duration", "integer", "Stage Duration (Calendar Days)", read_only=True),
        FieldDef("Moved_To__s", "picklist", "Moved To", read_only=True, picklist=STAGES),
        FieldDef("Modified_By", "userlookup", "Modified By", lookup="Users", read_only=True),
        FieldDef("Modified_Time", "datetime", "Last Modified Time", read_only=True),
    ),
)
