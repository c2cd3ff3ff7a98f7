"""Each failure says its true cause and the fix (issue 11, item 16): nothing listening on a local
port is not a Zoho outage, the shipped emulator.txt says what to change, plain http off loopback is
a clear configuration error."""

from __future__ import annotations

import os
import re
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
EMULATOR_TXT = ROOT / "connection_strings" / "emulator.txt"


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


def test_the_shipped_emulator_file_says_exactly_what_to_change():
    result = zohocrm("check", "--connection", f"@{EMULATOR_TXT}")
    assert result.returncode == 2, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "OAuthClientId, OAuthClientSecret and OAuthRefreshToken still hold the EXAMPLE placeholder" in shown
    assert "`zohocrm emulator` printed" in shown
    assert "data center" not in shown and "invalid_client" not in shown


def test_the_emulator_file_works_once_its_placeholders_are_replaced(make_emulator: Callable[..., Emulator],
                                                                     tmp_path: Path):
    emu = make_emulator(records=10)
    text = EMULATOR_TXT.read_text()
    assert "zohocrm emulator --port 8765" in text  # the file says how to start the emulator it expects
    text = (text.replace("http://127.0.0.1:8765", emu.origin).replace("1000.EXAMPLECLIENTID", emu.client_id)
            .replace("EXAMPLE-CLIENT-SECRET", emu.client_secret)
            .replace("1000.EXAMPLE-REFRESH-TOKEN", emu.refresh_token))
    assert not re.search(r"EXAMPLE", "".join(line for line in text.splitlines() if not line.startswith("#")))
    (tmp_path / "emulator.txt").write_text(text)
    result = check(f"@{tmp_path / 'emulator.txt'}")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("connection OK")


def test_plain_http_off_loopback_is_a_config_error_not_insecure_transport():
    for prop in ("AccountsServer", "APIServer"):
        result = zohocrm("check", "--connection", f"{prop}=http://zoho-gateway.example.com;OAuthClientId=1000.C;"
                                                  "OAuthClientSecret=s3cr3t-value;OAuthRefreshToken=1000.r.t")
        assert result.returncode == 2, result.stderr
        assert f"{prop} uses plain http:// on a host that is not this machine; https:// is required except " \
               "on loopback" in result.stderr
        assert "insecure_transport" not in result.stderr and "Traceback" not in result.stderr
