"""`zohocrm auth login --web`: the web-server flow from the CLI in two steps (issue 11, item 24)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from click.testing import CliRunner

from connector.auth.sealed_store import SealedTokenStore
from connector.cli.main import cli
from connector.emulator import Emulator
from tests.http.support import conn, free_port, raw_refresh, stats

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=10, location="eu")


def web_conn(emu: Emulator, tmp_path: Path, **props: Any) -> str:
    return conn(emu, InitiateOAuth="GETANDREFRESH", OAuthRefreshToken=None, Region="EU",
                CallbackURL=f"http://127.0.0.1:{free_port()}/oauth/callback",
                OAuthSettingsLocation=str(tmp_path / "tokens" / "t.zseal"),
                OAuthKeyLocation=str(tmp_path / "keys" / "t.key"), **props)


def login(*args: str) -> Any:
    return CliRunner().invoke(cli, ["auth", "login", *args])


def consent(url: str) -> str:
    """What the browser does: follow the consent URL; the accounts server redirects to CallbackURL."""
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), r.text
    return str(r.headers["Location"])


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query(url), **changes})))


def test_web_login_prints_the_consent_url_then_exchanges_the_pasted_redirect(emu, tmp_path):
    text = web_conn(emu, tmp_path)
    first = login("--connection", text, "--web")
    assert first.exit_code == 0, first.output
    url = first.stdout.strip()
    params = query(url)
    assert url.startswith(f"{emu.accounts_url}/oauth/v2/auth?")
    assert params["redirect_uri"].endswith("/oauth/callback") and params["client_id"] == emu.client_id
    assert params["access_type"] == "offline" and params["prompt"] == "consent" and len(params["state"]) >= 24
    assert "--code" in first.stderr
    pending = Path(f"{tmp_path / 'tokens' / 't.zseal'}.login")
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600

    redirect = consent(url)
    back = query(redirect)
    assert back["state"] == params["state"] and back["location"] == "eu" and back["accounts-server"] == emu.origin
    second = login("--connection", text, "--web", "--code", redirect)
    assert second.exit_code == 0, second.output
    shown = json.loads(second.stdout)
    assert shown["logged_in"] and shown["stored"] and shown["location"] == "eu"
    assert not pending.exists()
    stored = SealedTokenStore(tmp_path / "tokens" / "t.zseal", tmp_path / "keys" / "t.key").load()
    assert stored is not None and "access_token" in raw_refresh(emu, stored["refresh_token"])
    assert back["code"] not in second.output and stored["refresh_token"] not in second.output
    # The sealed login works for a session: the check proves the EU data center.
    check = CliRunner().invoke(cli, ["check", "--connection", text, "--json"])
    assert check.exit_code == 0 and json.loads(check.stdout)["facts"]["data center"] == "EU"


def test_a_redirect_with_another_state_is_refused_and_its_code_not_exchanged(emu, tmp_path):
    text = web_conn(emu, tmp_path)
    url = login("--connection", text, "--web").stdout.strip()
    forged = with_param(consent(url), state="someone-elses-state")
    minted = stats(emu)["tokens_minted"]
    result = login("--connection", text, "--web", "--code", forged)
    assert result.exit_code == 3 and "CSRF" in result.output
    assert stats(emu)["tokens_minted"] == minted
    # The real redirect still completes afterwards.
    assert login("--connection", text, "--web", "--code", consent(url)).exit_code == 0


def test_a_bare_code_with_its_state_and_location(emu, tmp_path):
    text = web_conn(emu, tmp_path)
    url = login("--connection", text, "--web").stdout.strip()
    back = query(consent(url))
    wrong = login("--connection", text, "--web", "--code", back["code"], "--state", "not-the-state")
    assert wrong.exit_code == 3 and "different state" in wrong.output
    right = login("--connection", text, "--web", "--code", back["code"], "--state", back["state"],
                  "--location", back["location"], "--accounts-server", back["accounts-server"])
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)["location"] == "eu"


def test_an_accounts_server_that_is_neither_zohos_nor_configured_is_refused(emu, tmp_path):
    text = web_conn(emu, tmp_path)
    url = login("--connection", text, "--web").stdout.strip()
    redirect = with_param(consent(url), **{"accounts-server": "https://accounts.evil.example"})
    result = login("--connection", text, "--web", "--code", redirect)
    assert result.exit_code == 3 and "unknown accounts server" in result.output


def test_a_code_without_a_started_login_says_how_to_start(emu, tmp_path):
    result = login("--connection", web_conn(emu, tmp_path), "--web", "--code", "1000.abc.def")
    assert result.exit_code == 3 and "zohocrm auth login --web" in result.output
    assert login("--connection", web_conn(emu, tmp_path), "--state", "x").exit_code == 2


def test_the_two_steps_as_real_processes(emu, tmp_path):
    text = web_conn(emu, tmp_path)
    env = {**{k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}, "ZOHOCRM_CONNECTION": text}

    def zohocrm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)

    first = zohocrm("auth", "login", "--web")
    assert first.returncode == 0, first.stderr
    second = zohocrm("auth", "login", "--web", "--code", consent(first.stdout.strip()))
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["logged_in"] is True
    status = zohocrm("auth", "status")
    assert json.loads(status.stdout)["stored"] is True and json.loads(status.stdout)["location"] == "eu"
