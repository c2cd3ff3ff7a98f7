"""A test run writes nothing outside its sandbox: not in the user's HOME, not in $TMPDIR.

A nested pytest runs representative tests (CLI check and auth with the default token store,
a CLI INSERT whose per-row report defaults to $TMPDIR/zohocrm-reports, migrations from the
CLI and the Python API) with HOME and TMPDIR pointed at folders this test owns and watches.
``tests/conftest.py`` must move all of it into its own sandbox and remove that at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: one test per place a default could land outside the sandbox (the rest of those files add CPU, not places)
REPRESENTATIVE = [
    "tests/test_check_cli.py::test_check_proves_a_good_connection",
    "tests/test_check_cli.py::test_auth_login_status_logout_as_subprocesses",  # the default token store
    "tests/engine/test_cli.py::test_dml_reports_rows_and_exits_1_when_some_failed",  # $TMPDIR/zohocrm-reports
    "tests/sync/test_cli_and_api.py::test_cli_full_then_incremental_with_a_connection_file",
    "tests/sync/test_cli_and_api.py::test_python_api_is_exported_lazily",
    "tests/sync/test_cli_and_api.py::test_a_second_run_into_the_same_directory_waits_its_turn",  # the lock
    "tests/sync/test_cli_and_api.py::test_source_id_field_lets_a_target_recognise_rows_without_a_natural_key",
]
#: what the sandbox overrides: the nested run must start as a user's shell would, without them
SANDBOX_VARS = ("ZOHOCRM_TEST_SANDBOX", "PYTEST_DEBUG_TEMPROOT", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                "XDG_CACHE_HOME", "XDG_DATA_HOME", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                "PYTEST_CURRENT_TEST", "ZOHOCRM_CONNECTION")


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_tests_write_nothing_in_home_or_tmpdir(tmp_path: Path) -> None:
    home, tmpdir, basetemp = tmp_path / "home", tmp_path / "tmp", tmp_path / "pytest"
    home.mkdir()
    tmpdir.mkdir()
    (home / ".bashrc").write_text("# the user's own file\n")
    env = {k: v for k, v in os.environ.items() if k not in SANDBOX_VARS}
    env.update(HOME=str(home), TMPDIR=str(tmpdir))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                           f"--basetemp={basetemp}", *REPRESENTATIVE], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(REPRESENTATIVE)} passed" in proc.stdout, proc.stdout[-2000:]
    assert listing(home) == [".bashrc"]
    assert listing(tmpdir) == []  # no zohocrm-reports, no token store, no sandbox left behind
