"""`zohocrm check` (the read proof) and `zohocrm auth login|status|logout` against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.auth.oauth import ZohoOAuth
from connector.auth.sealed_store import SealedTokenStore
from connector.cli.main import cli
from connector.config import parse_connection_string
from connector.emulator import Emulator
from tests.http.support import configure, conn, grant, raw_refresh

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=40, seed=11)


def check(connection: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["check", "--connection", connection, *args])


def zohocrm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=120)


def sealed(tmp_path: Path) -> dict[str, str]:
    return {"OAuthSettingsLocation": str(tmp_path / "tokens" / "t.zseal"),
            "OAuthKeyLocation": str(tmp_path / "keys" / "t.key")}


# -- the read proof ------------------------------------------------------------------------------------

def test_check_proves_a_good_connection(emu):
    result = check(conn(emu))
    assert result.exit_code == 0, result.output
    out = result.output
    for fact in ("data center", "edition", "api domain", "scopes granted", "modules visible", "credits left"):
        assert fact in out
    assert "ok  org:" in out and "ok  modules:" in out and "ok  one Leads record: record " in out
    assert "enterprise" in out and emu.api_domain in out and "ZohoCRM.org.ALL" in out and "Contacts" in out
    assert out.rstrip().endswith("connection OK")
    assert emu.client_secret not in out and emu.refresh_token not in out


def test_check_json(emu):
    result = check(conn(emu), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    steps = [s["step"] for s in report["steps"]]
    assert report["ok"] and steps == ["token", "org", "data center", "modules", "one Leads record"]
    assert report["facts"]["data center"] == "US" and report["facts"]["credits used by this check"] == 4
    assert report["exit_status"] == 0


def test_check_reports_credits_left_once_zoho_sends_them(emu):
    # 6 credits: the check's third call passes the half-way mark, after which Zoho sends
    # X-API-CREDITS-REMAINING; the check spends 4, so 2 are left.
    configure(emu, credits=6)
    result = check(conn(emu), "--json")
    assert result.exit_code == 0 and json.loads(result.output)["facts"]["credits left"] == 2


@pytest.mark.parametrize("case, step, reason", [
    ("bad secret", "token", "invalid_client_secret"),
    ("revoked token", "token", "invalid_code"),
    ("no org scope", "org", "OAUTH_SCOPE_MISMATCH"),
])
def test_check_fails_with_the_reason_said_once_and_the_status_of_its_cause(emu, case, step, reason):
    # Was: exit status 1 and the reason three times (the FAIL line, "connection FAILED: ...", and
    # "check failed: ..." on stderr). Now: the OAuth status (3), the reason once (issue 11, item 17).
    if case == "bad secret":
        text = conn(emu, client_secret="0" * 42)
    elif case == "revoked token":
        rt = grant(emu)["refresh_token"]
        ZohoOAuth(parse_connection_string(conn(emu))).revoke(rt)
        text = conn(emu, refresh_token=rt)
    else:  # a read-only token for records, without ZohoCRM.org.READ: the proof must not pass
        text = conn(emu, refresh_token=grant(emu, scopes="ZohoCRM.modules.READ,ZohoCRM.settings.READ")[
            "refresh_token"])
    result = check(text)
    assert result.exit_code == 3
    assert f"FAIL {step}:" in result.output and f"connection FAILED at step '{step}'" in result.output
    assert result.output.count(reason) == 1, result.output
    as_json = check(text, "--format", "json")
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 3 and report["exit_status"] == 3 and not report["ok"]
    assert reason in report["reason"] and as_json.stderr == ""


def test_check_with_a_bad_connection_string_exits_2_with_the_property_named():
    result = check("Regoin=EU")
    assert result.exit_code == 2 and "Region" in result.output


def test_a_warning_is_one_plain_line_not_a_place_in_the_package(emu):
    """``SSLServerCert=*`` turns certificate checks off: the command says so in words, once, and goes on."""
    proc = zohocrm("check", "--connection", conn(emu) + ";SSLServerCert=*")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "SSLServerCert" in line]
    assert lines == ["warning: SSLServerCert=* accepts any server certificate; use it only for testing"], proc.stderr
    assert "UserWarning" not in proc.stderr and ".py:" not in proc.stderr, proc.stderr


def test_a_logged_warning_is_one_line_too_and_a_field_type_unknown_is_said_once(capsys, tmp_path):
    """What the connector logs as a warning reaches the command's stderr as ``warning: ...``, once: a field whose
    data type the connector does not know (read as text) was said twice (bare, then as a Python warning). With
    ``Logfile=-`` the log on stderr says it, and no second line does."""
    import logging

    from connector.cli.main import WarningLines, show_warnings
    from connector.logfile import close_logfile, open_logfile
    from connector.schema import types
    from connector.schema.types import build_table_schema

    types._warned.discard("Leads.Hologram_1:hologram")  # said once a process: this test may run again in one
    logger = logging.getLogger("connector")
    try:
        show_warnings()
        show_warnings()  # a second command in the same process adds no second handler
        assert sum(isinstance(h, WarningLines) for h in logger.handlers) == 1
        ts = build_table_schema("Leads", [{"api_name": "Hologram_1", "data_type": "hologram", "json_type": "string",
                                           "field_label": "Hologram"}])
        assert str(ts.column("Hologram_1").arrow) == "string"  # type: ignore[union-attr]
        logging.getLogger("connector.http").warning("refused update on Leads: token=%s", "1000.secretvalue")
        logging.getLogger("connector.http").info("not a warning: stays out of stderr")
        err = capsys.readouterr().err.splitlines()
        key = open_logfile(Path("-"), 3, "text")
        try:
            logging.getLogger("connector.http").warning("said by the log alone")
        finally:
            close_logfile(key, 3)
        logged = capsys.readouterr().err.splitlines()
        errors_only = tmp_path / "errors.log"
        key = open_logfile(errors_only, 0, "text")  # Verbosity=0: the file takes errors only
        try:
            logging.getLogger("connector.http").warning("not the file's, the screen's")
        finally:
            close_logfile(key, 0)
        screen = capsys.readouterr().err.splitlines()
    finally:
        for h in [h for h in logger.handlers if isinstance(h, WarningLines)]:
            logger.removeHandler(h)
    assert err[0] == ("warning: field Leads.Hologram_1 has data_type 'hologram' which the connector does not know; "
                      "it is read as text"), err
    assert len(err) == 2 and err[1].startswith("warning: refused update on Leads"), err
    assert "secretvalue" not in err[1], err  # redacted like every record of the connector's loggers
    assert len(logged) == 1 and logged[0].endswith("said by the log alone") and "warning: " not in logged[0], logged
    assert screen == ["warning: not the file's, the screen's"], screen
    assert "screen" not in errors_only.read_text(encoding="utf-8")


# -- auth login / status / logout as a user runs them ------------------------------------------------

def test_auth_login_status_logout_as_subprocesses(emu, tmp_path):
    g = grant(emu)
    conn_file = tmp_path / "zoho.txt"
    conn_file.write_text("# the emulator, tokens sealed beside nothing else\n"
                         + conn(emu, InitiateOAuth="GETANDREFRESH", OAuthRefreshToken=None,
                                **sealed(tmp_path)).replace(";", ";\n") + "\n")
    login = zohocrm("auth", "login", "--connection", f"@{conn_file}", "--code", g["code"])
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["logged_in"] is True

    status = zohocrm("auth", "status", "--connection", f"@{conn_file}")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["stored"] and info["has_refresh_token"] and info["api_domain"] == emu.api_domain
    env = {"ZOHOCRM_CONNECTION": f"@{conn_file}"}
    assert json.loads(zohocrm("auth", "status", env=env).stdout) == {**info,
                                                                     "access_token_expires_in_s": pytest.approx(
                                                                         info["access_token_expires_in_s"], abs=5)}

    stored = SealedTokenStore(tmp_path / "tokens" / "t.zseal", tmp_path / "keys" / "t.key").load()
    assert stored is not None and "access_token" in raw_refresh(emu, stored["refresh_token"])
    logout = zohocrm("auth", "logout", env=env)
    assert logout.returncode == 0, logout.stderr
    assert json.loads(logout.stdout) == {"logged_out": True, "revoked_at_zoho": True}
    assert raw_refresh(emu, stored["refresh_token"])["error"] == "invalid_code"  # really revoked at Zoho
    assert json.loads(zohocrm("auth", "status", env=env).stdout) == {"stored": False}
    for p in (login, status, logout):
        shown = p.stdout + p.stderr
        assert stored["refresh_token"] not in shown and stored["access_token"] not in shown
        assert g["code"] not in shown and emu.client_secret not in shown


def test_auth_status_of_a_tampered_store_is_one_clear_line(emu, tmp_path):
    text = conn(emu, **sealed(tmp_path))
    assert CliRunner().invoke(cli, ["check", "--connection", text]).exit_code == 0  # stores tokens
    store = tmp_path / "tokens" / "t.zseal"
    store.write_bytes(store.read_bytes()[:-10])
    result = zohocrm("auth", "status", env={"ZOHOCRM_CONNECTION": text})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "zohocrm auth login" in result.stderr


def test_without_a_connection_the_cli_says_how_to_give_one():
    result = zohocrm("auth", "status")
    assert result.returncode != 0 and "ZOHOCRM_CONNECTION" in result.stderr


def test_the_command_list_loads_without_the_data_engines():
    """``zohocrm --help`` (and a command's own ``--help``) answers at once: loading the commands imports
    neither pyarrow, DuckDB, sqlglot, pandas nor the sync package (each command imports what it runs when
    it runs)."""
    code = ("import sys, connector.cli.main; "
            "print(sorted(m for m in ('pyarrow', 'duckdb', 'sqlglot', 'pandas', 'connector.sync') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
