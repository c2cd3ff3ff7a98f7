"""Fuzz: connection strings through the real CLI entry never end in an internal error or a traceback,
exit with the status of their cause, and never echo a secret (issue 11, acceptance).

Servers are always the emulator or a loopback port with nothing listening (or a plain-http host the
configuration refuses before any call), so no example reaches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from connector.cli.main import main
from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.errors import ConfigError
from tests.http.support import free_port, quote

ROOT = Path(__file__).resolve().parents[1]
MARKER = "S3CR3T"  # every generated secret carries it; none may ever be shown
STATUSES = {0, 2, 3, 4, 5, 7, 75}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(records=30, seed=13) as e:
        yield e


@pytest.fixture(scope="module")
def dead_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _secret() -> st.SearchStrategy[str]:
    tail = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
    return st.builds(lambda a, b: f"{a}{MARKER}{b}", tail, tail)


def _weird() -> st.SearchStrategy[str]:
    """Values a user might paste: controls, quotes, separators, unicode, long text."""
    return st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "'", '"', ";", "=", "a;b", "x\r\ny: 1",
                                                              "\x00", "é", "∞", "1e400", "-1", "99999999999"]))


def properties(emu: Emulator, dead_port: int, scratch: Path, dirty: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Property values: sensible ones (which still fail in many ways), plus pasted junk when ``dirty``."""
    origin, dead = emu.origin, f"http://127.0.0.1:{dead_port}"

    def pick(*options: Any) -> st.SearchStrategy[Any]:
        return st.one_of(st.sampled_from(options), _weird()) if dirty else st.sampled_from(options)

    optional = {
        "Region": pick("US", "US", "EU", "Europe", "United States", "Mars"),
        "InstanceType": pick("Production", "Sandbox", "Development"),
        "InitiateOAuth": pick("REFRESH", "GETANDREFRESH", "OFF"),
        "OAuthAccessToken": _secret(),
        "OAuthGrantType": pick("refresh_token", "authorization_code", "client_credentials"),
        "OrgId": pick("665000001", "abc"),
        "Scope": pick("ZohoCRM.modules.READ", "ZohoCRM.org.READ ZohoCRM.modules.ALL"),
        "APIType": pick("Auto", "REST", "COQL", "Bulk", "Search"),
        "Verbosity": pick(*[str(v) for v in range(-1, 7)]),
        "LogFormat": pick("text", "json", "xml"),
        "Logfile": pick(str(scratch / "fuzz.log"), str(scratch), "/sys/zohocrm-fuzz.log", "-"),
        "AuditLog": pick(str(scratch / "audit" / "calls.jsonl"), str(scratch), "/proc/zohocrm-fuzz.jsonl"),
        "OAuthSettingsLocation": pick("memory", str(scratch / "tokens" / "t.zseal"), "/proc/zohocrm/t.zseal"),
        "AllowedOperations": pick("read", "read,insert", "write"),
        "AllowedModules": pick("Leads", "Leads,Contacts", "Lead s"),
        "PageSize": pick("200", "1", "0", "500"),
        "MaxConcurrency": pick("1", "4", "0", "30"),
        "ProxyServer": st.just("127.0.0.1"),
        "ProxyPort": st.just(str(dead_port)),
        "ProxyUser": pick("ops", "o\rps"),
        "ProxyPassword": _secret(),
        "ProxyAuthScheme": pick("BASIC", "NTLM", "DIGEST", "NONE"),
        "FirewallType": pick("NONE", "SOCKS5", "TUNNEL"),
        "FirewallPassword": _secret(),
        "SSLServerCert": pick("*", str(scratch / "missing.pem")),
        "DryRun": pick("true", "no"),
    }
    if dirty:
        optional["Bogus Property"] = _weird()
    chosen = st.sets(st.sampled_from(sorted(optional)), max_size=8 if dirty else 4)
    return st.fixed_dictionaries({
        "AccountsServer": st.sampled_from([origin, origin, origin, dead, "http://zoho-gateway.example.com"]),
        "APIServer": st.sampled_from([origin, origin, origin, dead, "http://10.1.2.3:8080"]),
        "OAuthClientId": pick(emu.client_id, emu.client_id, emu.client_id, "1000.EXAMPLECLIENTID"),
        "OAuthClientSecret": st.sampled_from([emu.client_secret] * 3) | _secret(),
        "OAuthRefreshToken": st.sampled_from([emu.refresh_token] * 3 + [None]) | _secret(),
    }).flatmap(lambda base: chosen.flatmap(lambda keys: st.fixed_dictionaries(
        {k: optional[k] for k in sorted(keys)}).map(lambda extra: {**base, **extra})))


def render(props: dict[str, Any]) -> str:
    pairs = {k: v for k, v in props.items() if v is not None}
    pairs.setdefault("MaxRetries", "0")  # a refused port is not retried for seconds in every example
    pairs.setdefault("Timeout", "10")
    if "OAuthSettingsLocation" in pairs and str(pairs["OAuthSettingsLocation"]).endswith(".zseal"):
        pairs["OAuthKeyLocation"] = str(Path(pairs["OAuthSettingsLocation"]).parent.parent / "keys" / "t.key")
    return ";".join(f"{k}={quote(str(v))}" for k, v in pairs.items())


def expected_config_error(text: str) -> bool:
    try:
        parse_connection_string(text)
    except ConfigError:
        return True
    return False


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_clean(status: int, out: str, err: str, text: str) -> None:
    shown = out + err
    assert status in STATUSES, (status, shown[-2000:])
    assert "internal error" not in shown and "Traceback" not in shown, shown[-2000:]
    assert MARKER not in shown, "a secret was echoed"
    if expected_config_error(text):
        assert status == 2, (status, shown[-2000:])


@given(data=st.data())
@settings(max_examples=60)
def test_fuzzed_connection_strings_through_check(data: st.DataObject, emu: Emulator, dead_port: int, scratch: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    emu.app.tokens.reset_windows()  # the fuzz mints often; Zoho's 10-per-10-minutes is not what is tested
    text = render(data.draw(properties(emu, dead_port, scratch, dirty=data.draw(st.integers(0, 9)) < 3)))
    as_json = data.draw(st.booleans())
    status, out, err = run(capsys, "check", "--connection", text, *(["--json"] if as_json else []))
    event(f"exit status {status}")
    assert_clean(status, out, err, text)
    if as_json and out.strip():
        assert json.loads(out)["exit_status"] == status


_KEYS = ["Region", "Domain", "InstanceType", "OAuthClientId", "OAuthClientSecret", "OAuthRefreshToken", "Scope",
         "Timeout", "Verbosity", "AllowedModules", "InitiateOAuth", "regoin", "OAuth Client Id"]
_TOKENS = st.one_of(st.sampled_from(_KEYS + ["=", ";", "'", '"', " ", "\n", "\r", "\x00", "EU", "1", "=="]),
                    st.text(max_size=6))


@given(text=st.lists(_TOKENS, max_size=30).map("".join))
@settings(max_examples=150)
def test_fuzzed_raw_text_through_auth_status(text: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, scratch: Path) -> None:
    monkeypatch.chdir(scratch)
    status, out, err = run(capsys, "auth", "status", "--connection", text)
    event(f"exit status {status}")
    shown = out + err
    assert status in STATUSES, (status, shown)
    assert "internal error" not in shown and "Traceback" not in shown, shown
    if text.strip() and expected_config_error(text):
        assert status == 2, (status, shown)


NASTY = [
    "OAuthClientId=X\r\nEvil: 1;OAuthClientSecret=aS3CR3Tb",
    "OAuthClientSecret='unterminated S3CR3T",
    "Logfile=/sys/zohocrm-fuzz.log;OAuthClientSecret=S3CR3T-1;AccountsServer={dead};APIServer={dead}",
    "AccountsServer=http://zoho-gateway.example.com;OAuthClientSecret=S3CR3T-2",
    "AccountsServer={dead};APIServer={dead};OAuthClientId=1000.C;OAuthClientSecret=S3CR3T-3;"
    "OAuthRefreshToken=1000.S3CR3T;InitiateOAuth=REFRESH",
    "Verbosity=9;OAuthRefreshToken=S3CR3T-4",
]


@pytest.mark.parametrize("template", NASTY)
def test_nasty_strings_through_a_real_process(template: str, dead_port: int) -> None:
    text = template.format(dead=f"http://127.0.0.1:{dead_port}")
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    result = subprocess.run([sys.executable, "-m", "connector.cli", "check", "--connection", text],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert_clean(result.returncode, result.stdout, result.stderr, text)
    # One clear line: on stderr when the connection cannot even be opened, else the report's FAIL line.
    if result.stderr:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    else:
        assert result.stdout.count("FAIL ") == 1 and "connection FAILED at step" in result.stdout
