"""``SealedTokenStore``: tokens sealed in one file (format: :mod:`connector.auth.token_store`).

Writes go to a temp file in the same directory (0600), are fsynced, and ``os.replace`` the old
file, all under ``filelock.FileLock(path + ".lock")``; reads take the same lock and
:meth:`SealedTokenStore.update` does read-modify-write under one hold, so one process refreshes a
token while the others wait.

Each write seals a binding with the tokens (reserved key ``_zohocrm_store``): the store's absolute
path, its OAuth client and a generation number, which :mod:`connector.auth.generation` records
beside the key too, after the file. On every read a file sealed for another path ("moved"),
another client ("foreign_client") or an older generation than recorded ("rollback") is refused
with a :class:`SealedFileError`; a file from before bindings opens, and the next update seals it
again with one.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from connector.auth.generation import GenerationRecord
from connector.auth.keys import make_private_dirs, resolve_key_storage, token_path_digest
from connector.auth.token_store import (
    SealedFileError,
    TokenSet,
    UpdateFn,
    _check_structure,
    _decode_tokens,
    _encode_tokens,
    _Plaintext,
    open_sealed,
    seal,
)
from connector.errors import AuthError
from connector.localfs import file_error


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
