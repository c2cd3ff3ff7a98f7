"""Rollback detection for the sealed token store: a generation number kept beside the key.

Every write of a store seals a generation number (1, 2, 3...) inside the tokens and then
records the same number *beside the key*, not beside the token file: in a file next to the key
file (``<key file>.<store digest>.generation``, 0600 in the 0700 key folder) or in a second
keyring entry. Whoever copies the token file back from a backup, a synced folder or another
machine cannot roll this record back with it, so an older copy reads as generation 5 while 7 is
recorded, and the store refuses it instead of sending a stale or revoked token.

Ordering: the token file is written first, the record second, both under the store's lock.
A crash in between leaves the file one generation *ahead* of the record, which reads fine (and
is repaired on the next read); the reverse order would make a crash look like a rollback.

The record carries an HMAC under the store's HMAC key, bound to the store's path digest and key
id: a record edited by hand or copied from another store is reported as damaged; a record left
over from a key that was since replaced is ignored (the old key's files cannot be opened anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from connector.auth.keys import (
    KEYRING_SERVICE,
    KeyFile,
    KeyringKeys,
    KeyStorage,
    StoreKeys,
    make_private_dirs,
)
from connector.errors import AuthError, FileAccessError
from connector.localfs import write_private

_LABEL = b"zohocrm token store generation v1\x00"


def _mac(keys: StoreKeys, store_digest: str, generation: int) -> str:
    message = _LABEL + store_digest.encode() + b"\x00" + keys.key_id + b"\x00" + str(generation).encode()
    return hmac.new(keys.hmac_key, message, hashlib.sha256).hexdigest()


class GenerationRecord:
    """The last generation written for one store, kept where its key is."""

    def __init__(self, storage: KeyStorage, store_digest: str) -> None:
        self._storage = storage
        self._digest = store_digest
        if isinstance(storage, KeyFile):
            self._path: Path | None = storage.path.with_name(f"{storage.path.name}.{store_digest}.generation")
            self._entry = ""
        else:
            self._path = None
            self._entry = f"{storage.username}:generation:{store_digest}"

    def describe(self) -> str:
        if self._path is not None:
            return str(self._path)
        return f"keyring:{self._entry} (service {KEYRING_SERVICE})"

    def _read_text(self) -> str | None:
        if self._path is None:
            assert isinstance(self._storage, KeyringKeys)
            return self._storage.get_entry(self._entry)
        try:
            return self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthError(f"Cannot read the token store's generation record {self._path}: "
                            f"{getattr(exc, 'strerror', None) or type(exc).__name__}.") from None

    def load(self, keys: StoreKeys) -> int:
        """The recorded generation; 0 when none was recorded for this key yet."""
        text = self._read_text()
        if text is None:
            return 0
        try:
            data = json.loads(text)
            generation = int(data["generation"])
            key_id, store, mac = str(data["key_id"]), str(data["store"]), str(data["mac"])
        except (ValueError, KeyError, TypeError):
            raise self._damaged("it is not a generation record") from None
        if key_id != keys.key_id_hex:
            return 0  # left by a key that was replaced: nothing sealed with that key opens now
        if store != self._digest or generation < 0 or not hmac.compare_digest(mac, _mac(keys, store, generation)):
            raise self._damaged("its signature does not match (edited, or copied from another store)")
        return generation

    def store(self, keys: StoreKeys, generation: int) -> None:
        text = json.dumps({"store": self._digest, "key_id": keys.key_id_hex, "generation": generation,
                           "mac": _mac(keys, self._digest, generation)})
        if self._path is None:
            assert isinstance(self._storage, KeyringKeys)
            self._storage.set_entry(self._entry, text)
            return
        try:
            make_private_dirs(self._path.parent)
            write_private(self._path, text, "token store's generation record")
        except (OSError, FileAccessError) as exc:
            raise AuthError(f"Cannot record the token store's generation in {self._path}: {exc}.",
                            hint="free space or fix the permissions of the key folder") from None

    def delete(self) -> None:
        if self._path is None:
            assert isinstance(self._storage, KeyringKeys)
            self._storage.delete_entry(self._entry)
            return
        try:
            self._path.unlink(missing_ok=True)
        except OSError as exc:
            raise AuthError(f"Cannot delete {self._path}: {exc.strerror}.") from None

    def _damaged(self, why: str) -> AuthError:
        return AuthError(
            f"The token store's generation record {self.describe()} is damaged: {why}; rollback of the "
            "token file can no longer be ruled out.",
            hint="delete the record and the token file, then run `zohocrm auth login`",
        )

