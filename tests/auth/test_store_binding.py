"""The sealed store is bound to its location and client, and an older copy put back is refused.

Issue 11, item 3: a store copied over another store sealed with the same key was accepted, and an
old copy put back after a refresh (replay) was accepted and its stale token sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import connector.auth.token_store as ts
from connector.auth.keys import token_path_digest
from connector.auth.manager import TokenManager
from connector.auth.oauth import ZohoOAuth
from connector.auth.sealed_store import SealedTokenStore
from connector.auth.token_store import SealedFileError
from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.errors import AuthError
from tests.http.support import conn, stats

TOKENS: dict[str, Any] = {"access_token": "1000.access-bind-5d1e0a", "refresh_token": "1000.refresh-bind-9c3b71",
                          "expires_at": 1_900_000_000, "client_id": "1000.CLIENTA"}


def store(tmp_path: Path, name: str = "a", *, client_id: str | None = None) -> SealedTokenStore:
    """Stores in separate folders that share one key file (an explicit OAuthKeyLocation)."""
    return SealedTokenStore(tmp_path / name / "tokens.zseal", tmp_path / "keys" / "shared.key", client_id=client_id)


def record_of(s: SealedTokenStore) -> Path:
    """The generation record beside the key: ``<key file>.<digest of the store's path>.generation``."""
    key = Path(s.key_location)
    return key.with_name(f"{key.name}.{token_path_digest(s.path)}.generation")


# -- bound to its location and client ------------------------------------------------------------

def test_a_store_copied_over_another_with_the_same_key_is_refused(tmp_path):
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    a.save(TOKENS)
    b.save({**TOKENS, "access_token": "1000.access-of-b-77aa01"})
    b.path.write_bytes(a.path.read_bytes())  # both sealed with shared.key, so this used to open
    with pytest.raises(SealedFileError) as info:
        b.load()
    err = info.value
    assert isinstance(err, AuthError) and err.reason == "moved"
    assert str(a.path) in str(err) and str(b.path) in str(err) and "zohocrm auth login" in (err.hint or "")
    assert a.load() == TOKENS  # the original is untouched


def test_a_store_holding_another_clients_tokens_is_refused(tmp_path):
    store(tmp_path, client_id="1000.CLIENTA").save(TOKENS)
    assert store(tmp_path, client_id="1000.CLIENTA").load() == TOKENS
    with pytest.raises(SealedFileError) as info:
        store(tmp_path, client_id="1000.CLIENTB").load()
    assert info.value.reason == "foreign_client"
    assert "1000.CLIENTA" in str(info.value) and "1000.CLIENTB" in str(info.value)
    assert "OAuthSettingsLocation" in (info.value.hint or "")


# -- rollback ------------------------------------------------------------------------------------------

def test_an_old_copy_put_back_after_a_write_is_a_rollback(tmp_path):
    s = store(tmp_path)
    s.save(TOKENS)
    old = s.path.read_bytes()
    s.update(lambda current: {**(current or {}), "access_token": "1000.access-newer-31f0c2"})
    s.path.write_bytes(old)
    with pytest.raises(SealedFileError) as info:
        s.load()
    err = info.value
    assert err.reason == "rollback" and isinstance(err, AuthError)
    assert "generation 1" in str(err) and "generation 2" in str(err) and str(record_of(s)) in str(err)
    assert "1000.access" not in str(err) + repr(err)
    with pytest.raises(SealedFileError, match="older copy"):
        s.update(lambda current: current)  # a read-modify-write is refused the same way


def test_the_generation_lives_beside_the_key_and_copying_the_token_folder_cannot_roll_it_back(tmp_path):
    s = store(tmp_path)
    s.save(TOKENS)
    backup = {p.name: p.read_bytes() for p in s.path.parent.iterdir()}  # the whole token folder
    for n in range(3):
        s.update(lambda current, n=n: {**(current or {}), "n": n})
    for name, data in backup.items():
        (s.path.parent / name).write_bytes(data)
    with pytest.raises(SealedFileError, match="generation 1.*generation 4"):
        s.load()
    record = json.loads(record_of(s).read_text())
    assert record["generation"] == 4 and record_of(s).parent == tmp_path / "keys"


def test_a_crash_between_the_file_and_its_record_is_not_a_rollback(tmp_path):
    s = store(tmp_path)
    s.save(TOKENS)
    record_after_first = record_of(s).read_bytes()
    s.save({**TOKENS, "n": 2})
    record_of(s).write_bytes(record_after_first)  # as if the process died before updating the record
    assert s.load() == {**TOKENS, "n": 2}
    assert json.loads(record_of(s).read_text())["generation"] == 2  # caught up on that read


@pytest.mark.parametrize("damage", ["edited", "other_store"])
def test_a_damaged_or_foreign_generation_record_is_reported(tmp_path, damage):
    s, other = store(tmp_path, "a"), store(tmp_path, "b")
    s.save(TOKENS)
    other.save(TOKENS)
    for _ in range(3):
        other.update(lambda current: {**(current or {}), "x": time.time()})
    if damage == "edited":
        data = json.loads(record_of(s).read_text())
        data["generation"] = 0  # lowering the record would let an old copy back in
        record_of(s).write_text(json.dumps(data))
    else:
        record_of(s).write_bytes(record_of(other).read_bytes())
    with pytest.raises(AuthError, match="generation record .* is damaged"):
        s.load()


def test_a_store_written_before_bindings_opens_then_is_upgraded(tmp_path):
    s = store(tmp_path)
    s.save(TOKENS)  # creates the key
    keys = s._keys.load()
    assert keys is not None
    legacy = ts.seal(ts._encode_tokens(TOKENS), keys)  # an older connector's file: no binding, no record
    s.path.write_bytes(legacy)
    record_of(s).unlink()
    assert s.load() == TOKENS  # first use: no error, nothing lost
    assert s.update(lambda current: current) == TOKENS  # the next update seals it again with its binding
    assert json.loads(record_of(s).read_text())["generation"] == 1
    s.path.write_bytes(legacy)  # and the pre-upgrade copy is now an old copy
    with pytest.raises(SealedFileError, match="no generation number"):
        s.load()


# -- end to end: a replayed store never sends its stale token ------------------------------------------

def test_a_replayed_store_is_refused_and_its_stale_token_never_sent(make_emulator: Callable[..., Emulator],
                                                                    tmp_path: Path):
    emu = make_emulator(records=10)
    text = conn(emu, OAuthSettingsLocation=str(tmp_path / "tokens" / "t.zseal"),
                OAuthKeyLocation=str(tmp_path / "keys" / "t.key"))
    config = parse_connection_string(text)

    def manager() -> TokenManager:
        return TokenManager(config, oauth=ZohoOAuth(config, retry_waits=(0.01,)))

    first = manager().access_token()
    store_file = tmp_path / "tokens" / "t.zseal"
    old_copy = store_file.read_bytes()
    emu.advance_clock(3700)  # the first token is now stale at Zoho
    m = manager()
    m.invalidate(first)  # as after Zoho's INVALID_TOKEN: the manager refreshes and writes generation 2
    second = m.access_token()
    assert second != first
    store_file.write_bytes(old_copy)
    before = stats(emu)
    with pytest.raises(AuthError, match="older copy") as info:
        manager().access_token()
    assert "rollback" in str(info.value) or "replay" in str(info.value)
    after = stats(emu)
    assert after["calls_total"] == before["calls_total"] and after["tokens_minted"] == before["tokens_minted"]


def test_logout_removes_a_rolled_back_store_as_its_error_suggests(make_emulator: Callable[..., Emulator],
                                                                  tmp_path: Path):
    emu = make_emulator(records=10)
    config = parse_connection_string(conn(emu, OAuthSettingsLocation=str(tmp_path / "tokens" / "t.zseal"),
                                          OAuthKeyLocation=str(tmp_path / "keys" / "t.key")))
    m = TokenManager(config)
    m.access_token()
    store_file = tmp_path / "tokens" / "t.zseal"
    old = store_file.read_bytes()
    m.store.update(lambda current: {**(current or {}), "note": "newer"})
    store_file.write_bytes(old)
    assert TokenManager(config).logout() is False  # nothing trustworthy to revoke; the file goes
    assert not store_file.exists()
