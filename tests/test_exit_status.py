"""Exit status by cause: one table, documented in the README, that schedulers can branch on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.auth.oauth import TokenThrottled
from connector.cli import common
from connector.errors import (
    AuthError,
    ConfigError,
    ConversionError,
    FatalApiError,
    FileAccessError,
    InternalError,
    NotSupportedError,
    PermissionDenied,
    PlanningError,
    QuotaExhaustedError,
    RetriableError,
    StateError,
)


@pytest.mark.parametrize(("exc", "status"), [
    (ConfigError("x"), 2),
    (AuthError("x"), 3),
    (PermissionDenied("x"), 4),
    (FatalApiError("x", code="INVALID_MODULE"), 5),
    (ConversionError("x"), 5),
    (InternalError("x"), 5),
    (PlanningError("x"), 6),
    (NotSupportedError("x"), 6),
    (FileAccessError("x"), 7),
    (StateError("x"), 7),
    (RetriableError("x"), 75),
    (QuotaExhaustedError("x"), 75),
    (TokenThrottled("x"), 75),
    (KeyboardInterrupt(), 130),
    (common.Terminated(), 143),
    (ValueError("a bug"), 70),
])
def test_each_cause_has_its_status(exc: BaseException, status: int) -> None:
    assert common.exit_status(exc) == status


def test_the_readme_documents_every_status() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    documented = {int(n) for n in re.findall(r"^\| (\d+) \|", section, re.M)}
    declared = {v for k, v in vars(common).items() if k.startswith("EXIT_")}
    assert documented == declared
