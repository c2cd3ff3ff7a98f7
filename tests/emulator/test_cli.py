"""``zohocrm emulator`` as a subprocess: the one JSON line, working credentials, clean exits."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from .process import REPO, ready_line, start, stop

ANNOUNCED = {"accounts_url", "api_domain", "client_id", "client_secret", "refresh_token", "connection_string"}


def parse_connection_string(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip().strip("'")
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_announces_itself_serves_and_exits_zero_on_signal(running, sig):
    proc = start("--port", "0", "--records", "200", "--seed", "3")
    running.append(proc)
    info = ready_line(proc)
    assert ANNOUNCED <= set(info)
    assert info["accounts_url"].startswith("http://127.0.0.1:") and info["api_domain"] == info["accounts_url"]
    cs = parse_connection_string(info["connection_string"])
    assert (cs["OAuthClientId"], cs["OAuthClientSecret"], cs["OAuthRefreshToken"]) == (
        info["client_id"], info["client_secret"], info["refresh_token"])
    # the connection string alone is enough to call the API
    body = requests.post(f"{cs['AccountsServer']}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": cs["OAuthClientId"], "client_secret": cs["OAuthClientSecret"],
        "refresh_token": cs["OAuthRefreshToken"]}, timeout=30).json()
    assert set(body["scope"].split()) == set(cs["Scope"].split(","))
    r = requests.get(f"{cs['APIServer']}/crm/v8/Leads", params={"fields": "Last_Name", "per_page": 5},
                     headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"}, timeout=30)
    assert r.status_code == 200 and len(r.json()["data"]) == 5
    code, out, err = stop(proc, sig)
    assert code == 0, err
    assert out == ""  # exactly one line on stdout: the rest went to stderr
    assert "serving" in err


def test_data_dir_survives_a_restart(running, tmp_path):
    first = start("--records", "200", "--data-dir", str(tmp_path))
    running.append(first)
    info = ready_line(first)
    assert stop(first)[0] == 0
    second = start("--records", "200", "--data-dir", str(tmp_path))
    running.append(second)
    again = ready_line(second)
    assert (again["client_id"], again["refresh_token"]) == (info["client_id"], info["refresh_token"])
    body = requests.post(f"{again['accounts_url']}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": again["client_id"], "client_secret": again["client_secret"],
        "refresh_token": again["refresh_token"]}, timeout=30).json()
    assert "access_token" in body
    assert stop(second)[0] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--no-such-flag"], "No such option"),
    (["--records", "-5"], "--records"),
    (["--fault-rate", "1.5"], "--fault-rate"),
    (["--fault-kinds", "500,teapot"], "unknown fault kinds"),
    (["--size", "Leeds=10"], "Leeds"),
    (["--org", "startup"], "--org"),
    (["--org", "classic", "--size", "Notes=10"], "Notes"),
])
def test_bad_arguments_exit_non_zero_with_a_message(args, message):
    proc = subprocess.run([sys.executable, "-m", "connector.cli", "emulator", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert proc.stdout == ""


def test_an_enterprise_org_from_the_command_line_keeps_its_kind_across_a_restart(running, tmp_path):
    first = start("--records", "200", "--org", "enterprise", "--data-dir", str(tmp_path))
    running.append(first)
    info = ready_line(first)
    assert info["records"]["Notes"] > 0 and info["records"]["Quotes"] > 0
    assert stop(first)[0] == 0
    second = start("--records", "200", "--data-dir", str(tmp_path))  # no --org: the org on disk decides
    running.append(second)
    again = ready_line(second)
    token = requests.post(f"{again['accounts_url']}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": again["client_id"], "client_secret": again["client_secret"],
        "refresh_token": again["refresh_token"]}, timeout=30).json()["access_token"]
    r = requests.get(f"{again['api_domain']}/crm/v8/Notes", params={"fields": "Note_Title", "per_page": 3},
                     headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30)
    assert r.status_code == 200 and len(r.json()["data"]) == 3
    assert stop(second)[0] == 0


def test_a_stopped_emulator_leaves_no_job_files_or_backup_zips(make_emulator) -> None:
    from connector.emulator.backup import backups_of
    from connector.emulator.bulk_read import BulkReadQueue
    from connector.emulator.bulk_write import BulkWriteQueue

    emu = make_emulator(records=50)
    folders = [BulkReadQueue.of(emu.app).dir, BulkWriteQueue.of(emu.app).dir, backups_of(emu.app).dir]
    (folders[0] / "job-1.zip").write_bytes(b"PK")  # a file a job left, as a finished export does
    assert all(f.is_dir() for f in folders)
    emu.stop()
    assert not any(f.exists() for f in folders)
