"""A run's credits are what Zoho charged, also when one session is both its source and its target.

The CLI opens a session for each side, but a library caller may hand one ``ZohoSession`` to a
``ZohoSource`` and a ``ZohoTarget`` (a module upserted back into its own org by a key). Both then
report the same meter: the run counts it once (``runner.spent_credits``). Checked against the
emulator's own count of the credits it charged.
"""

from __future__ import annotations

from pathlib import Path

from connector.emulator import Emulator
from connector.session import ZohoSession
from connector.sync import MigrationResult, run
from connector.sync.source_zoho import ZohoSource
from connector.sync.target_zoho import ZohoTarget

from .helpers import ALLOW


def charged(emu: Emulator) -> int:
    return int(emu.stats()["credits_used"])


def upsert_leads_back(emu: Emulator, reads: ZohoSession, writes: ZohoSession, state: Path
                      ) -> tuple[MigrationResult, int]:
    """The org's Leads upserted into itself by Email: the run's result, and the credits the org charged."""
    before = charged(emu)
    target = ZohoTarget(writes, mode="upsert", key="Email", state_path=state)
    try:
        result = run(ZohoSource(reads), target, modules=["Leads"])
    finally:
        target.close()  # (and its session, which the caller closes again on its way out)
    spent = charged(emu) - before
    assert result.rows_written > 0, result  # (Leads without an Email are refused by the upsert: rows_failed)
    assert spent > 0
    return result, spent


def test_one_session_as_source_and_target_counts_its_credits_once(tmp_path: Path) -> None:
    with Emulator(records=200, seed=17) as emu, ZohoSession(emu.connection_string + ALLOW) as session:
        result, spent = upsert_leads_back(emu, session, session, tmp_path / "state.json")
    assert result.credits == spent, (result.credits, spent)
    # the module's own calls (the run's metadata calls are nobody's): not counted twice either
    assert 0 < result.modules[0].credits < spent, (result.modules[0].credits, spent)


def test_two_sessions_on_one_org_still_add_up(tmp_path: Path) -> None:
    with (Emulator(records=200, seed=17) as emu, ZohoSession(emu.connection_string) as reads,
          ZohoSession(emu.connection_string + ALLOW) as writes):
        result, spent = upsert_leads_back(emu, reads, writes, tmp_path / "state.json")
    assert result.credits == spent, (result.credits, spent)
