"""A broker over a private emulator, served on 127.0.0.1, with keys for the policy's workspaces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.broker.policy import KeyRegistry
from connector.broker.serve import BrokerServer
from connector.broker.server import Broker
from connector.emulator import Emulator
from tests.http.support import conn, stats

ORG = "665000001"  # the emulator's org id
POLICY = f"""
# what each workspace may do; everything else is denied
[workspaces.analytics]
allowed_org = "{ORG}"
allowed_modules = ["Leads", "Contacts", "Accounts"]
allowed_operations = ["query", "get_record", "list_records", "search_records", "bulk_read", "create_record",
                      "upsert_record"]
confirm_writes = true

[workspaces.loader]
allowed_org = "{ORG}"
allowed_modules = ["Leads"]
allowed_operations = ["query", "create_record", "bulk_write"]
confirm_writes = true

[workspaces.scribe]
allowed_org = "{ORG}"
allowed_modules = ["Leads"]
allowed_operations = ["create_record"]
confirm_writes = true

[workspaces.sealed]
allowed_org = "{ORG}"
allowed_modules = ["*"]
allowed_operations = ["query", "list_records"]
envelope = true

[workspaces.drafts]
allowed_org = "{ORG}"
allowed_modules = ["Leads"]
allowed_operations = ["query", "create_record"]
dry_run = true
confirm_writes = true

[workspaces.thrifty]
allowed_org = "{ORG}"
allowed_modules = ["Leads"]
allowed_operations = ["list_records"]
credits_per_day = 3

[workspaces.elsewhere]
allowed_org = "999000001"
allowed_modules = ["Leads"]
allowed_operations = ["query"]
"""


@dataclass
class Brokered:
    emu: Emulator
    service: Broker
    url: str
    state: Path
    keys: dict[str, dict[str, Any]]

    def connection(self, workspace: str, **props: Any) -> str:
        text = f"Broker={self.url};BrokerKey={self.keys[workspace]['key']}"
        return text + "".join(f";{k}={v}" for k, v in props.items())

    def counters(self) -> tuple[int, int]:
        st = stats(self.emu)
        return int(st["calls_total"]), int(st["credits_used"])


@pytest.fixture
def brokered(make_emulator: Callable[..., Emulator], tmp_path: Path) -> Iterator[Brokered]:
    emu = make_emulator(records=300, seed=44)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    state = tmp_path / "state"
    service = Broker(conn(emu, OAuthSettingsLocation=str(tmp_path / "broker-tokens.sealed")), policy, state,
                     backoff_base=0.01, backoff_cap=0.05)
    registry = KeyRegistry(state)
    keys = {name: registry.issue(ws, service.signer.mldsa_public) for name, ws in service.workspaces.items()}
    server = BrokerServer(service, "127.0.0.1", 0)
    server.start()
    try:
        yield Brokered(emu, service, server.url, state, keys)
    finally:
        server.shutdown()
        server.server_close()
        service.close()
