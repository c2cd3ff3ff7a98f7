"""The sealed token store: round trips, every way a file can be wrong, keys, locking, backends."""

from __future__ import annotations

import base64
import functools
import multiprocessing
import os
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connector.auth.pqc as pqc
import connector.auth.token_store as ts
from connector.auth import MemoryTokenStore, SealedFileError, SealedTokenStore, TokenSet, open_sealed, seal
from connector.auth.keys import KEYRING_SERVICE, StoreKeys, default_key_path
from connector.errors import AuthError

TOKENS: dict[str, Any] = {
    "client_id": "1000.CLIENTIDVALUE", "access_token": "1000.access-SECRET-4f9c2e",
    "refresh_token": "1000.refresh-SECRET-a81d77", "expires_at": 1_900_000_000, "region": "EU",
    "api_domain": "https://www.zohoapis.eu", "accounts_server": "https://accounts.zoho.eu",
    "scopes": ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"],
}
SECRETS = [b"access-SECRET-4f9c2e", b"refresh-SECRET-a81d77", b"CLIENTIDVALUE"]


@functools.cache
def sealed_sample() -> tuple[StoreKeys, bytes]:
    keys = StoreKeys.generate()
    return keys, seal(ts._encode_tokens(TOKENS), keys)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(pqc.BACKEND_ENV_VAR, raising=False)
    pqc.reset_backend_cache()
    yield
    pqc.reset_backend_cache()


def make_store(tmp_path: Path, key_name: str = "store.key") -> SealedTokenStore:
    return SealedTokenStore(tmp_path / "tokens" / "tokens.bin", key_location=tmp_path / "keys" / key_name)


def test_round_trip_and_absent_file(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.load() is None
    store.save(TOKENS)
    loaded = store.load()
    assert isinstance(loaded, TokenSet) and loaded == TOKENS


def test_files_hold_no_plaintext(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.save(TOKENS)
    blob, key_blob = store.path.read_bytes(), (tmp_path / "keys" / "store.key").read_bytes()
    for secret in SECRETS + [b"zohoapis", b"ZohoCRM"]:
        assert secret not in blob and secret not in key_blob
    keys = StoreKeys.from_bytes(key_blob)
    for secret_key in (keys.mlkem_seed, keys.x25519_private, keys.mldsa_seed, keys.hmac_key):
        assert secret_key not in blob


# Offsets inside each field of the v1 layout: magic, version, key id, the five length
# fields, KEM ciphertext, X25519 key, nonce, body, ML-DSA signature, HMAC.
FIELD_OFFSETS = [0, 7, 8, 9, 24, 25, 27, 29, 30, 33, 34, 36, 1123, 1124, 1156, 1168, -3373 - 1, -3373, -65, -64, -1]


@pytest.mark.parametrize("offset", FIELD_OFFSETS)
def test_flipping_a_byte_in_every_field_is_reported(offset: int) -> None:
    keys, blob = sealed_sample()
    damaged = bytearray(blob)
    damaged[offset] ^= 0x01
    with pytest.raises(SealedFileError, match="(?i)tamper"):
        open_sealed(bytes(damaged), keys)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_byte_is_reported_as_tampering(data: st.DataObject) -> None:
    keys, blob = sealed_sample()
    position = data.draw(st.integers(0, len(blob) - 1), label="position")
    damaged = bytearray(blob)
    damaged[position] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(SealedFileError) as info:
        open_sealed(bytes(damaged), keys)
    assert "tamper" in str(info.value).lower()


def test_truncation_at_every_length_is_reported() -> None:
    keys, blob = sealed_sample()
    for length in range(len(blob)):
        with pytest.raises(SealedFileError) as info:
            open_sealed(blob[:length], keys)
        assert info.value.reason == "truncated", length
        assert isinstance(info.value, AuthError)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "truncated"), (b"ZCRM", "truncated"), (b"not a token store at all", "not_a_token_store"),
     (b'{"access_token": "x"}', "not_a_token_store"), (os.urandom(4096), "not_a_token_store"),
     (b"ZCRMSEAL\x02" + bytes(40), "wrong_version")],
)
def test_empty_garbage_and_wrong_version_files(tmp_path: Path, content: bytes, reason: str) -> None:
    store = make_store(tmp_path)
    store.save(TOKENS)  # a key exists, so only the file's content is at fault
    store.path.write_bytes(content)
    with pytest.raises(SealedFileError) as info:
        store.load()
    assert info.value.reason == reason
    assert "zohocrm auth login" in str(info.value)


def test_file_sealed_for_another_key_is_foreign(tmp_path: Path) -> None:
    mine, theirs = make_store(tmp_path, "mine.key"), make_store(tmp_path / "other", "theirs.key")
    theirs.save(TOKENS)
    mine.save({"access_token": "unrelated"})
    mine.path.write_bytes(theirs.path.read_bytes())
    with pytest.raises(SealedFileError, match="different key") as info:
        mine.load()
    assert info.value.reason == "foreign_key"


def _flip_bit_40(path: Path) -> None:
    path.write_bytes(bytes(byte ^ (index == 40) for index, byte in enumerate(path.read_bytes())))


KEY_DAMAGE = [(Path.unlink, "missing"), (_flip_bit_40, "damaged")] + [
    (functools.partial(os.chmod, mode=mode), "chmod 600") for mode in (0o640, 0o604, 0o660, 0o666)]


@pytest.mark.parametrize(("damage", "expected"), KEY_DAMAGE, ids=["missing", "damaged", "640", "604", "660", "666"])
def test_key_problems_fail_loudly(tmp_path: Path, damage: Any, expected: str) -> None:
    if expected == "chmod 600" and os.name != "posix":
        pytest.skip("POSIX permission bits")
    store = make_store(tmp_path)
    store.save(TOKENS)
    key_file = tmp_path / "keys" / "store.key"
    damage(key_file)
    with pytest.raises(AuthError, match=expected):
        store.load()
    assert key_file.exists() == (expected != "missing")  # reading never mints a replacement key


def _resign(blob: bytes, keys: StoreKeys, *, mldsa_valid: bool, hmac_valid: bool) -> bytes:
    """Change the ciphertext, then make exactly the chosen signatures valid for the change."""
    signed_len = len(blob) - pqc.MLDSA65_SIGNATURE_LEN - ts.HMAC_LEN
    signed = bytearray(blob[:signed_len])
    signed[-1] ^= 0x01
    old_sig, old_mac = blob[signed_len:-ts.HMAC_LEN], blob[-ts.HMAC_LEN:]
    new_sig = pqc.CryptographyBackend().sig_sign(keys.mldsa_seed, bytes(signed)) if mldsa_valid else old_sig
    new_mac = ts._hmac(keys, bytes(signed)) if hmac_valid else old_mac
    return bytes(signed) + new_sig + new_mac


@pytest.mark.parametrize(("mldsa_valid", "hmac_valid"), [(True, False), (False, True)])
def test_one_valid_signature_is_not_enough(mldsa_valid: bool, hmac_valid: bool) -> None:
    keys, blob = sealed_sample()
    forged = _resign(blob, keys, mldsa_valid=mldsa_valid, hmac_valid=hmac_valid)
    with pytest.raises(SealedFileError) as info:
        open_sealed(forged, keys)
    message = str(info.value)
    assert info.value.reason == "tampered"
    assert f"ML-DSA-65 signature is {'valid' if mldsa_valid else 'INVALID'}" in message
    assert f"HMAC-SHA-512 is {'valid' if hmac_valid else 'INVALID'}" in message


def test_both_checks_run_even_when_one_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    keys, blob = sealed_sample()
    calls: list[str] = []

    def spy(name: str, check: Any) -> Any:
        def wrapped(*args: Any) -> bool:
            calls.append(name)
            return bool(check(*args))
        return wrapped

    monkeypatch.setattr(ts, "_verify_mldsa", spy("mldsa", ts._verify_mldsa))
    monkeypatch.setattr(ts, "_verify_hmac", spy("hmac", ts._verify_hmac))
    for forged in (_resign(blob, keys, mldsa_valid=False, hmac_valid=True),
                   _resign(blob, keys, mldsa_valid=True, hmac_valid=False)):
        calls.clear()
        with pytest.raises(SealedFileError):
            open_sealed(forged, keys)
        assert calls == ["mldsa", "hmac"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_modes_of_key_file_token_file_and_created_directories(tmp_path: Path) -> None:
    store = SealedTokenStore(tmp_path / "tokens" / "tokens.bin")  # default key location under XDG
    store.save(TOKENS)
    key_file = default_key_path(store.path)
    assert key_file.parent == tmp_path / "xdg" / "zohocrm" / "keys"
    assert len(key_file.stem) == 16 and key_file.suffix == ".key"
    assert stat.S_IMODE(key_file.stat().st_mode) == stat.S_IMODE(store.path.stat().st_mode) == 0o600
    for directory in (key_file.parent, tmp_path / "xdg" / "zohocrm", tmp_path / "xdg"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_key_beside_the_tokens_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="same directory"):
        SealedTokenStore(tmp_path / "tokens.bin", key_location=tmp_path / "tokens.key")


def _stray_files(store: SealedTokenStore) -> list[str]:  # the lock file may stay; nothing else may
    return [p.name for p in store.path.parent.iterdir() if p.name not in (store.path.name, f"{store.path.name}.lock")]


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store(tmp_path)
    for n in range(5):
        store.save({**TOKENS, "n": n})
    assert _stray_files(store) == []

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(AuthError, match="No space left"):
        patch.setattr(os, "replace", failing_replace)
        store.save({"access_token": "never written"})
    assert store.load() == {**TOKENS, "n": 4}
    assert _stray_files(store) == []


def test_update_semantics(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.update(lambda current: None) is None  # nothing stored, nothing to remove
    assert store.update(_increment) == {"counter": 1}
    before = store.path.stat()
    assert store.update(lambda current: current) == {"counter": 1}
    after = store.path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)  # no rewrite
    assert store.update(lambda current: None) is None
    assert not store.path.exists() and store.load() is None


def test_delete_keeps_the_key_unless_asked(tmp_path: Path) -> None:
    store, key_file = make_store(tmp_path), tmp_path / "keys" / "store.key"
    for delete_keys in (False, True):
        store.save(TOKENS)
        store.delete(keys=delete_keys)
        assert store.load() is None and key_file.exists() != delete_keys


def _increment(tokens: TokenSet | None) -> dict[str, Any]:
    current = dict(tokens or {})
    return {**current, "counter": int(current.get("counter", 0)) + 1}


def _increment_counter(path: str, key_path: str, times: int) -> None:
    store = SealedTokenStore(path, key_location=key_path)
    for _ in range(times):
        store.update(_increment)


def test_concurrent_processes_never_lose_an_update(tmp_path: Path) -> None:
    path, key_path = tmp_path / "tokens" / "tokens.bin", tmp_path / "keys" / "shared.key"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment_counter, args=(str(path), str(key_path), 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        if worker.is_alive():  # a deadlock must fail the test, not hang or leak the process
            worker.kill()
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert SealedTokenStore(path, key_location=key_path).load() == {"counter": 100}


def test_reprs_never_show_secrets(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.save(TOKENS)
    keys, _ = sealed_sample()
    shown = " ".join([repr(store), repr(store.load()), str(store.load()), repr(MemoryTokenStore(TOKENS)),
                      repr(keys), repr(TokenSet(TOKENS))])
    for secret in SECRETS:
        assert secret.decode() not in shown
    assert not any(secret_key.hex() in shown for secret_key in (keys.mlkem_seed, keys.hmac_key))
    assert "https://www.zohoapis.eu" in repr(TokenSet(TOKENS))  # where, not what, stays visible


def test_memory_store_has_the_same_interface() -> None:
    store = MemoryTokenStore()
    assert store.load() is None
    store.save(TOKENS)
    loaded = store.load()
    assert loaded is not None and loaded == TOKENS
    loaded["access_token"] = "mutated"  # callers get copies
    assert store.update(_increment) == {**TOKENS, "counter": 1}
    store.delete(keys=True)
    assert store.load() is None
    with pytest.raises(AuthError, match="JSON"):
        store.save({"bad": object()})


class _OqsFinder:  # notes imports of `oqs`, and dies the way liboqs-python does without liboqs
    attempts = 0

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "oqs":
            self.attempts += 1
            raise SystemExit("Could not load liboqs shared library")


@pytest.mark.parametrize("env_value", [None, "oqs"])
def test_oqs_import_is_opt_in_and_guarded(monkeypatch: pytest.MonkeyPatch, env_value: str | None) -> None:
    finder = _OqsFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "oqs", raising=False)
    if env_value:
        monkeypatch.setenv(pqc.BACKEND_ENV_VAR, env_value)
    assert pqc.select_backend().name == "cryptography"
    assert finder.attempts == (1 if env_value else 0) and "oqs" not in sys.modules


class _OqsObject:
    def __enter__(self) -> Any:  # liboqs objects free native memory on exit
        return self

    __exit__ = lambda self, *exc: None  # noqa: E731


class _FakeKEM(_OqsObject):
    def __init__(self, name: str) -> None:
        assert name == "ML-KEM-768"

    def generate_keypair_seed(self, seed: bytes) -> bytes:
        self._key = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
        return self._key.public_key().public_bytes_raw()

    def encap_secret(self, public_key: bytes) -> tuple[bytes, bytes]:
        secret, ciphertext = mlkem.MLKEM768PublicKey.from_public_bytes(public_key).encapsulate()
        return ciphertext, secret  # liboqs order

    def decap_secret(self, ciphertext: bytes) -> bytes:
        return self._key.decapsulate(ciphertext)


class _FakeSig(_OqsObject):  # like liboqs-python 0.16: no keygen from an ML-DSA seed
    def __init__(self, name: str) -> None:
        assert name == "ML-DSA-65"

    def verify_with_ctx_str(self, message: bytes, signature: bytes, context: bytes, public_key: bytes) -> bool:
        try:
            mldsa.MLDSA65PublicKey.from_public_bytes(public_key).verify(signature, message, context)
        except Exception:
            return False
        return True


def test_oqs_backend_is_selected_when_asked_and_interoperates(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("oqs")
    fake.KeyEncapsulation, fake.Signature = _FakeKEM, _FakeSig  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "oqs", fake)
    monkeypatch.setenv(pqc.BACKEND_ENV_VAR, "oqs")
    oqs_backend, default = pqc.select_backend(), pqc.CryptographyBackend()
    assert oqs_backend.name == "oqs"
    keys, _ = sealed_sample()
    plaintext = b'{"access_token":"x"}'
    assert open_sealed(seal(plaintext, keys, backend=oqs_backend), keys, backend=default) == plaintext
    assert open_sealed(seal(plaintext, keys, backend=default), keys, backend=oqs_backend) == plaintext


def test_unknown_backend_name_is_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pqc.BACKEND_ENV_VAR, "openssl-please")
    with pytest.raises(AuthError, match="not a post-quantum backend"):
        pqc.select_backend()


def test_keyring_requested_but_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # makes `import keyring` raise ImportError
    with pytest.raises(AuthError, match=r"pip install 'zohocrm-connector\[keyring\]'"):
        SealedTokenStore(tmp_path / "tokens.bin", key_location="keyring:").save(TOKENS)


def test_keyring_holds_the_keys_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: vault.get((service, user))  # type: ignore[attr-defined]
    fake.set_password = lambda service, user, value: vault.__setitem__((service, user), value)  # type: ignore[attr-defined]
    fake.delete_password = lambda service, user: vault.pop((service, user))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    store = SealedTokenStore(tmp_path / "tokens.bin", key_location="keyring:")
    store.save(TOKENS)
    assert store.load() == TOKENS
    # Two entries: the keys (a whole key file, base64) and the store's generation record.
    (key_entry,) = [user for service, user in vault if ":generation:" not in user]
    (generation_entry,) = [user for service, user in vault if ":generation:" in user]
    assert {service for service, _ in vault} == {KEYRING_SERVICE}
    StoreKeys.from_bytes(base64.b64decode(vault[KEYRING_SERVICE, key_entry]))
    assert '"generation": 1' in vault[KEYRING_SERVICE, generation_entry]
    store.delete(keys=True)
    assert vault == {}
