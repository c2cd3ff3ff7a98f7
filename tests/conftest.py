"""Shared fixtures: a real emulator over loopback HTTP, and a plain-requests client for it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, settings

from connector.emulator import Emulator

# Tokens and keys the connector persists by default (~/.config/zohocrm) go to a throwaway
# directory for the test run, so tests never touch the developer's own store.
if "ZOHOCRM_TEST_KEEP_CONFIG" not in os.environ:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="zohocrm-test-config-")

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
        return self.http.request(method, f"{self.emu.origin}/__emulator/{path}", timeout=120, **kw)

    def export(self, module: str) -> list[dict[str, Any]]:
        r = self.admin("GET", f"export/{module}")
        assert r.status_code == 200, r.text
        return list(r.json()["data"])


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
