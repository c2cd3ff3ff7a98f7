"""Plain dataclasses shared by every layer (no behaviour, no imports from the rest of connector)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Pushdown:
    """What the planner lets a reader ask Zoho for, already translated per API.

    Every filter here may be *weaker* than the SQL WHERE (a superset of rows);
    the engine re-applies the full WHERE to whatever comes back, so a pushdown
    makes a query cheaper, never wrong. ``exact`` says the pushed filter equals
    the WHERE, which is what allows ``limit`` and ``order_by`` to be pushed too.
    """

    criteria: str | None = None  # Search API criteria
    coql_where: str | None = None  # COQL WHERE expression
    bulk_criteria: dict[str, Any] | None = None  # Bulk Read criteria object
    modified_since: datetime | None = None  # only records with Modified_Time >= this
    limit: int | None = None
    order_by: tuple[tuple[str, bool], ...] = ()  # (api field, ascending), COQL only
    exact: bool = False
    #: (column, values) a table read per module or per parent limits its calls to (org tables, Attachments)
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: rows the read returns, by a count the caller holds already (no call made for it): a COQL read splits
    #: into slices read at once only when it knows this (connector/readers/coql_slices.py)
    expected_rows: int | None = None


NO_PUSHDOWN = Pushdown()
