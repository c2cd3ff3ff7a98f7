"""Shared fixtures: a real emulator over loopback HTTP, and a plain-requests client for it.

Before anything else it moves the whole run into a throwaway sandbox (see ``_sandbox``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SANDBOX_ENV = "ZOHOCRM_TEST_SANDBOX"


def _sandbox() -> None:
    """HOME, the XDG folders and TMPDIR of the whole test run point into one temporary folder.

    What the connector keeps by default (token store and keys under ~/.config/zohocrm, sync
    state under ~/.zohocrm, write reports under $TMPDIR/zohocrm-reports) must never land in the
    developer's own home or /tmp. Set here, at import, before any test module imports the
    connector; subprocesses and xdist workers inherit it (a worker sees the sandbox already set
    and keeps it). The process that made it removes it at exit. pytest's own tmp_path folders
    stay where pytest puts them (PYTEST_DEBUG_TEMPROOT), so a failed test's files can be read.
    """
    root = os.environ.get(SANDBOX_ENV, "")
    if root and os.environ.get("HOME") == os.path.join(root, "home"):
        return  # a worker or a child of a run that is already sandboxed
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    root = tempfile.mkdtemp(prefix="zohocrm-test-sandbox-")
    home = Path(root) / "home"
    folders = {"HOME": home, "XDG_CONFIG_HOME": home / ".config", "XDG_STATE_HOME": home / ".local" / "state",
               "XDG_CACHE_HOME": home / ".cache", "XDG_DATA_HOME": home / ".local" / "share",
               "TMPDIR": Path(root) / "tmp"}
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(folder)
    os.environ[SANDBOX_ENV] = root
    tempfile.tempdir = str(folders["TMPDIR"])  # gettempdir() may have cached the real one already
    atexit.register(shutil.rmtree, root, ignore_errors=True)


def _compile_package() -> None:
    """Byte-compile the connector once, in the process that starts the run.

    The suite starts some 450 processes that import the connector (the CLI, emulators, xdist
    workers). In a fresh clone the package has no ``__pycache__``, and where
    PYTHONDONTWRITEBYTECODE is set (it is on the machine this suite is timed on) no process writes
    one, so each of them compiled the modules it imports again: about 0.4 s of CPU per process,
    a minute or more of the run on two cores. ``compileall`` writes the bytecode whatever that variable says (0.5 s once);
    a source edited later is compiled afresh by its timestamp, as always.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("connector")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=2)


_sandbox()
if os.environ.get("PYTEST_XDIST_WORKER") is None:
    _compile_package()

from collections.abc import Callable, Iterator  # noqa: E402  (after the sandbox is in place)
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from connector.emulator import Emulator, fastjson  # noqa: E402


@pytest.fixture(autouse=True)
def _nothing_left_private() -> Iterator[None]:
    """A target, id map or report a test opens is closed by the test's end. One left open keeps the process
    umask private (``connector.localfs.private_umask``) for every later test on the worker, and a test that
    sets the umask itself then finds its own setting ignored (seen as a rare failure of test_localfs.py)."""
    from connector import localfs

    before = localfs._umask_depth
    yield
    assert localfs._umask_depth <= before, "this test left a target, id map or report open: close it"


settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class ZohoClient:
    """A deliberately naive client written from Zoho's docs: requests + the Zoho-oauthtoken header."""

    def __init__(self, emu: Emulator, refresh_token: str | None = None, version: str = "v8") -> None:
        self.emu = emu
        self.base = f"{emu.api_domain}/crm/{version}"
        self.bulk = f"{emu.api_domain}/crm/bulk/{version}"
        self.http = requests.Session()
        self.refresh_token = refresh_token or emu.refresh_token
        self.token = self.mint()

    def mint(self) -> str:
        r = self.http.post(f"{self.emu.accounts_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": self.emu.client_id,
            "client_secret": self.emu.client_secret, "refresh_token": self.refresh_token})
        body = r.json()
        assert "access_token" in body, body
        return str(body["access_token"])

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Zoho-oauthtoken {self.token}"}
        h.update(extra or {})
        return h

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, base: str | None = None,
                **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{base or self.base}{path}"
        return self.http.request(method, url, headers=self.headers(headers), timeout=60, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.emu.admin_headers(), **kw.pop("headers", {})}
        return self.http.request(method, f"{self.emu.origin}/__emulator/{path}", headers=headers, timeout=120, **kw)

    def export(self, module: str) -> list[dict[str, Any]]:
        r = self.admin("GET", f"export/{module}")
        assert r.status_code == 200, r.text
        return list(fastjson.loads(r.content)["data"])  # 5 MB for a few thousand records: orjson reads it


def org_fixture(doc: str, scope: str = "module", **settings: Any) -> Any:
    """A fixture holding one emulator started with ``settings`` for its scope (a test module by default).

    Assign it to the fixture's name in the test module: ``org = org_fixture("why private", seed=11)``.
    """

    def org() -> Iterator[Emulator]:
        with Emulator(**settings) as emu:
            yield emu

    org.__doc__ = doc
    return pytest.fixture(scope=scope)(org)


def client_fixture(org: str, scope: str = "module") -> Any:
    """A fixture holding a :class:`ZohoClient` on the emulator of the fixture named ``org``."""

    def client(request: pytest.FixtureRequest) -> ZohoClient:
        return ZohoClient(request.getfixturevalue(org))

    client.__doc__ = f"A plain-requests client on ``{org}``."
    return pytest.fixture(scope=scope)(client)


#: seconds each scheduling unit took in a recorded run (``--unit-seconds``), for the scheduler's order
UNIT_SECONDS = Path(__file__).with_name("unit_seconds.json")
#: a unit the record does not know yet: about the suite's mean per test
UNKNOWN_TEST_SECONDS = 0.45


def scheduling_unit(nodeid: str) -> str:
    """The test file, or ``tests/spark/`` for every Spark test (one worker, one JVM)."""
    path = nodeid.split("::", 1)[0]
    return "tests/spark/" if path.startswith("tests/spark/") else path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--unit-seconds", metavar="PATH", default=None,
                     help="write the seconds each scheduling unit (test file; tests/spark/ as one) took to PATH "
                          "(JSON); tests/unit_seconds.json orders the units under -n, longest first")


_unit_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _unit_seconds[scheduling_unit(report.nodeid)] = _unit_seconds.get(scheduling_unit(report.nodeid), 0.0) \
        + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = session.config.getoption("--unit-seconds", None)
    if out and _unit_seconds and not hasattr(session.config, "workerinput"):  # the controller has every report
        Path(out).write_text(json.dumps({u: round(s, 1) for u, s in sorted(_unit_seconds.items())}, indent=0)
                             + "\n", encoding="utf-8")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with the Spark tests as one unit, and the longest units handed out first.

    Each worker that draws a Spark test file starts a Spark session of its own (the JVM, its Python
    workers, the JIT warming the same paths again: ~10 s of CPU each); spread by file over three
    workers, that was three of them. The Spark files together are about 100 s on one worker.

    xdist hands out units by their number of tests, so a file of two long tests (a whole-org round
    trip, ~55 s) went last and one worker ran it while the others had nothing left. Units go out
    longest first instead, by the seconds a recorded run measured (``tests/unit_seconds.json``,
    written by ``--unit-seconds``; a unit it does not know counts its tests at the suite's mean): the
    workers then end within seconds of each other. A stale record only costs balance, never a test.
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    try:
        recorded: dict[str, float] = json.loads(UNIT_SECONDS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}

    class LongestFirst(LoadFileScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return scheduling_unit(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the work queue is complete before the first unit goes out
                self.ordered = True
                units = sorted(self.workqueue.items(),
                               key=lambda kv: -recorded.get(kv[0], UNKNOWN_TEST_SECONDS * len(kv[1])))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


emulator = org_fixture("One shared org for read-only tests (2,000 records, seed 42). Do not write to it.",
                       "session", records=2_000, seed=42)
zoho = client_fixture("emulator", "session")


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Factory for a private emulator (use for writes, faults, clock moves); stopped after the test."""
    started: list[Emulator] = []

    def make(**kw: Any) -> Emulator:
        kw.setdefault("records", 500)
        emu = Emulator(**kw).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def private(make_emulator: Callable[..., Emulator]) -> ZohoClient:
    """A client on a private 500-record emulator that the test may change at will."""
    return ZohoClient(make_emulator())


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started (``zohocrm emulator`` ...); any still alive at the end are killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate()

