"""The real ``zohocrm`` command in a child process, for tests that kill it or read its exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def zohocrm(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "connector.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def zohocrm_run(*args: str, timeout: float = 300, home: Path | None = None,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``zohocrm`` to the end (``home``: its HOME, where default state files go)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **({"HOME": str(home)} if home else {})}
    return subprocess.run([sys.executable, "-m", "connector.cli", *args], cwd=ROOT, text=True, capture_output=True,
                          env=env, timeout=timeout, input=input)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def sent_without_answer(pending: Path, module: str = "Leads") -> bool:
    """A running migration's journal has rows sent whose answer is not recorded yet."""
    return any(",unknown," in p.read_text(errors="replace") for p in pending.glob(f"{module}.*.report.csv"))
