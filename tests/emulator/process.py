"""Run ``zohocrm emulator`` as a real process: start it, read its one JSON line, stop it by signal."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "connector.cli", "emulator", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def ready_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The first stdout line, without hanging the suite if it never comes."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(READY_TIMEOUT_S):
        proc.kill()
        pytest.fail("the emulator did not announce itself")
    line = proc.stdout.readline()
    assert line.endswith("\n"), (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    return dict(json.loads(line))


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def local_origin(info: dict[str, Any]) -> str:
    """Where this machine reaches the announced emulator: always loopback, whatever it advertises."""
    port = info["accounts_url"].rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}"
