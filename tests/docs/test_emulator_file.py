"""``connection_strings/emulator.txt`` works as shipped, with the emulator started as the file says.

The file's comment gives the command (``zohocrm emulator --port 8765 --dev-credentials``); the
test runs that command with ``--port 0`` (a fixed port may be taken on a shared machine) and
puts the port it got into a copy of the file. Nothing else in the file is changed.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from connector.config import parse_connection_string, read_connection_file

from ..emulator.process import REPO, ready_line, start, stop

SHIPPED = REPO / "connection_strings" / "emulator.txt"


def documented_command() -> list[str]:
    found = re.findall(r"^#\s+(zohocrm emulator .*)$", SHIPPED.read_text(encoding="utf-8"), re.M)
    assert len(found) == 1, "emulator.txt must say how to start the emulator it names"
    return shlex.split(found[0])


def zohocrm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_shipped_emulator_file_works_as_written(running, tmp_path: Path) -> None:
    command = documented_command()
    assert command[:2] == ["zohocrm", "emulator"] and "--dev-credentials" in command
    port_at = command.index("--port") + 1
    assert command[port_at] == "8765"
    config = parse_connection_string(read_connection_file(SHIPPED))
    assert config.accounts_server == config.api_domain == "http://127.0.0.1:8765"

    args = command[2:]
    args[port_at - 2] = "0"
    first = start(*args)
    running.append(first)
    info = ready_line(first)
    # the credentials the file names are the ones the emulator serves
    assert info["client_id"] == config.oauth_client_id
    assert config.oauth_client_secret is not None and info["client_secret"] == config.oauth_client_secret.reveal()
    assert config.oauth_refresh_token is not None and info["refresh_token"] == config.oauth_refresh_token.reveal()
    port = info["accounts_url"].rsplit(":", 1)[1]
    copy = tmp_path / "connection_strings" / "emulator.txt"
    copy.parent.mkdir()
    copy.write_text(SHIPPED.read_text(encoding="utf-8").replace("127.0.0.1:8765", f"127.0.0.1:{port}"),
                    encoding="utf-8")
    conn = "@connection_strings/emulator.txt"

    check = zohocrm(tmp_path, "check", "-c", conn)
    assert check.returncode == 0 and "connection OK" in check.stdout, check.stdout + check.stderr
    count = zohocrm(tmp_path, "query", "-c", conn, "--format", "csv", "SELECT count(*) AS leads FROM Leads")
    assert count.returncode == 0 and int(count.stdout.splitlines()[1]) > 0, count.stderr
    insert = zohocrm(tmp_path, "query", "-c", conn, "--report", str(tmp_path / "report.csv"),
                     "INSERT INTO Leads (Last_Name, Company) VALUES ('Example', 'Example Co')")
    assert insert.returncode == 0, insert.stderr
    assert stop(first)[0] == 0

    # Restarted on the same port (what a user of the fixed port does): the access token the
    # first run stored belongs to the old instance, and the connector gets a new one.
    second = start(*[a if a != "0" else port for a in args])
    running.append(second)
    assert ready_line(second)["client_id"] == config.oauth_client_id
    again = zohocrm(tmp_path, "check", "-c", conn)
    assert again.returncode == 0, again.stdout + again.stderr
    assert stop(second)[0] == 0
