"""HybridCryptoEnvelope: an answer sealed for one workspace and signed twice by the broker.

The wire format is specified in ``docs/envelope.md`` (so a client in another language can
implement it); this module is the reference implementation. In short:

* **Confidentiality**: the payload is encrypted with AES-256-GCM under a key derived (HKDF-SHA-512)
  from an ML-KEM-768 encapsulation to the workspace's key *and* an ephemeral X25519 exchange with
  its X25519 key: either algorithm alone still protects the payload if the other falls.
* **Authenticity**: the broker signs the whole envelope with ML-DSA-65 (context
  ``zohocrm-connector/envelope/v1``) and with HMAC-SHA-512 under a key shared at enrolment. The
  client evaluates *both* checks every time and combines them with a non-short-circuit ``&``: a
  failed ML-DSA check never skips the HMAC, nor the reverse, so the time taken and the result do
  not depend on which one failed (:attr:`EnvelopeError.checks` reports both verdicts).
* **Freshness**: a timestamp and a 16-byte random envelope id, both signed; the client refuses an
  envelope older than ``max_age`` (or too far in the future) and one whose id it has seen.

Only after both signatures pass and the envelope is fresh is the payload decrypted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connector.auth.pqc import (
    MLDSA65_SIGNATURE_LEN,
    MLKEM768_CIPHERTEXT_LEN,
    PQCBackend,
    select_backend,
)
from connector.errors import AuthError

MAGIC = b"ZCRMENV1"
VERSION = 1
CONTEXT = b"zohocrm-connector/envelope/v1"
HKDF_SALT = b"zohocrm-connector/envelope/v1/hkdf"
HKDF_INFO = b"zohocrm envelope aead key\x00"
X25519_LEN, GCM_NONCE_LEN, GCM_TAG_LEN, ID_LEN, KEY_ID_LEN, HMAC_LEN, HMAC_KEY_LEN = 32, 12, 16, 16, 16, 64, 64
MAX_BODY_LEN = 256 * 1024 * 1024
# magic, version, workspace key id, broker key id, timestamp (ms), envelope id, body length
_FIXED = struct.Struct(">8sB16s16sQ16sI")
HEADER_LEN = _FIXED.size + MLKEM768_CIPHERTEXT_LEN + X25519_LEN + GCM_NONCE_LEN


def key_id(*public_parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(public_parts)).digest()[:KEY_ID_LEN]


class EnvelopeError(AuthError):
    """An envelope was refused: ``reason`` names why; ``checks`` holds both signature verdicts when
    they were evaluated (``{"ml_dsa": bool, "hmac": bool}``)."""

    def __init__(self, reason: str, message: str, *, checks: dict[str, bool] | None = None) -> None:
        self.reason = reason
        self.checks = checks or {}
        super().__init__(message, hint="the answer was not trusted and nothing of it was used; if it repeats, "
                                       "check the workspace's keys and that nothing rewrites traffic to the broker")


@dataclass(frozen=True, repr=False)
class WorkspaceKeys:
    """A workspace's secret side: ML-KEM-768 seed, X25519 private key, and the enrolment HMAC key."""

    mlkem_seed: bytes
    x25519_private: bytes
    hmac_key: bytes
    mlkem_public: bytes = b""
    x25519_public: bytes = b""

    @classmethod
    def generate(cls, backend: PQCBackend | None = None) -> WorkspaceKeys:
        pqc = backend or select_backend()
        seed, public = pqc.kem_keygen()
        x = X25519PrivateKey.generate()
        return cls(seed, x.private_bytes_raw(), os.urandom(HMAC_KEY_LEN), public, x.public_key().public_bytes_raw())

    @classmethod
    def from_secrets(cls, mlkem_seed: bytes, x25519_private: bytes, hmac_key: bytes,
                     backend: PQCBackend | None = None) -> WorkspaceKeys:
        pqc = backend or select_backend()
        x_pub = X25519PrivateKey.from_private_bytes(x25519_private).public_key().public_bytes_raw()
        return cls(mlkem_seed, x25519_private, hmac_key, pqc.kem_public_key(mlkem_seed), x_pub)

    @property
    def key_id(self) -> bytes:
        return key_id(self.mlkem_public, self.x25519_public)

    def __repr__(self) -> str:
        return f"WorkspaceKeys(key_id={self.key_id.hex()}, secrets='***')"


@dataclass(frozen=True, repr=False)
class BrokerSigningKey:
    """The broker's ML-DSA-65 key (its seed) and public key."""

    mldsa_seed: bytes
    mldsa_public: bytes

    @classmethod
    def generate(cls, backend: PQCBackend | None = None) -> BrokerSigningKey:
        seed, public = (backend or select_backend()).sig_keygen()
        return cls(seed, public)

    @property
    def key_id(self) -> bytes:
        return key_id(self.mldsa_public)

    def __repr__(self) -> str:
        return f"BrokerSigningKey(key_id={self.key_id.hex()}, seed='***')"


def _aead_key(kem_secret: bytes, x25519_secret: bytes, header: bytes) -> bytes:
    # The whole header (both key ids, time, id, KEM ciphertext, ephemeral key, nonce) is the
    # transcript: a key derived for one envelope never opens another.
    return HKDF(algorithm=hashes.SHA512(), length=32, salt=HKDF_SALT, info=HKDF_INFO + header).derive(
        kem_secret + x25519_secret)


def seal_envelope(payload: bytes, *, mlkem_public: bytes, x25519_public: bytes, hmac_key: bytes,
                  signer: BrokerSigningKey, now_ms: int | None = None, backend: PQCBackend | None = None) -> bytes:
    """Encrypt ``payload`` to a workspace's public keys and sign it; returns the envelope bytes."""
    pqc = backend or select_backend()
    if len(payload) + GCM_TAG_LEN > MAX_BODY_LEN:
        raise AuthError(f"an answer of {len(payload)} bytes is too large for one envelope (limit {MAX_BODY_LEN})")
    kem_ct, kem_secret = pqc.kem_encaps(mlkem_public)
    ephemeral = X25519PrivateKey.generate()
    eph_pub = ephemeral.public_key().public_bytes_raw()
    x_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(x25519_public))
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    nonce = os.urandom(GCM_NONCE_LEN)
    fixed = _FIXED.pack(MAGIC, VERSION, key_id(mlkem_public, x25519_public), signer.key_id, stamp,
                        os.urandom(ID_LEN), len(payload) + GCM_TAG_LEN)
    header = fixed + kem_ct + eph_pub + nonce
    signed = header + AESGCM(_aead_key(kem_secret, x_secret, header)).encrypt(nonce, payload, header)
    return signed + pqc.sig_sign(signer.mldsa_seed, signed, CONTEXT) + \
        hmac.new(hmac_key, signed, hashlib.sha512).digest()


@dataclass
class ReplayGuard:
    """Envelope ids seen within ``max_age_s``; older envelopes are refused outright, so it stays small."""

    max_age_s: float = 300.0
    max_skew_s: float = 60.0
    _seen: dict[bytes, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, envelope_id: bytes, stamp_ms: int, now: float) -> None:
        age = now - stamp_ms / 1000
        if age > self.max_age_s:
            raise EnvelopeError("stale", f"the envelope is {age:.0f} s old; answers older than "
                                         f"{self.max_age_s:g} s are refused (a replay, or a clock far off)")
        if age < -self.max_skew_s:
            raise EnvelopeError("future", f"the envelope is dated {-age:.0f} s in the future; more than "
                                          f"{self.max_skew_s:g} s is refused (check both clocks)")
        with self._lock:
            for old in [k for k, t in self._seen.items() if now - t > self.max_age_s + self.max_skew_s]:
                del self._seen[old]
            if envelope_id in self._seen:
                raise EnvelopeError("replayed", "this envelope was already received once: a replayed answer")
            self._seen[envelope_id] = stamp_ms / 1000


@dataclass(frozen=True)
class _Parts:
    workspace_id: bytes
    broker_id: bytes
    stamp_ms: int
    envelope_id: bytes
    header: bytes
    kem_ct: bytes
    eph_pub: bytes
    nonce: bytes
    signed: bytes
    signature: bytes
    tag: bytes


def _parse(blob: bytes) -> _Parts:
    if len(blob) < _FIXED.size or not blob.startswith(MAGIC):
        raise EnvelopeError("malformed", "not a HybridCryptoEnvelope (bad magic or too short)")
    _, version, ws_id, broker_id, stamp, env_id, body_len = _FIXED.unpack_from(blob)
    if version != VERSION:
        raise EnvelopeError("malformed", f"envelope version {version}; this client reads version {VERSION}")
    total = HEADER_LEN + body_len + MLDSA65_SIGNATURE_LEN + HMAC_LEN
    if not GCM_TAG_LEN <= body_len <= MAX_BODY_LEN or len(blob) != total:
        raise EnvelopeError("malformed", f"the envelope is {len(blob)} bytes, its header declares {total}")
    at = _FIXED.size
    kem_ct = blob[at:at + MLKEM768_CIPHERTEXT_LEN]
    at += MLKEM768_CIPHERTEXT_LEN
    eph_pub, nonce = blob[at:at + X25519_LEN], blob[at + X25519_LEN:HEADER_LEN]
    signed_len = HEADER_LEN + body_len
    return _Parts(ws_id, broker_id, stamp, env_id, blob[:HEADER_LEN], kem_ct, eph_pub, nonce, blob[:signed_len],
                  blob[signed_len:signed_len + MLDSA65_SIGNATURE_LEN], blob[signed_len + MLDSA65_SIGNATURE_LEN:])


def verify_signatures(parts_signed: bytes, signature: bytes, tag: bytes, *, broker_public: bytes,
                      hmac_key: bytes, backend: PQCBackend) -> dict[str, bool]:
    """Both verdicts, each evaluated in full whatever the other says."""
    mldsa_ok = bool(backend.sig_verify(broker_public, parts_signed, signature, CONTEXT))
    hmac_ok = hmac.compare_digest(hmac.new(hmac_key, parts_signed, hashlib.sha512).digest(), tag)
    return {"ml_dsa": mldsa_ok, "hmac": hmac_ok}


def open_envelope(blob: bytes, *, keys: WorkspaceKeys, broker_public: bytes, replay: ReplayGuard,
                  now: float | None = None, backend: PQCBackend | None = None) -> bytes:
    """Verify (both signatures, non-short-circuit), check freshness and replay, then decrypt."""
    pqc = backend or select_backend()
    parts = _parse(blob)
    if not hmac.compare_digest(parts.workspace_id, keys.key_id):
        raise EnvelopeError("wrong_key", f"the envelope was sealed for workspace key {parts.workspace_id.hex()}, "
                                         f"not this workspace's ({keys.key_id.hex()})")
    if not hmac.compare_digest(parts.broker_id, key_id(broker_public)):
        raise EnvelopeError("wrong_signer", "the envelope names another broker signing key than the one enrolled")
    checks = verify_signatures(parts.signed, parts.signature, parts.tag, broker_public=broker_public,
                               hmac_key=keys.hmac_key, backend=pqc)
    if not (checks["ml_dsa"] & checks["hmac"]):
        failed = " and ".join(label for name, label in (("ml_dsa", "ML-DSA-65"), ("hmac", "HMAC-SHA-512"))
                              if not checks[name])
        raise EnvelopeError("bad_signature", f"the {failed} signature of the envelope does not verify: it was "
                                             "altered, or not made by the enrolled broker", checks=checks)
    replay.check(parts.envelope_id, parts.stamp_ms, time.time() if now is None else now)
    kem_secret = pqc.kem_decaps(keys.mlkem_seed, parts.kem_ct)
    x_secret = X25519PrivateKey.from_private_bytes(keys.x25519_private).exchange(
        X25519PublicKey.from_public_bytes(parts.eph_pub))
    try:
        return AESGCM(_aead_key(kem_secret, x_secret, parts.header)).decrypt(
            parts.nonce, blob[HEADER_LEN:len(parts.signed)], parts.header)
    except InvalidTag:
        raise EnvelopeError("undecryptable", "the envelope's payload does not decrypt with this workspace's keys",
                            checks=checks) from None
