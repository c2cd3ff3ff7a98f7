"""The Logfile: what each Verbosity writes for a real query, the JSON format, stderr, private
files, and paths that cannot be written (issue 11, items 20, 13, 2 and 11)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from connector.emulator import Emulator
from connector.errors import ConfigError, ConnectorError, FileAccessError
from connector.session import ZohoSession
from tests.http.support import conn, grant

ROOT = Path(__file__).resolve().parents[2]
SQL = "SELECT Last_Name, Email FROM Leads ORDER BY Last_Name LIMIT 5"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(records=60, seed=21) as e:
        yield e


def run_query(connection: str, sql: str = SQL) -> Any:
    result = CliRunner().invoke(cli, ["query", "--connection", connection, "--format", "csv", sql])
    assert result.exit_code == 0, result.output
    return result


def logged(emu: Emulator, tmp_path: Path, verbosity: int, **props: Any) -> tuple[str, set[str]]:
    """Run the query with its own refresh token (so its session mints) and return the log and the secrets."""
    g = grant(emu)
    log = tmp_path / f"v{verbosity}" / "connector.log"
    run_query(conn(emu, refresh_token=g["refresh_token"], Logfile=str(log), Verbosity=verbosity, **props))
    return log.read_text(encoding="utf-8"), {emu.client_secret, g["refresh_token"], g["code"]}


def kinds(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\S+ \S+ (ERROR|WARNING|SUMMARY|INFO|REQUEST|DEBUG|TRACE) ", text, re.M)}


def access_tokens(emu: Emulator) -> set[str]:
    return {a["token"] for a in emu.app.tokens.dump()["access"]}


def test_each_verbosity_adds_its_own_kind_of_line(emu, tmp_path):
    logs = {v: logged(emu, tmp_path, v) for v in range(6)}
    assert logs[0][0] == ""  # errors only: nothing on a successful query
    expected = {1: {"SUMMARY"}, 2: {"SUMMARY", "INFO"}, 3: {"SUMMARY", "INFO", "REQUEST"},
                4: {"SUMMARY", "INFO", "REQUEST", "DEBUG"}, 5: {"SUMMARY", "INFO", "REQUEST", "DEBUG", "TRACE"}}
    for v, kinds_wanted in expected.items():
        assert kinds(logs[v][0]) == kinds_wanted, (v, logs[v][0][:2000])
    one = logs[1][0]
    assert len(one.splitlines()) == 1
    assert re.search(r"session summary \(http://127\.0\.0\.1:\d+\): \d+ calls \(0 retries\), \d+ credits, "
                     r"[\d,]+ records received in [\d.]+ s$", one.strip()), one
    two = logs[2][0]
    assert re.search(r"GET http://\S+/crm/v8/\S+ -> 200 in [\d.]+ s \(\d+ credits?, \d+ records?\)", two)
    assert "refreshing the access token: the accounts server answered in" in two
    assert "where the time went:" in two and "getting tokens (1 refresh)" in two
    three = logs[3][0]
    assert re.search(r"REQUEST connector\.http: -> (GET|POST) http://\S+/crm/v8/\S+", three)
    assert re.search(r"REQUEST connector\.auth: -> POST http://\S+/oauth/v2/token", three)
    four = logs[4][0]
    assert "Authorization: Zoho-oauthtoken ***" in four and "response body shape: {" in four
    five = logs[5][0]
    assert "TRACE connector.http:    response body: {" in five
    leaked = access_tokens(emu)
    for v, (text, secrets) in logs.items():
        for secret in secrets | leaked:
            assert secret not in text, (v, secret[:10])


def test_json_lines_carry_the_structured_fields(emu, tmp_path):
    text, secrets = logged(emu, tmp_path, 3, LogFormat="json")
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    calls = [e for e in entries if e.get("event") == "call"]
    assert calls and all({"call", "method", "path", "status", "seconds", "credits", "records"} <= c.keys()
                         for c in calls)
    assert [c["call"] for c in calls] == list(range(1, len(calls) + 1))
    (summary,) = [e for e in entries if e.get("event") == "session_summary"]
    assert summary["level"] == "SUMMARY" and summary["calls"] == len(calls)
    assert summary["credits"] == sum(c["credits"] for c in calls) and summary["seconds"] > 0
    assert any(e["level"] == "REQUEST" for e in entries)
    for secret in secrets | access_tokens(emu):
        assert secret not in text


def test_logfile_dash_writes_the_log_to_stderr(emu):
    g = grant(emu)
    text = conn(emu, refresh_token=g["refresh_token"], Logfile="-", LogFormat="json", Verbosity=1)
    result = subprocess.run([sys.executable, "-m", "connector.cli", "query", "--connection", text, "--format",
                             "csv", SQL], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in lines] == ["session_summary"]
    assert result.stdout.startswith('"Last_Name","Email"\n') and len(result.stdout.splitlines()) == 6
    assert "{" not in result.stdout


# -- private files, whatever the umask ------------------------------------------------------------

@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_logfile_audit_log_head_and_lock_are_private_whatever_the_umask(emu, tmp_path):
    log, audit = tmp_path / "logs" / "deep" / "c.log", tmp_path / "audit" / "deep" / "calls.jsonl"
    with ZohoSession(conn(emu, Logfile=str(log), AuditLog=str(audit), Verbosity=2)) as s:
        s.http.get("/org")
    files = [log, audit, audit.with_name("calls.jsonl.head"), audit.with_name("calls.jsonl.lock")]
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    folders = [log.parent, log.parent.parent, audit.parent, audit.parent.parent]
    assert {str(p): mode(p) for p in folders} == {str(p): 0o700 for p in folders}
    assert audit.read_text().count("\n") == 1 and log.read_text()


# -- paths that cannot be used ----------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["Logfile", "AuditLog"])
@pytest.mark.parametrize("case", ["a folder", "under a file", "/sys", "/proc"])
def test_an_unusable_path_is_a_file_access_error_naming_the_setting(emu, tmp_path, setting, case):
    plain_file = tmp_path / "plain.txt"
    plain_file.write_text("x")
    target = {"a folder": str(tmp_path), "under a file": str(plain_file / "x.log"),
              "/sys": "/sys/zohocrm-test.log", "/proc": "/proc/zohocrm-test.log"}[case]
    with pytest.raises(FileAccessError) as info:
        ZohoSession(conn(emu, **{setting: target}))
    assert setting in str(info.value) and "cannot write" in str(info.value)
    result = CliRunner().invoke(cli, ["check", "--connection", conn(emu, **{setting: target})])
    assert result.exit_code == 7 and "internal error" not in result.output and setting in result.output


@pytest.mark.parametrize("setting", ["Logfile", "AuditLog"])
def test_a_path_with_nul_is_a_config_error(emu, setting):
    with pytest.raises(ConfigError, match=f"{setting} contains a control character \\(NUL\\)"):
        ZohoSession(conn(emu, **{setting: "/tmp/log\x00.txt"}))


def test_an_unwritable_logfile_from_a_real_process_is_one_line_and_exit_7(emu, tmp_path):
    result = subprocess.run([sys.executable, "-m", "connector.cli", "check", "--connection",
                             conn(emu, Logfile=str(tmp_path))], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"})
    assert result.returncode == 7
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write the log file at {tmp_path}: it is a folder")
    assert "Logfile" in result.stderr


def test_audit_verify_of_a_binary_file_is_a_verdict_not_a_crash(tmp_path):
    garbage = tmp_path / "calls.jsonl"
    garbage.write_bytes(b"\xff\xfe\x00binary\n")
    result = CliRunner().invoke(cli, ["audit", "verify", str(garbage)])
    assert result.exit_code == 1 and "TAMPERED: line 1 is not a valid audit entry" in result.output


def test_verbosity_0_logs_a_failed_call_and_nothing_else(emu, tmp_path):
    log = tmp_path / "errors.log"
    with ZohoSession(conn(emu, Logfile=str(log), Verbosity=0)) as s:
        s.http.get("/org")
        with pytest.raises(ConnectorError):
            s.http.get("/NoSuchModule")
    (line,) = log.read_text().splitlines()
    assert " ERROR connector.http: GET http://" in line and "/crm/v8/NoSuchModule failed: " in line
    assert line.count("/crm/v8/NoSuchModule") == 1, line  # the call named once, then why it failed
    assert emu.client_secret not in line and emu.refresh_token not in line
