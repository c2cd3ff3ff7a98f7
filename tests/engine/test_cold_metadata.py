"""A cold connection's first query asks the module list and its tables' fields at once.

The list says which modules exist and what their api names are; a table named as
Zoho writes api names (``Leads``) is very likely one, so its fields go out beside
the list instead of a round trip after it. Against an emulator with latency, so
calls sent together overlap and its concurrency counter sees it; the calls and
credits must stay those of asking in turn, and a name that is not an api name
(a label, another case) must end as it did: the same answer or the same error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.engine import Engine
from connector.errors import PlanningError
from connector.session import ZohoSession


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(org="classic", records=200, seed=17, latency_ms=500) as e:  # long enough that calls sent together meet at Zoho, on a busy machine too
        yield e


def _asked(emu: Emulator, sql: str, suffix: str = "") -> tuple[dict[str, int], int, Any]:
    """The calls of planning ``sql`` on a fresh connection, the peak of calls at once, and the plan."""
    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    with ZohoSession(emu.connection_string + ";APIType=COQL" + suffix) as s:
        s.org()  # the access token first (and a call of its own): not the metadata's
        before = emu.stats()["calls"]
        plan = Engine(s).plan(sql)
        after = emu.stats()
    calls = {k: v - before.get(k, 0) for k, v in after["calls"].items() if v != before.get(k, 0)}
    return calls, after["concurrency"]["peak"], plan


def test_the_list_and_the_fields_go_out_together(emu: Emulator) -> None:
    calls, peak, plan = _asked(emu, "SELECT Email FROM Leads")
    assert calls == {"list_modules": 1, "list_fields": 1}  # what asking in turn asks, no more
    assert peak == 2
    assert [s.module for s in plan.scans] == ["Leads"]


def test_every_table_of_a_join_is_asked_beside_the_list(emu: Emulator) -> None:
    calls, peak, plan = _asked(emu, "SELECT c.Email, a.Account_Name FROM Contacts c "
                                    "JOIN Accounts a ON c.Account_Name_Id = a.id")
    assert calls == {"list_modules": 1, "list_fields": 2}
    assert peak == 3
    assert sorted(s.module for s in plan.scans) == ["Accounts", "Contacts"]


def test_a_name_in_another_case_waits_for_the_list_and_costs_nothing_more(emu: Emulator) -> None:
    calls, peak, plan = _asked(emu, "SELECT Email FROM leads")
    assert calls == {"list_modules": 1, "list_fields": 1} and peak == 1
    assert [s.module for s in plan.scans] == ["Leads"]


def test_a_label_is_refused_as_before_with_the_api_name_it_means(emu: Emulator,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with ZohoSession(emu.connection_string + ";APIType=COQL") as s, caplog.at_level(logging.INFO):
        with pytest.raises(PlanningError) as caught:
            Engine(s).execute("SELECT Email FROM Lead").read_all()
    assert str(caught.value) == "no table or Zoho module named 'Lead' (did you mean Leads?)"
    # the fields asked for "Lead" beside the list found no such module: an answer, not a failure in the log
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_metadata_tables_and_a_second_query_ask_nothing_ahead(emu: Emulator) -> None:
    calls, _, _ = _asked(emu, "SELECT full_name FROM _Users")
    assert "list_fields" not in calls
    with ZohoSession(emu.connection_string + ";APIType=COQL") as s:
        engine = Engine(s)
        engine.plan("SELECT Email FROM Leads")
        before = emu.stats()["calls"]
        engine.plan("SELECT Email FROM Leads WHERE City = 'Oslo'")
        assert {k: v for k, v in emu.stats()["calls"].items() if v != before.get(k, 0)} == {}
