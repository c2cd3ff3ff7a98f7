"""The code stays typed and linted: ruff and mypy --strict over connector/ (STYLE.md, Habits)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    r = _run("ruff", "check", "connector", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict_is_clean():
    r = _run("mypy", "--strict", "--explicit-package-bases", "--cache-dir", str(ROOT / ".mypy_cache"), "connector")
    assert r.returncode == 0, r.stdout + r.stderr
