"""``--dev-credentials``: the fixed, published client of connection_strings/emulator.txt, on loopback only."""

from __future__ import annotations

import pytest
import requests

from connector.emulator import Emulator
from connector.emulator.tokens import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN


def mint(emu: Emulator, client_id: str, secret: str, refresh: str) -> dict[str, str]:
    return dict(requests.post(f"{emu.accounts_url}/oauth/v2/token", timeout=60, data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": refresh}).json())


def test_dev_credentials_are_announced_and_work():
    with Emulator(records=20, dev_credentials=True) as emu:
        assert (emu.client_id, emu.client_secret, emu.refresh_token) == (
            DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN)
        assert f"OAuthClientId={DEV_CLIENT_ID};" in emu.connection_string
        body = mint(emu, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN)
        r = requests.get(f"{emu.api_domain}/crm/v8/org", timeout=60,
                         headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"})
        assert r.status_code == 200


def test_without_the_flag_the_published_secret_is_refused():
    with Emulator(records=20) as emu:
        assert emu.client_id != DEV_CLIENT_ID
        assert mint(emu, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN) == {"error": "invalid_client"}


def test_a_data_dir_keeps_its_own_client_and_drops_the_dev_one_when_run_without_it(tmp_path):
    with Emulator(records=20, data_dir=str(tmp_path)) as emu:
        own = (emu.client_id, emu.client_secret, emu.refresh_token)
    with Emulator(records=20, data_dir=str(tmp_path), dev_credentials=True) as emu:
        assert emu.client_id == DEV_CLIENT_ID
        assert "access_token" in mint(emu, *own)  # its own client still works
        assert "access_token" in mint(emu, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN)
    with Emulator(records=20, data_dir=str(tmp_path)) as emu:
        assert (emu.client_id, emu.client_secret, emu.refresh_token) == own
        assert mint(emu, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN) == {"error": "invalid_client"}
    with Emulator(records=20, data_dir=str(tmp_path), dev_credentials=True) as emu:
        assert "access_token" in mint(emu, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3"])
def test_dev_credentials_never_leave_loopback(host):
    with pytest.raises(ValueError, match="loopback only"):
        Emulator(records=10, host=host, allow_remote=True, dev_credentials=True).start()
