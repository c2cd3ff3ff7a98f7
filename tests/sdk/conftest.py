"""Zoho's own Python SDK (``zohocrmsdk8-0``, unmodified) pointed at the emulator.

The SDK keeps its state in class attributes (``Initializer``), so one process
holds one initialised SDK: the fixture initialises it once per test process
against one enterprise org. What it needs of us, and nothing more:

* an environment: ``DataCenter.Environment(api url, token url, content url)``,
  all three the emulator's loopback origin (the SDK never resolves a Zoho host:
  ``DataCenter.get`` knows only Zoho's domains, so ours stays in place);
* a token store (:class:`MemoryTokenStore`: the SDK's ``FileStore`` would write
  a CSV of tokens into the working directory);
* ``SDKConfig(update_api_domain=False)`` so the token answer's ``api_domain``
  cannot move it elsewhere, and a ``resource_path`` for the field metadata files
  it caches (a temporary folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from connector.emulator import Emulator


class MemoryTokenStore(TokenStore):  # type: ignore[misc]
    """The SDK's token persistence, in memory: ids handed out in order."""

    def __init__(self) -> None:
        self.tokens: dict[str, Any] = {}

    def find_token(self, token: Any) -> Any:
        return None  # every OAuthToken the test makes is new

    def save_token(self, token: Any) -> None:
        if token.get_id() is None:
            token.set_id(str(len(self.tokens) + 1))
        self.tokens[token.get_id()] = token

    def delete_token(self, id: str) -> None:
        self.tokens.pop(id, None)

    def get_tokens(self) -> list[Any]:
        return list(self.tokens.values())

    def delete_tokens(self) -> None:
        self.tokens.clear()

    def find_token_by_id(self, id: str) -> Any:
        return self.tokens.get(id)


@pytest.fixture(scope="module")
def sdk_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An enterprise org the SDK works on (it writes: private to this module), with the SDK initialised."""
    with Emulator(records=300, seed=23, org="enterprise") as emu:
        environment = DataCenter.Environment(emu.api_domain, f"{emu.accounts_url}/oauth/v2/token", emu.content_url)
        token = OAuthToken(client_id=emu.client_id, client_secret=emu.client_secret,
                           refresh_token=emu.refresh_token, find_user=False)
        resources: Path = tmp_path_factory.mktemp("sdk-resources")
        Initializer.initialize(environment=environment, token=token, store=MemoryTokenStore(),
                               sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False,
                                                    update_api_domain=False, connect_timeout=10, read_timeout=60),
                               resource_path=str(resources))
        yield emu
