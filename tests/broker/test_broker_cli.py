"""`zohocrm broker serve` and `zohocrm broker key` as real processes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.emulator import Emulator
from connector.engine.executor import engine_for
from tests.broker.conftest import POLICY
from tests.http.support import conn


def emu_export(emu: Emulator, module: str) -> list[dict]:
    import requests

    return list(requests.get(f"{emu.origin}/__emulator/export/{module}", timeout=30).json()["data"])


def zohocrm(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_a_key_is_shown_once_and_stored_hashed(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    p = zohocrm("broker", "key", "new", "analytics", "--policy", str(policy))
    assert p.returncode == 0, p.stderr
    key = p.stdout.strip()
    assert key.startswith("zb_") and len(key) > 40 and "shown once" in p.stderr
    registry = (tmp_path / "policy.broker" / "keys.json").read_text()
    assert key not in registry and "key_sha256" in registry
    assert stat.S_IMODE((tmp_path / "policy.broker" / "keys.json").stat().st_mode) == 0o600
    sealed = zohocrm("broker", "key", "new", "sealed", "--policy", str(policy))
    assert sealed.returncode == 2 and "--out" in sealed.stderr
    out = tmp_path / "sealed.key"
    assert zohocrm("broker", "key", "new", "sealed", "--policy", str(policy), "--out", str(out)).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and set(json.loads(out.read_text())["envelope"]) == {
        "mlkem_seed", "x25519_private", "hmac_key", "broker_public"}
    bad = zohocrm("broker", "key", "new", "nobody", "--policy", str(policy))
    assert bad.returncode == 2 and "no workspace 'nobody'" in bad.stderr


@pytest.mark.parametrize(("text", "words"), [
    ('[workspaces.w]\nallowed_org = "1"\nallowed_modules = ["Leads"]\nallowed_operations = ["create_record"]\n',
     "without confirm_writes = true"),
    ('[workspaces.w]\nallowed_org = "1"\nallowed_operations = ["get_records"]\n', "did you mean get_record"),
    ('[workspaces.w]\nallowed_modules = ["Leads"]\n', "needs allowed_org"),
    ('[workspaces.w]\nallowed_org = "1"\nallowed_module = ["Leads"]\n', "did you mean allowed_modules"),
    ("[workspaces.w\n", "not valid TOML"),
])
def test_a_bad_or_unconfirmed_policy_is_refused_before_serving(tmp_path: Path, text: str, words: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    p = zohocrm("broker", "serve", "--policy", str(policy), "--connection", "Region=US", "--listen", "127.0.0.1:0")
    assert p.returncode == 2 and words in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_serve_answers_clients_and_stops_on_sigterm(make_emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = make_emulator(records=100, seed=45)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    key = zohocrm("broker", "key", "new", "analytics", "--policy", str(policy)).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["ZOHOCRM_CONNECTION"] = conn(emu, OAuthSettingsLocation=str(tmp_path / "tokens.sealed"))
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "broker", "serve", "--policy", str(policy),
                             "--listen", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = []
        while not any("broker listening on" in line for line in lines):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert "warning: workspace analytics may WRITE to Zoho: create_record, upsert_record" in text
        assert "refused workspace elsewhere is for org 999000001" in text
        url = text.split("broker listening on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        client_env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
        client_env["ZOHOCRM_CONNECTION"] = f"Broker={url};BrokerKey={key}"
        q = zohocrm("query", "--format", "csv", "SELECT count(*) AS n FROM Leads", env=client_env, cwd=tmp_path)
        assert q.returncode == 0, q.stderr
        assert q.stdout.split() == ['"n"', str(len(emu_export(emu, "Leads")))]
        denied = zohocrm("query", "SELECT count(*) FROM Deals", env=client_env, cwd=tmp_path)
        assert denied.returncode == 4 and "refused by the broker" in denied.stderr, denied.stderr
        assert key not in q.stderr + denied.stderr
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[1]
        assert proc.returncode == 0 and "broker stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_listening_beyond_this_machine_needs_tls(tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=20, seed=46)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    p = zohocrm("broker", "serve", "--policy", str(policy), "--connection",
                conn(emu, OAuthSettingsLocation=str(tmp_path / "t.sealed")), "--listen", "0.0.0.0:0")
    assert p.returncode == 2 and "needs TLS" in p.stderr, p.stderr


def test_the_broker_speaks_tls_with_a_given_certificate(make_emulator: Callable[..., Emulator],
                                                        tmp_path: Path) -> None:
    from connector.broker.policy import KeyRegistry
    from connector.broker.serve import BrokerServer
    from connector.broker.server import Broker
    from connector.errors import ConnectorError

    emu = make_emulator(records=60, seed=47)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    from tests.http.support import self_signed

    cert, key = self_signed(tmp_path)
    service = Broker(conn(emu, OAuthSettingsLocation=str(tmp_path / "t.sealed")), policy, tmp_path / "state")
    server = BrokerServer(service, "127.0.0.1", 0, cert=cert, key=key)
    server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        ws_key = KeyRegistry(tmp_path / "state").issue(service.workspaces["analytics"], service.signer.mldsa_public)
        text = f"Broker={server.url};BrokerKey={ws_key['key']}"
        engine, session = engine_for(f"{text};SSLServerCert={cert}")
        with session:
            assert engine.run("SELECT count(*) AS n FROM Leads").reader.read_all().num_rows == 1
        engine, session = engine_for(text)  # without trusting the certificate: refused, in words, at once
        with session, pytest.raises(ConnectorError, match="(?i)certificate") as refused:
            engine.run("SELECT count(*) FROM Leads").reader.read_all()
        assert "SSLServerCert" in (refused.value.hint or "")
        # no backoff makes the certificate trusted: each call was tried once, none waited to try again
        assert session.http.stats.backoff == 0.0 and session.http.stats.calls <= 2, session.http.stats.fields()
    finally:
        server.shutdown()
        server.server_close()
        service.close()


@pytest.mark.parametrize(("text", "status", "words"), [
    ("Broker=http://127.0.0.1:{port};BrokerKey=zb_" + "k" * 43, 75, "is `zohocrm broker serve` running there?"),
    ("Broker=http://127.0.0.1:{port}", 2, "Broker needs the workspace key"),
    ("BrokerKey=zb_" + "k" * 43, 2, "those need Broker"),
    ("Broker=http://127.0.0.1:{port};BrokerKey=zb_x;OAuthClientSecret=s", 2, "holds no Zoho secret"),
    ("Broker=http://broker.example.test;BrokerKey=zb_x", 2, "https:// is required"),
])
def test_broker_connection_mistakes_are_said_in_words(tmp_path: Path, text: str, status: int, words: str) -> None:
    from tests.http.support import free_port

    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["ZOHOCRM_CONNECTION"] = text.format(port=free_port())
    p = zohocrm("query", "SELECT count(*) FROM Leads", env=env, cwd=tmp_path)
    assert p.returncode == status and p.stderr.count(words) == 1, p.stderr  # said once, not per failed call
    assert "Traceback" not in p.stderr and "k" * 43 not in p.stderr
