"""Where OAuth tokens persist between runs: sealed on disk, or in memory.

:class:`SealedTokenStore` keeps tokens at ``OAuthSettingsLocation`` sealed for the store's
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
answers "no tokens" for a file it could not open, so nothing silently re-logs in. Writes go
to a temp file in the same directory (0600), are fsynced, and ``os.replace`` the old file,
all under ``filelock.FileLock(path + ".lock")``; reads take the same lock and
:meth:`SealedTokenStore.update` does read-modify-write under one hold, so one process
refreshes a token while the others wait. No secret ever goes into an environment file (.env).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import os
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import filelock
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connector.auth.generation import GenerationRecord
from connector.auth.keys import StoreKeys, make_private_dirs, resolve_key_storage, token_path_digest
from connector.auth.pqc import MLDSA65_SIGNATURE_LEN, MLKEM768_CIPHERTEXT_LEN, PQCBackend, select_backend
from connector.errors import AuthError
from connector.localfs import file_error

MAGIC = b"ZCRMSEAL"
FORMAT_VERSION = 1
_FIXED = struct.Struct(">8sB16sHHBIH")
X25519_LEN, NONCE_LEN, GCM_TAG_LEN, HMAC_LEN = 32, 12, 16, 64
MAX_BODY_LEN = 1 << 20  # tokens are ~1 KB; a huge length field is damage, not data
_HKDF_SALT = b"zohocrm-connector/token-store/v1/hkdf"
_LOGIN_HINT = "delete the file and run `zohocrm auth login`"
# Fields that say where and until when, never what: safe to show in a repr.
_VISIBLE_FIELDS = frozenset({"api_domain", "accounts_server", "region", "expires_at", "expires_in",
                             "expiry", "token_type", "scope", "scopes", "data_center", "created_at"})

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


@dataclass
class _Opened:
    """One read of the store: its tokens, and what its binding and the key side say."""

    tokens: TokenSet
    generation: int  # sealed in the file; 0 for a file from before generations
    recorded: int    # recorded beside the key; 0 when nothing was recorded yet

    @property
    def needs_rewrite(self) -> bool:
        return self.generation == 0  # an older file: seal it again with its binding


class SealedTokenStore:
    """Tokens sealed in one file; see the module docstring for the format and guarantees.

    ``client_id``: the OAuth client this store serves; a file that holds another client's tokens
    is refused (and the client id is sealed into every write).
    """

    def __init__(self, path: str | os.PathLike[str], key_location: str | os.PathLike[str] | None = None,
                 *, lock_timeout: float = 30.0, client_id: str | None = None) -> None:
        self._path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        self._keys = resolve_key_storage(key_location, self._path)
        self._generations = GenerationRecord(self._keys, token_path_digest(self._path))
        self._client_id = client_id or None
        self._lock_timeout = lock_timeout
        self._lock = filelock.FileLock(f"{self._path}.lock", timeout=lock_timeout, mode=0o600)
        self._source = f"The token store {self._path}"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def key_location(self) -> str:
        return self._keys.describe()

    def __repr__(self) -> str:
        return f"SealedTokenStore(path={str(self._path)!r}, key_location={self.key_location!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            make_private_dirs(self._path.parent)
            # filelock retries some failures (a lock file under /proc) until its timeout, then
            # blames "another process": make the lock file ourselves first, so they show as they are.
            os.close(os.open(f"{self._path}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600))
        except OSError as exc:
            raise file_error(exc, self._path, "token store", setting="OAuthSettingsLocation") from None
        try:
            with self._lock:
                yield
        except filelock.Timeout:
            raise AuthError(
                f"Another process has held the lock on {self._path} for over {self._lock_timeout:g}s.",
                hint=f"if no zohocrm process is running, delete {self._path}.lock",
            ) from None
        except OSError as exc:
            raise AuthError(f"Cannot use the token store {self._path}: {exc.strerror or exc}.") from None

    def _open_locked(self) -> _Opened | None:
        try:
            blob = self._path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuthError(f"Cannot read the token store {self._path}: {exc.strerror}.") from None
        keys = self._keys.load()
        if keys is None:
            _check_structure(blob, self._source)  # garbage is reported as garbage, not as "no key"
            raise AuthError(
                f"{self._source} exists but its key ({self.key_location}) is missing, so it cannot be opened.",
                hint="restore the key, or delete the token file and run `zohocrm auth login`",
            )
        tokens, binding = _decode_tokens(_Plaintext(open_sealed(blob, keys, source=self._source)), self._source)
        recorded = self._generations.load(keys)
        generation = int(binding["generation"]) if binding else 0
        if binding is not None:
            self._check_binding(binding, tokens)
        if generation < recorded:
            raise self._rollback(generation, recorded)
        if generation > recorded:  # a crash between the file and its record: catch the record up
            self._generations.store(keys, generation)
        return _Opened(tokens, generation, recorded)

    def _check_binding(self, binding: Mapping[str, Any], tokens: TokenSet) -> None:
        sealed_for = binding.get("path")
        if sealed_for != str(self._path):
            raise SealedFileError(
                "moved",
                f"{self._source} was sealed for the token store at {sealed_for}: it was copied or moved "
                "here from another store, and a store never stands in for another.",
                hint=f"move it back, or delete {self._path} and run `zohocrm auth login`")
        owner = binding.get("client_id") or tokens.get("client_id")
        if self._client_id and owner and owner != self._client_id:
            raise SealedFileError(
                "foreign_client",
                f"{self._source} holds the tokens of OAuth client {owner}, but this connection uses "
                f"OAuthClientId {self._client_id}: the file was copied from another client's store, or two "
                "clients share one OAuthSettingsLocation.",
                hint="give each client its own OAuthSettingsLocation, or delete the file and run "
                     "`zohocrm auth login`")

    def _rollback(self, generation: int, recorded: int) -> SealedFileError:
        found = f"generation {generation}" if generation else "no generation number (an older format)"
        return SealedFileError(
            "rollback",
            f"{self._source} is an older copy of the store: it holds {found}, but generation {recorded} was "
            f"written since (recorded at {self._generations.describe()}). An old copy was put back "
            "(a restore or a replay), so its tokens may be stale or revoked; they are not used.",
            hint=f"restore the latest copy, or delete {self._path} and run `zohocrm auth login`")

    def _write_locked(self, tokens: Mapping[str, Any], opened: _Opened | None) -> None:
        keys = self._keys.load() or self._keys.create()
        recorded = self._generations.load(keys)
        generation = max(recorded, opened.generation if opened else 0) + 1
        binding = {"path": str(self._path), "generation": generation,
                   "client_id": self._client_id or tokens.get("client_id")}
        blob = seal(_encode_tokens(tokens, binding), keys)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp: mode 0600, never world-readable
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_directory(self._path.parent)
        # After the file, never before: a crash in between must not look like a rollback.
        self._generations.store(keys, generation)

    def _open_for_overwrite(self) -> _Opened | None:
        """The current file's generation when it opens; a damaged file is simply replaced."""
        try:
            return self._open_locked()
        except AuthError:  # a login replaces what it cannot open; the recorded generation still counts
            return None

    def load(self) -> TokenSet | None:
        """The stored tokens; ``None`` only when no token file exists."""
        if not self._path.parent.exists():
            return None  # don't create directories just to look
        with self._locked():
            opened = self._open_locked()
            return None if opened is None else opened.tokens

    def save(self, tokens: Mapping[str, Any]) -> None:
        with self._locked():
            self._write_locked(tokens, self._open_for_overwrite())

    def update(self, fn: UpdateFn) -> TokenSet | None:
        """Read, call ``fn``, write, under one lock hold.

        ``fn`` gets a copy of the current tokens (``None`` if there are none) and returns the
        new tokens, the same tokens (nothing is written, unless the file predates store bindings:
        then it is sealed again with one), or ``None`` (the file is removed).
        """
        with self._locked():
            opened = self._open_locked()
            current = opened.tokens if opened else None
            result = fn(copy.deepcopy(current))
            if result is None:
                self._path.unlink(missing_ok=True)
                return None
            if opened is not None and current is not None and dict(result) == dict(current) \
                    and not opened.needs_rewrite:
                return current
            self._write_locked(result, opened)
            return TokenSet(result)

    def delete(self, *, keys: bool = False) -> None:
        """Remove the tokens; with ``keys=True`` also the key (file or keyring entry).

        The generation record stays unless the key goes too: an old copy put back after a
        logout is still recognised as one.
        """
        with self._locked():
            self._path.unlink(missing_ok=True)
            if keys:
                self._generations.delete()
                self._keys.delete()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


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


__all__ = ["FORMAT_VERSION", "MAGIC", "MemoryTokenStore", "SealedFileError", "SealedTokenStore", "TokenSet",
           "TokenStore", "open_sealed", "seal"]
