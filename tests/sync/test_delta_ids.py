"""Which ids a delta compares with the target's, and the size its listing is told to expect.

:func:`connector.sync.delta.deleted_ids` with a source made of plain functions: the source's every id is
listed only when rows may have gone unlisted (no deletion log, or a parent's deletion or edit), and the
listing is told the rows the target held after the last run, so a Zoho source reads it in id slices at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connector.sync.delta import deleted_ids
from connector.sync.state import ModuleState

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


class Listing:
    def __init__(self, log: list[str] | None, cascade: bool) -> None:
        self.log = log
        self.cascade = cascade
        self.asked: list[int | None] = []

    def deleted_ids(self, module: str, since: datetime | None) -> list[str] | None:
        return self.log

    def cascade_suspected(self, module: str, since: datetime | None) -> bool:
        return self.cascade

    def ids(self, module: str, expected: int | None = None) -> set[str]:
        self.asked.append(expected)
        return {"1", "2"}


@pytest.mark.parametrize(("log", "cascade", "rows", "listed", "asked"), [
    (["9", "8", "9"], False, 2_387, (["8", "9"], None), []),  # the log says it all: no listing
    (["9"], True, 2_387, (["9"], frozenset({"1", "2"})), [2_387]),  # a parent changed: listed, size told
    (None, False, 40, ([], frozenset({"1", "2"})), [40]),  # no deletion log (files, DuckDB)
    (None, False, 0, ([], frozenset({"1", "2"})), [None]),  # nothing held yet: no size to tell
])
def test_the_listing_is_asked_only_when_rows_may_have_gone_unlisted_and_told_their_number(
        log: list[str] | None, cascade: bool, rows: int, listed: Any, asked: list[int | None]) -> None:
    source = Listing(log, cascade)
    state = ModuleState("Project_Milestones", loaded=True, deleted_since=SINCE, rows=rows)
    assert deleted_ids(source, "Project_Milestones", state) == listed  # type: ignore[arg-type]
    assert source.asked == asked
