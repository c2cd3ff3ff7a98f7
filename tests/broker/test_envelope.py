"""HybridCryptoEnvelope: tampering of any part is refused, and both signatures are always checked."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.auth import envelope as env
from connector.auth.envelope import (
    HEADER_LEN,
    HMAC_LEN,
    BrokerSigningKey,
    EnvelopeError,
    ReplayGuard,
    WorkspaceKeys,
    open_envelope,
    seal_envelope,
)
from connector.auth.pqc import MLDSA65_SIGNATURE_LEN, MLDSA_CONTEXT, select_backend

NOW = 1_780_000_000.0
PAYLOAD = b'{"data": [{"id": "5843104000000425001", "Last_Name": "Ng"}]}'


@pytest.fixture(scope="module")
def keys() -> WorkspaceKeys:
    return WorkspaceKeys.generate()


@pytest.fixture(scope="module")
def broker() -> BrokerSigningKey:
    return BrokerSigningKey.generate()


def seal(keys: WorkspaceKeys, broker: BrokerSigningKey, payload: bytes = PAYLOAD, at: float = NOW,
         hmac_key: bytes | None = None) -> bytes:
    return seal_envelope(payload, mlkem_public=keys.mlkem_public, x25519_public=keys.x25519_public,
                         hmac_key=hmac_key or keys.hmac_key, signer=broker, now_ms=int(at * 1000))


def open_(blob: bytes, keys: WorkspaceKeys, broker: BrokerSigningKey, guard: ReplayGuard | None = None,
          now: float = NOW + 1) -> bytes:
    return open_envelope(blob, keys=keys, broker_public=broker.mldsa_public, replay=guard or ReplayGuard(), now=now)


def flip(blob: bytes, at: int, bit: int = 0) -> bytes:
    b = bytearray(blob)
    b[at] ^= 1 << bit
    return bytes(b)


def body_end(blob: bytes) -> int:
    return len(blob) - MLDSA65_SIGNATURE_LEN - HMAC_LEN


def test_a_sealed_answer_opens_for_its_workspace(keys: WorkspaceKeys, broker: BrokerSigningKey) -> None:
    blob = seal(keys, broker)
    assert PAYLOAD not in blob
    assert open_(blob, keys, broker) == PAYLOAD
    assert "***" in repr(keys) and keys.hmac_key.hex() not in repr(keys)


# where, in an envelope, one flipped bit lands -> the reason it is refused and the two verdicts
WHERE: dict[str, tuple[Any, str, dict[str, bool] | None]] = {
    "ciphertext": (lambda b: HEADER_LEN + 3, "bad_signature", {"ml_dsa": False, "hmac": False}),
    "kem ciphertext": (lambda b: struct.calcsize(">8sB16s16sQ16sI") + 100, "bad_signature",
                       {"ml_dsa": False, "hmac": False}),
    "timestamp": (lambda b: 41 + 7, "bad_signature", {"ml_dsa": False, "hmac": False}),
    "ml-dsa signature": (lambda b: body_end(b) + 10, "bad_signature", {"ml_dsa": False, "hmac": True}),
    "hmac signature": (lambda b: len(b) - 1, "bad_signature", {"ml_dsa": True, "hmac": False}),
    "workspace key id": (lambda b: 9, "wrong_key", None),
    "magic": (lambda b: 0, "malformed", None),
}


@pytest.mark.parametrize("where", list(WHERE))
def test_one_flipped_bit_anywhere_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey, where: str) -> None:
    offset, reason, checks = WHERE[where]
    blob = seal(keys, broker)
    with pytest.raises(EnvelopeError) as info:
        open_(flip(blob, offset(blob)), keys, broker)
    assert info.value.reason == reason
    if checks is not None:
        # Both verdicts are known: the second check ran even though the first had failed.
        assert info.value.checks == checks


def test_both_signatures_are_always_evaluated(keys: WorkspaceKeys, broker: BrokerSigningKey,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the real checks as they run: a failed ML-DSA check does not skip the HMAC, nor the reverse."""
    backend = select_backend()
    calls: list[str] = []
    real_verify, real_compare = backend.sig_verify, env.hmac.compare_digest

    def counted_verify(*args: Any, **kw: Any) -> bool:
        calls.append("ml_dsa")
        return real_verify(*args, **kw)

    def counted_compare(a: Any, b: Any) -> bool:
        if len(a) == HMAC_LEN:
            calls.append("hmac")
        return real_compare(a, b)

    monkeypatch.setattr(backend, "sig_verify", counted_verify)
    monkeypatch.setattr(env.hmac, "compare_digest", counted_compare)
    blob = seal(keys, broker)
    for tampered in (flip(blob, body_end(blob) + 5), flip(blob, len(blob) - 3), flip(blob, HEADER_LEN), blob):
        calls.clear()
        try:
            open_(tampered, keys, broker)
        except EnvelopeError:
            pass
        assert sorted(calls) == ["hmac", "ml_dsa"]


def test_a_replayed_envelope_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey) -> None:
    guard = ReplayGuard()
    blob = seal(keys, broker)
    assert open_(blob, keys, broker, guard) == PAYLOAD
    with pytest.raises(EnvelopeError) as info:
        open_(blob, keys, broker, guard, now=NOW + 2)
    assert info.value.reason == "replayed"
    assert open_(seal(keys, broker), keys, broker, guard) == PAYLOAD  # a fresh one still opens


@pytest.mark.parametrize(("age", "reason"), [(301.0, "stale"), (-61.0, "future")])
def test_an_old_or_future_envelope_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey, age: float,
                                              reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        open_(seal(keys, broker, at=NOW - age), keys, broker, now=NOW)
    assert info.value.reason == reason


def test_a_wrong_workspace_key_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey) -> None:
    other = WorkspaceKeys.generate()
    blob = seal(keys, broker)
    with pytest.raises(EnvelopeError) as info:
        open_(blob, other, broker)
    assert info.value.reason == "wrong_key"
    # The same KEM keys but another enrolment's HMAC key: the HMAC check fails, ML-DSA passes.
    twin = WorkspaceKeys(keys.mlkem_seed, keys.x25519_private, other.hmac_key, keys.mlkem_public, keys.x25519_public)
    with pytest.raises(EnvelopeError) as info:
        open_(blob, twin, broker)
    assert info.value.checks == {"ml_dsa": True, "hmac": False}


def test_another_brokers_signature_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey) -> None:
    impostor = BrokerSigningKey.generate()
    with pytest.raises(EnvelopeError) as info:
        open_(seal(keys, impostor), keys, broker)
    assert info.value.reason == "wrong_signer"


def test_a_token_store_signature_does_not_verify_as_an_envelope(broker: BrokerSigningKey) -> None:
    backend = select_backend()
    message = b"same bytes"
    store_sig = backend.sig_sign(broker.mldsa_seed, message, MLDSA_CONTEXT)
    assert not backend.sig_verify(broker.mldsa_public, message, store_sig, env.CONTEXT)  # domain separated


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_single_bit_flip_is_refused(keys: WorkspaceKeys, broker: BrokerSigningKey, data: st.DataObject) -> None:
    blob = seal(keys, broker, payload=b"x" * 40)
    at = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    with pytest.raises(EnvelopeError):
        open_(flip(blob, at, bit), keys, broker)
