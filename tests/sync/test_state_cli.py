"""``zohocrm state show|reset`` through the real command, for every kind of target.

DuckDB keeps a sync's state in a table of the target, Parquet/CSV in the
directory's manifest, a Zoho target in its sidecar file (found by ``--state``
or from both ends of the sync). ``show`` reads; ``reset`` needs ``--yes`` and
makes the next run load the module in full — into Zoho without a duplicate,
because the id map stays.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from connector.emulator import Emulator
from connector.sync import migrate

from .cli_child import zohocrm_run
from .helpers import ALLOW, export
from .roundtrip import clear_org


def show(*args: str, home: Path | None = None) -> dict:
    res = zohocrm_run("state", "show", "--json", *args, home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def by_module(view: dict) -> dict[str, dict]:
    return {m["module"]: m for m in view["modules"]}


@pytest.fixture(scope="module")
def org():
    with Emulator(records=300, seed=97) as emu:
        yield emu


@pytest.mark.parametrize("kind", ["duckdb", "parquet", "csv"])
def test_show_and_reset_a_file_or_duckdb_target(kind, org, tmp_path):
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    target = f"{kind}:{where}"
    assert migrate(org.connection_string, target, modules=["Leads", "Accounts"]).ok
    view = show("--target", target)
    assert view["kind"] == kind and set(by_module(view)) == {"Accounts", "Leads"}
    leads = by_module(view)["Leads"]
    assert leads["loaded"] and leads["watermark"] and leads["boundary_ids"] > 0 and leads["last_run"]
    assert leads["rows"] == len(export(org, "Leads"))
    table = zohocrm_run("state", "show", "--target", target)
    assert table.returncode == 0 and "Leads" in table.stdout and "watermark" in table.stdout

    # Without --yes (and no terminal to ask on) nothing is reset.
    refused = zohocrm_run("state", "reset", "--target", target, "--module", "Leads")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert by_module(show("--target", target))["Leads"]["loaded"]
    unknown = zohocrm_run("state", "reset", "--target", target, "--module", "Deals", "--yes")
    assert unknown.returncode == 2 and "Accounts, Leads" in unknown.stderr

    done = zohocrm_run("state", "reset", "--target", target, "--module", "Leads", "--yes")
    assert done.returncode == 0 and "reset Leads" in done.stdout, done.stderr
    assert set(by_module(show("--target", target))) == {"Accounts"}
    again = migrate(org.connection_string, target, modules=["Leads", "Accounts"], incremental=True)
    modes = {m.module: m.mode for m in again.modules}
    assert again.ok and modes == {"Leads": "full", "Accounts": "incremental"}
    assert by_module(show("--target", target))["Leads"]["rows"] == len(export(org, "Leads"))

    assert zohocrm_run("state", "reset", "--target", target, "--all", "--yes").returncode == 0
    assert show("--target", target)["modules"] == []


def test_show_and_reset_a_zoho_target(org, tmp_path):
    pq_dir, home = tmp_path / "pq", tmp_path / "home"
    home.mkdir()
    assert migrate(org.connection_string, f"parquet:{pq_dir}", modules=["Leads", "Accounts"]).ok
    with Emulator(records=0, seed=98) as b:
        clear_org(b)
        target = b.connection_string + ALLOW
        # No --state: the state file goes under HOME, named after both ends.
        res = zohocrm_run("migrate", "--source", f"parquet:{pq_dir}", "--target", target, "--modules",
                          "Accounts,Leads", home=home)
        assert res.returncode == 0, res.stderr
        view = show("--source", f"parquet:{pq_dir}", "--target", target, home=home)
        assert view["kind"] == "zoho" and Path(view["location"]).is_relative_to(home)
        leads = by_module(view)["Leads"]
        copied = len(export(b, "Leads"))
        assert leads["id_map"] == copied and leads["rows"] == copied and leads["pending_batches"] == 0
        assert leads["failed"] == 0 and leads["watermark"]
        # The same through --state, with no call to either end.
        assert by_module(show("--state", view["location"], "--target", target))["Leads"] == leads
        nothing = zohocrm_run("state", "show", "--target", target)
        assert nothing.returncode == 2 and "--source" in nothing.stderr
        for out in (res.stdout + res.stderr, json.dumps(view)):
            assert b.client_secret not in out and b.refresh_token not in out

        done = zohocrm_run("state", "reset", "--source", f"parquet:{pq_dir}", "--target", target, "--module",
                           "Leads", "--yes", home=home)
        assert done.returncode == 0 and "id map" in done.stdout, done.stderr
        after = by_module(show("--state", view["location"], "--target", target))["Leads"]
        assert not after["loaded"] and after["watermark"] is None and after["id_map"] == copied
        # The next incremental run loads Leads in full: every record is updated, none inserted twice.
        res = zohocrm_run("migrate", "--source", f"parquet:{pq_dir}", "--target", target, "--modules",
                          "Accounts,Leads", "--incremental", home=home)
        assert res.returncode == 0, res.stderr
        assert len(export(b, "Leads")) == copied
        assert by_module(show("--state", view["location"], "--target", target))["Leads"]["loaded"]


def test_state_of_a_target_that_does_not_exist_is_a_clear_error(tmp_path):
    res = zohocrm_run("state", "show", "--target", f"duckdb:{tmp_path / 'none.duckdb'}")
    assert res.returncode == 7 and "no duckdb target" in res.stderr and "Traceback" not in res.stderr
    res = zohocrm_run("state", "show", "--target", "Region=US", "--state", str(tmp_path / "none.duckdb"))
    assert res.returncode == 7 and "no sync state" in res.stderr
    db = tmp_path / "plain.duckdb"
    duckdb.connect(str(db)).close()  # a DuckDB file no migration wrote: no module has a state
    res = zohocrm_run("state", "show", "--target", f"duckdb:{db}")
    assert res.returncode == 0 and "no module has a sync state" in res.stderr
