"""The token store's private keys: what they are, where they live, how they are guarded.

A store's keys are an ML-KEM-768 seed (64 bytes), an X25519 private key (32), an ML-DSA-65
seed (32) and an HMAC-SHA-512 key (64). They live apart from the sealed token file so that
copying the token file (a backup, a synced folder, a bug report) copies nothing usable:

* a key file, by default ``$XDG_CONFIG_HOME/zohocrm/keys/<sha256(abs token path)[:16]>.key``
  (``~/.config`` when ``XDG_CONFIG_HOME`` is unset), or an explicit path (the
  ``OAuthKeyLocation`` property). Mode 0600, created with 0700 parent directories, and
  refused when group or others have any access, or when it sits in the token file's own
  directory;
* or the OS keyring, with ``key_location="keyring:"`` (or ``"keyring:<name>"``), when the
  optional ``keyring`` package is installed (``pip install 'zohocrm-connector[keyring]'``).

Key file layout (233 bytes): ``b"ZCRMKEYS"``, format version (1 byte, = 1), the four keys in
the order above, then SHA-256 of everything before it (so a damaged key file is reported as
such instead of as "a different key"). The keyring holds the same bytes, base64-encoded.
Secrets are never written to an environment file (``.env`` and the like).
Permission checks are POSIX-only; on Windows the file inherits the profile ACLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from connector.auth.pqc import PQCBackend, select_backend
from connector.errors import AuthError

KEY_FILE_MAGIC = b"ZCRMKEYS"
KEY_FILE_VERSION = 1
_SECRET_LENGTHS = (64, 32, 32, 64)  # ML-KEM seed, X25519, ML-DSA seed, HMAC key
KEY_FILE_LEN = len(KEY_FILE_MAGIC) + 1 + sum(_SECRET_LENGTHS) + 32
KEY_ID_LEN = 16
KEYRING_SERVICE = "zohocrm-connector"
KEYRING_PREFIX = "keyring:"
_KEYRING_HINT = "pip install 'zohocrm-connector[keyring]'"
_POSIX = os.name == "posix"


@dataclass(frozen=True, repr=False)
class StoreKeys:
    """One store's key material plus the public keys derived from it."""

    mlkem_seed: bytes
    x25519_private: bytes
    mldsa_seed: bytes
    hmac_key: bytes
    mlkem_public: bytes
    x25519_public: bytes
    mldsa_public: bytes
    key_id: bytes

    @classmethod
    def from_secrets(
        cls, mlkem_seed: bytes, x25519_private: bytes, mldsa_seed: bytes, hmac_key: bytes,
        backend: PQCBackend | None = None,
    ) -> StoreKeys:
        pqc = backend or select_backend()
        mlkem_public = pqc.kem_public_key(mlkem_seed)
        x25519_public = X25519PrivateKey.from_private_bytes(x25519_private).public_key().public_bytes_raw()
        mldsa_public = pqc.sig_public_key(mldsa_seed)
        # The key id names the public keys only: it identifies which keys sealed a file
        # without saying anything about the secrets.
        key_id = hashlib.sha256(
            b"zohocrm-token-store key-id v1\x00" + mlkem_public + x25519_public + mldsa_public
        ).digest()[:KEY_ID_LEN]
        return cls(mlkem_seed, x25519_private, mldsa_seed, hmac_key,
                   mlkem_public, x25519_public, mldsa_public, key_id)

    @classmethod
    def generate(cls, backend: PQCBackend | None = None) -> StoreKeys:
        pqc = backend or select_backend()
        mlkem_seed, _ = pqc.kem_keygen()
        mldsa_seed, _ = pqc.sig_keygen()
        x25519 = X25519PrivateKey.generate().private_bytes_raw()
        return cls.from_secrets(mlkem_seed, x25519, mldsa_seed, os.urandom(64), pqc)

    def to_bytes(self) -> bytes:
        body = (KEY_FILE_MAGIC + bytes([KEY_FILE_VERSION]) + self.mlkem_seed + self.x25519_private
                + self.mldsa_seed + self.hmac_key)
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "key material") -> StoreKeys:
        if len(data) != KEY_FILE_LEN or not data.startswith(KEY_FILE_MAGIC):
            raise _corrupt(source, f"expected a {KEY_FILE_LEN}-byte zohocrm key file, found {len(data)} bytes")
        if data[len(KEY_FILE_MAGIC)] != KEY_FILE_VERSION:
            raise _corrupt(source, f"key format version {data[len(KEY_FILE_MAGIC)]}, this connector reads 1")
        body, checksum = data[:-32], data[-32:]
        if not hmac.compare_digest(hashlib.sha256(body).digest(), checksum):
            raise _corrupt(source, "its checksum does not match")
        offset, secrets = len(KEY_FILE_MAGIC) + 1, []
        for length in _SECRET_LENGTHS:
            secrets.append(body[offset:offset + length])
            offset += length
        mlkem_seed, x25519_private, mldsa_seed, hmac_key = secrets
        try:
            return cls.from_secrets(mlkem_seed, x25519_private, mldsa_seed, hmac_key)
        except AuthError:
            raise
        except Exception as exc:
            raise _corrupt(source, f"its keys are invalid ({type(exc).__name__})") from None

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    def __repr__(self) -> str:
        return f"StoreKeys(key_id={self.key_id_hex!r})"


def _corrupt(source: str, why: str) -> AuthError:
    return AuthError(
        f"The token store key {source} is damaged: {why}.",
        hint="tokens sealed with it cannot be recovered: delete the key and the token file, "
        "then run `zohocrm auth login`",
    )


def token_path_digest(token_path: str | os.PathLike[str]) -> str:
    absolute = os.path.abspath(os.path.expanduser(os.fspath(token_path)))
    return hashlib.sha256(os.fsencode(absolute)).hexdigest()[:16]


def default_key_path(token_path: str | os.PathLike[str]) -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config_home):  # the XDG spec says to ignore a relative value
        config_home = os.path.join(os.path.expanduser("~"), ".config")
    return Path(config_home) / "zohocrm" / "keys" / f"{token_path_digest(token_path)}.key"


def make_private_dirs(directory: Path) -> None:
    """Create missing directories with mode 0700; leave existing ones as they are."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it first
        if _POSIX:
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


class KeyFile:
    """Keys in a 0600 file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return str(self.path)

    def load(self) -> StoreKeys | None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuthError(f"Cannot read the token store key file {self.path}: {exc.strerror}.") from None
        if not stat.S_ISREG(info.st_mode):
            raise AuthError(f"The token store key file {self.path} is not a regular file.")
        if _POSIX and info.st_mode & 0o077:
            raise AuthError(
                f"The token store key file {self.path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to use it.",
                hint=f"run `chmod 600 {self.path}`, and consider the key compromised if others could read it",
            )
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise AuthError(f"Cannot read the token store key file {self.path}: {exc.strerror}.") from None
        return StoreKeys.from_bytes(data, f"file {self.path}")

    def create(self) -> StoreKeys:
        """Write new keys unless a concurrent creator won; return whichever keys are on disk."""
        try:
            make_private_dirs(self.path.parent)
            self._publish(StoreKeys.generate().to_bytes())
        except OSError as exc:
            raise AuthError(f"Cannot write the token store key file {self.path}: {exc.strerror}.") from None
        existing = self.load()
        if existing is None:
            raise AuthError(f"The token store key file {self.path} vanished while it was being created.")
        return existing

    def _publish(self, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates it 0600
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                # link() never replaces an existing file, so a concurrent creator's key
                # survives and no reader ever sees a half-written key file.
                os.link(tmp, self.path)
            except FileExistsError:
                pass
            except OSError:  # a filesystem without hard links: rename if still absent
                if not self.path.exists():
                    os.replace(tmp, self.path)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def delete(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AuthError(f"Cannot delete the token store key file {self.path}: {exc.strerror}.") from None


class KeyringKeys:
    """Keys in the OS keyring, base64 under service ``zohocrm-connector``."""

    def __init__(self, username: str) -> None:
        self.username = username

    def describe(self) -> str:
        return f"keyring:{self.username} (service {KEYRING_SERVICE})"

    @staticmethod
    def _keyring() -> Any:
        try:
            return importlib.import_module("keyring")
        except ImportError:
            raise AuthError(
                "key_location='keyring:' needs the optional 'keyring' package, which is not installed",
                hint=_KEYRING_HINT,
            ) from None

    def _call(self, action: str, *args: str, entry: str | None = None) -> str | None:
        keyring = self._keyring()
        try:
            result: str | None = getattr(keyring, action)(KEYRING_SERVICE, entry or self.username, *args)
        except Exception as exc:  # keyring.errors.* and backend-specific failures
            raise AuthError(
                f"The OS keyring refused to {action.replace('_', ' ')} for {self.describe()}: "
                f"{type(exc).__name__}.",
                hint="check that a keyring backend is unlocked, or use a key file (OAuthKeyLocation)",
            ) from None
        return result

    def load(self) -> StoreKeys | None:
        encoded = self._call("get_password")
        if encoded is None:
            return None
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raw = b""
        return StoreKeys.from_bytes(raw, self.describe())

    def create(self) -> StoreKeys:
        keys = StoreKeys.generate()
        self._call("set_password", base64.b64encode(keys.to_bytes()).decode("ascii"))
        return keys

    def delete(self) -> None:
        if self._call("get_password") is not None:
            self._call("delete_password")

    # Other entries beside the keys (the store's generation record), same service.
    def get_entry(self, entry: str) -> str | None:
        return self._call("get_password", entry=entry)

    def set_entry(self, entry: str, value: str) -> None:
        self._call("set_password", value, entry=entry)

    def delete_entry(self, entry: str) -> None:
        if self._call("get_password", entry=entry) is not None:
            self._call("delete_password", entry=entry)


KeyStorage = KeyFile | KeyringKeys


def resolve_key_storage(key_location: str | os.PathLike[str] | None, token_path: Path) -> KeyStorage:
    """Where a store's keys live: ``None`` (default file), ``"keyring:[name]"``, or a path."""
    if isinstance(key_location, str) and key_location.startswith(KEYRING_PREFIX):
        name = key_location[len(KEYRING_PREFIX):] or f"token-store:{token_path_digest(token_path)}"
        return KeyringKeys(name)
    if key_location is None or os.fspath(key_location) == "":
        path = default_key_path(token_path)
    else:
        path = Path(os.path.abspath(os.path.expanduser(os.fspath(key_location))))
    if path.parent == token_path.parent:
        raise AuthError(
            f"The key file {path} is in the same directory as the token store {token_path}; "
            "a copy of that directory would carry the tokens together with their key.",
            hint="put OAuthKeyLocation elsewhere, or leave it unset to use ~/.config/zohocrm/keys",
        )
    return KeyFile(path)
