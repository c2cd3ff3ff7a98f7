"""`zohocrm check` proves the data center and the environment from what answered, never from
Region or InstanceType themselves (issue 11, item 17)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from connector.emulator import Emulator
from tests.http.support import conn


def check(connection: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["check", "--connection", connection, *args])


def test_region_eu_against_a_us_server_fails_and_says_which_region(make_emulator: Callable[..., Emulator]):
    us = make_emulator(records=10)
    result = check(conn(us, Region="EU"))
    assert result.exit_code == 2, result.output
    assert "FAIL data center: Region=EU, but this connection is in the US data center" in result.output
    assert "set Region=US" in result.output and "calls itself 'us'" in result.output
    assert result.output.count("set Region=US") == 1
    report = json.loads(check(conn(us, Region="EU"), "--json").stdout)
    assert not report["ok"] and report["exit_status"] == 2 and "set Region=US" in report["reason"]


@pytest.mark.parametrize("region", ["EU", "Europe"])
def test_an_eu_server_is_proven_eu(make_emulator: Callable[..., Emulator], region: str):
    eu = make_emulator(records=10, location="eu")
    result = check(conn(eu, Region=region), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"], result.output
    assert report["facts"]["data center"] == "EU"
    detail = next(s["detail"] for s in report["steps"] if s["step"] == "data center")
    assert detail.startswith("EU, production (proven:") and eu.accounts_url in detail
    # The default Region (US) is not taken on trust either.
    assert "set Region=EU" in check(conn(eu)).output


def test_the_org_type_is_held_against_instance_type(make_emulator: Callable[..., Emulator]):
    sandbox = make_emulator(records=10, environment="sandbox")
    result = check(conn(sandbox))
    assert result.exit_code == 2
    assert "InstanceType=Production, but the org is a sandbox org; set InstanceType=Sandbox" in result.output
    assert check(conn(sandbox, InstanceType="Sandbox")).exit_code == 0
