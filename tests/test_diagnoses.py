"""Each failure says its true cause and the fix (issue 11, item 16): nothing listening on a local
port is not a Zoho outage, the shipped emulator.txt says what to change, plain http off loopback is
a clear configuration error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.cli.main import cli
from connector.emulator import Emulator
from tests.http.support import conn, free_port

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_TXT = ROOT / "connection_strings" / "us-production-refresh-token.txt"


def check(connection: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["check", "--connection", connection, *args])


def zohocrm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_nothing_listening_on_the_local_accounts_port_is_said_as_such():
    port = free_port()
    text = (f"AccountsServer=http://127.0.0.1:{port};APIServer=http://127.0.0.1:{port};OAuthClientId=1000.C;"
            "OAuthClientSecret=s3cr3t-value;OAuthRefreshToken=1000.r.t;InitiateOAuth=REFRESH")
    result = zohocrm("check", "--connection", text)
    assert result.returncode == 75, result.stderr  # try again once the server runs
    shown = result.stdout + result.stderr
    assert f"nothing is listening at http://127.0.0.1:{port}" in shown
    assert f"zohocrm emulator --port {port}" in shown
    assert "outage" not in shown and "Traceback" not in shown and "s3cr3t-value" not in shown
    assert "retrying" not in shown  # nothing listening here will not start listening during a backoff


def test_nothing_listening_on_the_local_api_port_is_said_as_such(make_emulator: Callable[..., Emulator]):
    emu = make_emulator(records=10)
    port = free_port()
    result = check(conn(emu, APIServer=f"http://127.0.0.1:{port}", MaxRetries=0))
    assert result.exit_code == 75
    assert f"nothing is listening at http://127.0.0.1:{port}" in result.output
    assert "connection failed (ConnectionError)" not in result.output


def test_an_example_file_with_placeholders_says_exactly_what_to_change():
    # The emulator's own file works as shipped (tests/docs/test_emulator_file.py); the other example
    # files hold EXAMPLE placeholders, which must be named before any call, not diagnosed as a wrong
    # data center or an invalid client.
    result = zohocrm("check", "--connection", f"@{PRODUCTION_TXT}")
    assert result.returncode == 2, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "OAuthClientId, OAuthClientSecret and OAuthRefreshToken still hold the EXAMPLE placeholder" in shown
    assert "`zohocrm emulator` printed" in shown
    assert "data center" not in shown and "invalid_client" not in shown


def test_plain_http_off_loopback_is_a_config_error_not_insecure_transport():
    for prop in ("AccountsServer", "APIServer"):
        result = zohocrm("check", "--connection", f"{prop}=http://zoho-gateway.example.com;OAuthClientId=1000.C;"
                                                  "OAuthClientSecret=s3cr3t-value;OAuthRefreshToken=1000.r.t")
        assert result.returncode == 2, result.stderr
        assert f"{prop} uses plain http:// on a host that is not this machine; https:// is required except " \
               "on loopback" in result.stderr
        assert "insecure_transport" not in result.stderr and "Traceback" not in result.stderr
