"""Writer tests: private emulators over loopback HTTP, sessions allowed to write."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.session import ZohoSession
from tests.conftest import ZohoClient

WRITE_MODULES = "Leads,Contacts,Accounts,Deals,Tasks,Projects"
ALLOW = f";AllowedOperations=read,insert,update,upsert,delete;AllowedModules={WRITE_MODULES}"


def writable_session(emu: Emulator, extra: str = "", *, allow: str = ALLOW) -> ZohoSession:
    # Short backoff: faults are injected on purpose and the suite must stay fast.
    return ZohoSession(emu.connection_string + allow + extra, backoff_base=0.02, backoff_cap=0.2)


def configure(emu: Emulator, **settings: Any) -> None:
    r = requests.post(f"{emu.origin}/__emulator/config", json=settings, timeout=30)
    assert r.status_code == 200, r.text


def marker() -> str:
    """A value unique to one test, so rows it writes can be told apart in the export."""
    return uuid.uuid4().hex[:10]


def leads(tag: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"Last_Name": f"{tag}-{i}", "Email": f"{tag}.{i}@writers.test", "Company": tag, **extra}
            for i in range(n)]


def exported(z: ZohoClient, module: str, company: str) -> list[dict[str, Any]]:
    return [r for r in z.export(module) if r.get("Company") == company]


WRITE_CALLS = ("insert", "update_many", "update_one", "upsert", "delete_many", "delete_one", "upload_file",
               "create_write_job")


def write_calls(emu: Emulator) -> dict[str, int]:
    calls = emu.stats()["calls"]
    return {k: v for k, v in calls.items() if k in WRITE_CALLS}


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    """One private org per test module; tests write rows tagged with their own marker."""
    with Emulator(records=300, seed=23) as emu:
        yield emu


@pytest.fixture(scope="module")
def session(org: Emulator) -> Iterator[ZohoSession]:
    with writable_session(org) as s:
        yield s


@pytest.fixture(scope="module")
def z(org: Emulator) -> ZohoClient:
    return ZohoClient(org)


@pytest.fixture
def fresh(make_emulator: Callable[..., Emulator]) -> Callable[..., tuple[Emulator, ZohoSession, ZohoClient]]:
    """A private org of its own, for tests that count calls or inject faults."""

    def make(**kw: Any) -> tuple[Emulator, ZohoSession, ZohoClient]:
        kw.setdefault("records", 100)
        emu = make_emulator(**kw)
        return emu, writable_session(emu), ZohoClient(emu)

    return make
