"""Where OAuth tokens persist between runs: sealed on disk, or in memory.

:class:`~connector.auth.sealed_store.SealedTokenStore` keeps tokens at ``OAuthSettingsLocation`` sealed for the store's
own keys (see :mod:`connector.auth.keys` for where those live and
:mod:`connector.auth.pqc` for the post-quantum backends):

* hybrid KEM: ML-KEM-768 encapsulation plus an ephemeral X25519 exchange, both secrets fed
  to HKDF-SHA-512 with the transcript (label, version, KEM ciphertext, ephemeral X25519
  key, key id) to derive a fresh AES-256-GCM key per write; the header is the AEAD's
  associated data. Either algorithm alone still protects the tokens if the other falls;
* two signatures over header + ciphertext, ML-DSA-65 and HMAC-SHA-512, both evaluated in
  full on every read and combined with a non-short-circuit ``&``: one bad check rejects.

File format, version 1 (big-endian)::

    offset  size   field
    0       8      magic b"ZCRMSEAL"
    8       1      format version (1)
    9       16     key id: SHA-256 of the store's three public keys, first 16 bytes
    25      2      KEM ciphertext length (1088)
    27      2      ephemeral X25519 public key length (32)
    29      1      AES-GCM nonce length (12)
    30      4      body length (JSON plaintext + 16-byte GCM tag)
    34      2      ML-DSA-65 signature length (3309)
    36      1088   ML-KEM-768 ciphertext            } header = AES-GCM associated data
    1124    32     ephemeral X25519 public key      }
    1156    12     nonce                            }
    1168    n+16   AES-256-GCM(JSON of the token dict)
    ...     3309   ML-DSA-65 signature over bytes [0, 1168+n+16), context MLDSA_CONTEXT
    ...     64     HMAC-SHA-512 over the same bytes

The sealed JSON also binds the file to its store (reserved key ``_zohocrm_store``): the store's
absolute path, the OAuth client id, and a generation number that grows with every write and is
recorded beside the key as well (:mod:`connector.auth.generation`). A file copied over another
store that uses the same key ("moved"), a file of another client ("foreign_client"), and an
older copy put back after a later write ("rollback") are refused like damage. A file written
before bindings existed opens once and is sealed again with its binding on the next update.

Every damaged, truncated, foreign, wrong-version or unrelated file raises
:class:`SealedFileError` (an ``AuthError``) naming the problem and the fix; a store never
answers "no tokens" for a file it could not open, so nothing silently re-logs in. How files are
written and locked is in :mod:`connector.auth.sealed_store`. No secret ever goes into an
environment file (.env).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connector.auth.keys import StoreKeys
from connector.auth.pqc import MLDSA65_SIGNATURE_LEN, MLKEM768_CIPHERTEXT_LEN, PQCBackend, select_backend
from connector.errors import AuthError

MAGIC = b"ZCRMSEAL"
FORMAT_VERSION = 1
_FIXED = struct.Struct(">8sB16sHHBIH")
X25519_LEN, NONCE_LEN, GCM_TAG_LEN, HMAC_LEN = 32, 12, 16, 64
MAX_BODY_LEN = 1 << 20  # tokens are ~1 KB; a huge length field is damage, not data
_HKDF_SALT = b"zohocrm-connector/token-store/v1/hkdf"
_LOGIN_HINT = "delete the file and run `zohocrm auth login`"
# Fields that say where and until when, never what: safe to show in a repr.
_VISIBLE_FIELDS = frozenset({"api_domain", "accounts_server", "region", "expires_at", "expires_in",
                             "expiry", "token_type", "scope", "scopes", "data_center", "created_at",
                             "location", "accounts-server", "error"})

Reason = Literal["truncated", "not_a_token_store", "wrong_version", "foreign_key", "tampered", "moved",
                 "foreign_client", "rollback"]


class SealedFileError(AuthError):
    """A sealed token file could not be opened; ``reason`` says why, for code that cares."""

    def __init__(self, reason: Reason, message: str, *, hint: str = _LOGIN_HINT) -> None:
        self.reason = reason
        super().__init__(message, hint=hint)


class TokenSet(dict[str, Any]):
    """A token dict whose repr shows field names, never secret values."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{k!r}: {v!r}" if k in _VISIBLE_FIELDS else f"{k!r}: '***'" for k, v in self.items())
        return f"TokenSet({{{shown}}})"

    __str__ = __repr__


def _derive_aead_key(kem_secret: bytes, x25519_secret: bytes, kem_ct: bytes, eph_pub: bytes,
                     key_id: bytes) -> bytes:
    transcript = b"zohocrm token store aead key\x00" + bytes([FORMAT_VERSION]) + kem_ct + eph_pub + key_id
    return HKDF(algorithm=hashes.SHA512(), length=32, salt=_HKDF_SALT, info=transcript).derive(
        kem_secret + x25519_secret
    )


def _hmac(keys: StoreKeys, signed: bytes) -> bytes:
    return hmac.new(keys.hmac_key, signed, hashlib.sha512).digest()


def seal(plaintext: bytes, keys: StoreKeys, *, backend: PQCBackend | None = None) -> bytes:
    """Encrypt and sign ``plaintext`` for ``keys``; the result is a complete v1 file."""
    pqc = backend or select_backend()
    if len(plaintext) + GCM_TAG_LEN > MAX_BODY_LEN:
        raise AuthError(f"{len(plaintext)} bytes of tokens is too large to seal (limit {MAX_BODY_LEN}).")
    kem_ct, kem_secret = pqc.kem_encaps(keys.mlkem_public)
    ephemeral = X25519PrivateKey.generate()
    eph_pub = ephemeral.public_key().public_bytes_raw()
    x25519_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(keys.x25519_public))
    nonce = os.urandom(NONCE_LEN)
    fixed = _FIXED.pack(MAGIC, FORMAT_VERSION, keys.key_id, len(kem_ct), len(eph_pub), len(nonce),
                        len(plaintext) + GCM_TAG_LEN, MLDSA65_SIGNATURE_LEN)
    header = fixed + kem_ct + eph_pub + nonce
    aead_key = _derive_aead_key(kem_secret, x25519_secret, kem_ct, eph_pub, keys.key_id)
    signed = header + AESGCM(aead_key).encrypt(nonce, plaintext, header)
    return signed + pqc.sig_sign(keys.mldsa_seed, signed) + _hmac(keys, signed)


def _check_structure(blob: bytes, source: str) -> tuple[bytes, int, int]:
    """Validate everything knowable without keys; return ``(key_id, header_len, signed_len)``."""
    size = len(blob)
    if size == 0:
        raise SealedFileError("truncated", f"{source} is empty: an interrupted write, a full disk, or tampering.")
    if not blob.startswith(MAGIC):
        if MAGIC.startswith(blob):
            raise SealedFileError("truncated", f"{source} is truncated to {size} bytes, or was tampered with.")
        raise SealedFileError(
            "not_a_token_store",
            f"{source} is not a zohocrm sealed token store (it does not start with {MAGIC!r}): "
            "another file is at that path, or it was tampered with.",
            hint="check OAuthSettingsLocation, or delete the file and run `zohocrm auth login`",
        )
    if size > len(MAGIC) and blob[len(MAGIC)] != FORMAT_VERSION:
        raise SealedFileError(
            "wrong_version",
            f"{source} uses sealed format version {blob[len(MAGIC)]}; this connector reads version "
            f"{FORMAT_VERSION}. A newer connector wrote it, or it was tampered with.",
            hint="upgrade zohocrm-connector, or delete the file and run `zohocrm auth login`",
        )
    if size < _FIXED.size:
        raise SealedFileError("truncated", f"{source} is truncated to {size} bytes (its header alone is "
                              f"{_FIXED.size}): an interrupted write, a full disk, or tampering.")
    _, _, key_id, kem_len, eph_len, nonce_len, body_len, sig_len = _FIXED.unpack_from(blob)
    expected = {"KEM ciphertext": (kem_len, MLKEM768_CIPHERTEXT_LEN), "X25519 key": (eph_len, X25519_LEN),
                "nonce": (nonce_len, NONCE_LEN), "ML-DSA signature": (sig_len, MLDSA65_SIGNATURE_LEN)}
    for field, (found, wanted) in expected.items():
        if found != wanted:
            raise SealedFileError("tampered", f"{source} has been tampered with or corrupted: its {field} "
                                  f"length is {found}, format version 1 requires {wanted}.")
    if not GCM_TAG_LEN <= body_len <= MAX_BODY_LEN:
        raise SealedFileError("tampered", f"{source} has been tampered with or corrupted: its body length "
                              f"{body_len} is outside {GCM_TAG_LEN}..{MAX_BODY_LEN}.")
    header_len = _FIXED.size + kem_len + eph_len + nonce_len
    signed_len = header_len + body_len
    total = signed_len + sig_len + HMAC_LEN
    if size < total:
        raise SealedFileError("truncated", f"{source} is truncated ({size} of the {total} bytes its header "
                              "declares): an interrupted write, a full disk, or tampering.")
    if size > total:
        raise SealedFileError("tampered", f"{source} has been tampered with or corrupted: {size - total} "
                              f"unexpected bytes follow the {total} its header declares.")
    return key_id, header_len, signed_len


def _verify_mldsa(pqc: PQCBackend, keys: StoreKeys, signed: bytes, signature: bytes) -> bool:
    return bool(pqc.sig_verify(keys.mldsa_public, signed, signature))


def _verify_hmac(keys: StoreKeys, signed: bytes, tag: bytes) -> bool:
    return hmac.compare_digest(_hmac(keys, signed), tag)


def open_sealed(blob: bytes, keys: StoreKeys, *, backend: PQCBackend | None = None,
                source: str = "The sealed token data") -> bytes:
    """Check, verify and decrypt a v1 file; any problem raises :class:`SealedFileError`."""
    pqc = backend or select_backend()
    key_id, header_len, signed_len = _check_structure(blob, source)
    if key_id != keys.key_id:
        raise SealedFileError(
            "foreign_key",
            f"{source} was sealed with a different key (key id {key_id.hex()}, this store's key is "
            f"{keys.key_id_hex}): the key was replaced or belongs to another store, or the header was "
            "tampered with.",
            hint="point OAuthKeyLocation at the key it was sealed with, or delete the file and run "
            "`zohocrm auth login`",
        )
    signed = blob[:signed_len]
    signature = blob[signed_len:signed_len + MLDSA65_SIGNATURE_LEN]
    tag = blob[signed_len + MLDSA65_SIGNATURE_LEN:]
    # Both checks run to completion before either result is looked at, and `&` (not `and`)
    # combines them: neither check can be skipped, and timing does not say which failed.
    mldsa_ok = _verify_mldsa(pqc, keys, signed, signature)
    hmac_ok = _verify_hmac(keys, signed, tag)
    if not (mldsa_ok & hmac_ok):
        verdict = (f"the ML-DSA-65 signature is {'valid' if mldsa_ok else 'INVALID'} and the "
                   f"HMAC-SHA-512 is {'valid' if hmac_ok else 'INVALID'}")
        raise SealedFileError("tampered", f"{source} has been tampered with or corrupted: {verdict}.")
    header = blob[:header_len]
    kem_ct = header[_FIXED.size:_FIXED.size + MLKEM768_CIPHERTEXT_LEN]
    eph_pub = header[_FIXED.size + MLKEM768_CIPHERTEXT_LEN:_FIXED.size + MLKEM768_CIPHERTEXT_LEN + X25519_LEN]
    nonce = header[-NONCE_LEN:]
    try:
        kem_secret = pqc.kem_decaps(keys.mlkem_seed, kem_ct)
        x25519_secret = X25519PrivateKey.from_private_bytes(keys.x25519_private).exchange(
            X25519PublicKey.from_public_bytes(eph_pub))
        aead_key = _derive_aead_key(kem_secret, x25519_secret, kem_ct, eph_pub, key_id)
        return AESGCM(aead_key).decrypt(nonce, blob[header_len:signed_len], header)
    except Exception:  # InvalidTag, or a low-order X25519 point: both mean damage
        raise SealedFileError("tampered", f"{source} has been tampered with or corrupted: both signatures "
                              "verify but it does not decrypt with this key.") from None


class _Plaintext(bytes):
    """Decrypted or about-to-be-sealed token JSON: bytes whose repr never shows them (frame locals)."""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes of sealed token JSON>"

    __str__ = __repr__


# The sealed JSON's reserved key: where the store lives, whose client it serves and its
# generation. Sealed (encrypted and signed) with the tokens, so none of it can be edited.
_BINDING = "_zohocrm_store"


def _encode_tokens(tokens: Mapping[str, Any], binding: Mapping[str, Any] | None = None) -> _Plaintext:
    if not isinstance(tokens, Mapping):
        raise AuthError(f"tokens must be a mapping, not {type(tokens).__name__}")
    try:
        return _Plaintext(json.dumps({**tokens, **({_BINDING: dict(binding)} if binding else {})},
                                     sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise AuthError(f"tokens must be JSON-serializable: {type(exc).__name__}") from None


def _decode_tokens(plaintext: bytes, source: str) -> tuple[TokenSet, dict[str, Any] | None]:
    """The tokens and the store binding (None for a file written before bindings existed)."""
    try:
        tokens = TokenSet(json.loads(plaintext))  # never a plain dict in a local: its repr would show tokens
    except (ValueError, TypeError):
        raise SealedFileError("tampered", f"{source} decrypts, but not to a JSON object of tokens.") from None
    binding = tokens.pop(_BINDING, None)
    if binding is not None and not (isinstance(binding, dict) and isinstance(binding.get("generation"), int)):
        raise SealedFileError("tampered", f"{source} decrypts, but its store binding is malformed.")
    return tokens, binding


UpdateFn = Callable[[TokenSet | None], Mapping[str, Any] | None]


class TokenStore(Protocol):
    """What the OAuth layer needs from a place that keeps tokens."""

    def load(self) -> TokenSet | None: ...
    def save(self, tokens: Mapping[str, Any]) -> None: ...
    def update(self, fn: UpdateFn) -> TokenSet | None: ...
    def delete(self, *, keys: bool = False) -> None: ...


class MemoryTokenStore:
    """The same interface, in process memory, for connections without OAuthSettingsLocation."""

    def __init__(self, tokens: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        # Kept as JSON so callers can't mutate the stored copy and values stay JSON-able.
        self._encoded: bytes | None = None if tokens is None else _encode_tokens(tokens)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(has_tokens={self._encoded is not None})"

    def load(self) -> TokenSet | None:
        with self._lock:
            return None if self._encoded is None else TokenSet(json.loads(self._encoded))

    def save(self, tokens: Mapping[str, Any]) -> None:
        with self._lock:
            self._encoded = _encode_tokens(tokens)

    def update(self, fn: UpdateFn) -> TokenSet | None:
        with self._lock:
            result = fn(self.load())
            self._encoded = None if result is None else _encode_tokens(result)
            return None if result is None else TokenSet(result)

    def delete(self, *, keys: bool = False) -> None:
        with self._lock:
            self._encoded = None


__all__ = ["FORMAT_VERSION", "MAGIC", "MemoryTokenStore", "SealedFileError", "TokenSet", "TokenStore",
           "open_sealed", "seal"]
