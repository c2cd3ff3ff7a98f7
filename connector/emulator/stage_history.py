"""Writing Deals' stage history (the rows :mod:`.org.stage_history` declares) into the emulator's store.

Kept apart from the declaration so the org's schema never imports the store that is built from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .org.stage_history import PROBABILITY, STAGES

if TYPE_CHECKING:
    from .store import Store


def populate(store: Store, first_id: int) -> int:
    """History rows of every generated deal (ids from ``first_id``); returns how many."""
    order = ", ".join(f"('{s}', {i})" for i, s in enumerate(STAGES[:6]))
    store.execute(f"""
        INSERT INTO "Stage_History" (id, Deal_Name, Stage, Amount, Probability, Expected_Revenue, Closing_Date,
                                     Stage_Duration, Moved_To__s, Modified_By, Modified_Time)
        WITH pipeline(stage, pos) AS (VALUES {order}),
        deal AS (SELECT d.id, d.Stage, d.Amount, d.Closing_Date, d.Modified_By, d.Modified_Time,
                        coalesce((SELECT pos FROM pipeline WHERE stage = d.Stage), 5) AS top FROM "Deals" d),
        steps AS (SELECT deal.*, s.k, p.stage AS passed FROM deal,
                  LATERAL (SELECT unnest(range(greatest(0, deal.top - 3), deal.top + 1)) AS k) s
                  LEFT JOIN pipeline p ON p.pos = s.k),
        rows AS (SELECT *, CASE WHEN k = top THEN Stage ELSE passed END AS at_stage,
                        (top - k) * (3 + id % 11) AS days_before FROM steps)
        SELECT {first_id} - 1 + row_number() OVER (ORDER BY id, k), id, at_stage, Amount,
               {_probability('at_stage')}, CAST(round(Amount * {_probability('at_stage')} / 100.0, 2) AS DECIMAL(18,2)),
               Closing_Date, CASE WHEN k = top THEN NULL ELSE 3 + id % 11 END,
               CASE WHEN k = top THEN NULL WHEN k + 1 = top THEN Stage ELSE (SELECT stage FROM pipeline
                    WHERE pos = k + 1) END,
               Modified_By, Modified_Time - to_days(CAST(days_before AS INTEGER))
        FROM rows ORDER BY id, k""")
    row = store.fetchone('SELECT count(*) FROM "Stage_History"')
    return int(row[0]) if row else 0


def _probability(column: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {p}" for s, p in PROBABILITY.items())
    return f"(CASE {column} {cases} ELSE 0 END)"


def record_stage(store: Store, new_id: int, deal: dict[str, Any], user_id: int, now: datetime) -> None:
    """A deal entered ``deal["Stage"]``: close the open row (duration, where it went) and open a new one."""
    previous = store.fetchone('SELECT id, Modified_Time FROM "Stage_History" WHERE Deal_Name = ? '
                              "ORDER BY Modified_Time DESC, id DESC LIMIT 1", [deal["id"]])
    if previous is not None:
        days = max(0, (now - previous[1]).days) if previous[1] else None
        store.execute('UPDATE "Stage_History" SET Stage_Duration = ?, Moved_To__s = ? WHERE id = ?',
                      [days, deal["Stage"], previous[0]])
    probability = PROBABILITY.get(deal["Stage"], 0)
    amount = deal.get("Amount")
    store.execute('INSERT INTO "Stage_History" (id, Deal_Name, Stage, Amount, Probability, Expected_Revenue, '
                  "Closing_Date, Modified_By, Modified_Time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  [new_id, deal["id"], deal["Stage"], amount, probability,
                   None if amount is None else round(float(amount) * probability / 100.0, 2),
                   deal.get("Closing_Date"), user_id, now])
