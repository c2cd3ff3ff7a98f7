"""Binding off loopback needs ``--allow-remote``, warns, and puts ``/__emulator/`` behind an admin token.

The emulator hands out its client secret and refresh tokens at ``/__emulator/grant``; on a
machine others can reach that must not be open. Every connection here goes to 127.0.0.1, also
to the one emulator that binds 0.0.0.0 to show the remote mode end to end.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from connector.emulator import Emulator

from .process import REPO, local_origin, ready_line, start, stop

TOKEN = "test-admin-token-0123456789abcdef"
ADMIN_PATHS = [("GET", "stats"), ("GET", "export/Leads"), ("POST", "grant"), ("POST", "reset"),
               ("GET", "config"), ("GET", "no-such-admin-path")]


def run_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", "emulator", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.0.2.10", "crm.example.com"])
def test_a_host_off_loopback_is_refused_without_allow_remote(host):
    proc = run_emulator("--host", host, "--records", "10")
    assert proc.returncode == 2, proc.stderr
    assert "--allow-remote" in proc.stderr and "refusing to listen" in proc.stderr
    assert proc.stdout == ""  # nothing announced: it never listened


@pytest.mark.parametrize("args", [
    ["--host", "0.0.0.0", "--allow-remote", "--dev-credentials"],  # published secrets off loopback
    ["--admin-token", "short"],
    ["--admin-token", "has spaces in the middle of it"],
])
def test_unsafe_exposure_settings_are_usage_errors(args):
    proc = run_emulator(*args, "--records", "10")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "short" not in proc.stderr and "spaces in" not in proc.stderr  # a token is never echoed


def assert_admin_locked(origin: str, token: str) -> None:
    for method, path in ADMIN_PATHS:
        r = requests.request(method, f"{origin}/__emulator/{path}", timeout=60)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["code"] == "ADMIN_TOKEN_REQUIRED" and "Bearer" in r.headers["WWW-Authenticate"]
        assert "client_secret" not in r.text and "refresh_token" not in r.text
        wrong = requests.request(method, f"{origin}/__emulator/{path}", timeout=60,
                                 headers={"Authorization": "Bearer " + token[:-1] + "x"})
        assert wrong.status_code == 401
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-Emulator-Admin-Token": token}):
        r = requests.get(f"{origin}/__emulator/stats", headers=headers, timeout=60)
        assert r.status_code == 200 and "calls" in r.json()
    r = requests.post(f"{origin}/__emulator/grant", json={"scopes": "read"}, timeout=60,
                      headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["refresh_token"]


def assert_api_still_works(info: dict[str, str], origin: str) -> None:
    body = requests.post(f"{origin}/oauth/v2/token", timeout=60, data={
        "grant_type": "refresh_token", "client_id": info["client_id"], "client_secret": info["client_secret"],
        "refresh_token": info["refresh_token"]}).json()
    r = requests.get(f"{origin}/crm/v8/Leads", params={"fields": "Last_Name", "per_page": 2}, timeout=60,
                     headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"})
    assert r.status_code == 200 and len(r.json()["data"]) == 2


def test_allow_remote_binds_warns_and_locks_the_admin_endpoints(running):
    proc = start("--host", "0.0.0.0", "--allow-remote", "--records", "50")
    running.append(proc)
    info = ready_line(proc)
    token = info["admin_token"]
    assert isinstance(token, str) and len(token) >= 32
    # 0.0.0.0 is not an address another machine can call: the origins name this machine instead
    assert "0.0.0.0" not in info["accounts_url"] and "0.0.0.0" not in info["connection_string"]
    origin = local_origin(info)
    assert_admin_locked(origin, token)
    assert_api_still_works(info, origin)
    code, out, err = stop(proc)
    assert code == 0 and out == ""
    assert "WARNING" in err and "reachable from other machines" in err and "admin token" in err
    assert token not in err  # printed once, in the JSON line


def test_an_admin_token_on_loopback_locks_too_and_advertise_host_names_the_origin(running):
    proc = start("--records", "50", "--advertise-host", "localhost", env={"ZOHOCRM_EMULATOR_ADMIN_TOKEN": TOKEN})
    running.append(proc)
    info = ready_line(proc)
    assert info["admin_token"] == TOKEN and info["accounts_url"].startswith("http://localhost:")
    assert_admin_locked(local_origin(info), TOKEN)
    code, _, err = stop(proc)
    assert code == 0 and "WARNING" not in err


def test_loopback_without_a_token_stays_open_and_says_nothing(running):
    proc = start("--records", "20")
    running.append(proc)
    info = ready_line(proc)
    assert "admin_token" not in info
    assert requests.get(f"{info['accounts_url']}/__emulator/stats", timeout=60).status_code == 200
    code, _, err = stop(proc)
    assert code == 0 and "WARNING" not in err


def test_the_python_class_refuses_a_remote_host_unless_allowed():
    with pytest.raises(ValueError, match="allow_remote"):
        Emulator(host="0.0.0.0", records=10).start()


@pytest.mark.parametrize("settings", [{"admin_token": TOKEN}, {"host": "0.0.0.0", "allow_remote": True}],
                         ids=["token-on-loopback", "remote"])
def test_the_python_class_and_its_helpers_work_in_both_modes(settings):
    with Emulator(records=60, seed=5, **settings) as emu:
        assert emu.admin_token and emu.info()["admin_token"] == emu.admin_token
        assert requests.get(f"http://127.0.0.1:{emu.port}/__emulator/stats", timeout=60).status_code == 401
        leads = emu.export("Leads")
        assert leads and all(isinstance(r["id"], str) for r in leads)
        changed = emu.mutate("Leads", creates=2, updates=1, deletes=1, seed=3)
        assert len(changed["created"]) == 2
        assert len(emu.export("Leads")) == len(leads) + 1
        assert emu.admin("GET", "clock")["offset_s"] == 0
        emu.advance_clock(60)
        assert emu.stats()["clock_offset_s"] == 60
        emu.reset()
        assert len(emu.export("Leads")) == len(leads)
        r = requests.get(f"http://127.0.0.1:{emu.port}/__emulator/stats", headers=emu.admin_headers(), timeout=60)
        assert r.status_code == 200


def test_without_a_token_the_helpers_send_no_header():
    with Emulator(records=20) as emu:
        assert emu.admin_token is None and emu.admin_headers() == {} and "admin_token" not in emu.info()
        assert emu.export("Accounts")
