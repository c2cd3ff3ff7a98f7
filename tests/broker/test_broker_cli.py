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
        engine, session = engine_for(f"Broker={url};BrokerKey={key}")
        with session:
            assert engine.run("SELECT count(*) AS n FROM Leads").reader.read_all().num_rows == 1
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
