"""The broker's policy file (workspaces, default-deny) and its key registry (keys stored hashed).

The policy is TOML the operator writes and reviews (no secret in it)::

    [workspaces.analytics]
    allowed_org = "665000001"                 # the Zoho org id; a broker connected elsewhere refuses it
    allowed_modules = ["Leads", "Contacts"]   # "*" = every module (reads only: writes need names)
    allowed_operations = ["query", "get_record", "list_records"]
    envelope = true                           # answers sealed in a HybridCryptoEnvelope
    dry_run = false                           # true: writes are refused; clients validate with DryRun=true
    confirm_writes = false                    # must be true when allowed_operations has a write
    calls_per_minute = 60                     # 0 = no limit
    credits_per_day = 5000                    # 0 = no budget

Everything not listed is denied, reads included. Operation names are the QuantaSeal ones
(get_record, list_records, search_records, create_record, update_record) plus query (SQL/COQL),
bulk_read, upsert_record, delete_record and bulk_write (writes through Bulk Write jobs).

Keys live beside it, in the broker's state folder (``keys.json``, 0600): per workspace the SHA-256
of its key (the key itself is printed once and never stored), and for sealed answers the
workspace's envelope public keys and the HMAC key shared at enrolment.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import json
import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.auth.envelope import WorkspaceKeys
from connector.errors import ConfigError
from connector.localfs import private_dir, reporting_os_errors, write_private

READS = ("get_record", "list_records", "search_records", "query", "bulk_read")
WRITES = {"create_record": "insert", "update_record": "update", "upsert_record": "upsert",
          "delete_record": "delete", "bulk_write": ""}
OPERATIONS = (*READS, *WRITES)
FIELDS = ("allowed_org", "allowed_modules", "allowed_operations", "envelope", "dry_run", "confirm_writes",
          "calls_per_minute", "credits_per_day")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
KEY_PREFIX = "zb_"


@dataclass(frozen=True)
class Workspace:
    name: str
    allowed_org: str
    allowed_modules: tuple[str, ...]  # ("*",) = every module
    allowed_operations: tuple[str, ...]
    envelope: bool = False
    dry_run: bool = False
    confirm_writes: bool = False
    calls_per_minute: int = 0
    credits_per_day: int = 0

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(op for op in self.allowed_operations if op in WRITES)

    def connection_operations(self) -> tuple[str, ...]:
        """AllowedOperations for this workspace's connection (bulk_write is checked by the broker)."""
        return tuple(dict.fromkeys(WRITES.get(op, op) for op in self.allowed_operations if WRITES.get(op, op)))

    def connection_modules(self) -> tuple[str, ...]:
        return () if self.allowed_modules == ("*",) else self.allowed_modules


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _workspace(name: str, raw: Any, where: str) -> Workspace:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: workspace name {name[:40]!r} must be letters, digits, - and _ (up to 64)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [workspaces.{name}] must be a table of settings")
    for key in raw:
        if key not in FIELDS:
            raise ConfigError(f"{where}: workspace {name} has an unknown setting {key!r}{_suggest(key, FIELDS)}",
                              hint=f"settings are {', '.join(FIELDS)}")
    org = raw.get("allowed_org")
    if not isinstance(org, str | int) or not str(org).isdigit():
        raise ConfigError(f"{where}: workspace {name} needs allowed_org, the numeric Zoho org id it may use",
                          hint="`zohocrm broker serve` prints the org id of its connection")
    ops = raw.get("allowed_operations", [])
    modules = raw.get("allowed_modules", [])
    for label, items in (("allowed_operations", ops), ("allowed_modules", modules)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: workspace {name}: {label} must be a list of names")
    for op in ops:
        if op not in OPERATIONS:
            raise ConfigError(f"{where}: workspace {name}: unknown operation {op!r}{_suggest(op, OPERATIONS)}",
                              hint=f"operations are {', '.join(OPERATIONS)}")
    for module in modules:
        if module != "*" and not _MODULE.fullmatch(module):
            raise ConfigError(f"{where}: workspace {name}: {module[:40]!r} is not a module api_name (or *)")
    if "*" in modules and len(modules) > 1:
        raise ConfigError(f"{where}: workspace {name}: allowed_modules is either [\"*\"] or a list of names")
    flags = {k: raw.get(k, False) for k in ("envelope", "dry_run", "confirm_writes")}
    numbers = {k: raw.get(k, 0) for k in ("calls_per_minute", "credits_per_day")}
    for k, v in flags.items():
        if not isinstance(v, bool):
            raise ConfigError(f"{where}: workspace {name}: {k} must be true or false")
    for k, n in numbers.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"{where}: workspace {name}: {k} must be a whole number >= 0")
    return Workspace(name, str(org), tuple(dict.fromkeys(modules)), tuple(dict.fromkeys(ops)), **flags, **numbers)


def load_policy(path: Path) -> dict[str, Workspace]:
    """The workspaces of a policy file; ConfigError naming the file and the setting for anything wrong."""
    with reporting_os_errors(path, "broker policy", writing=False):
        text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the broker policy {path} is not valid TOML: {exc}") from None
    extra = [k for k in data if k != "workspaces"]
    if extra:
        raise ConfigError(f"the broker policy {path} has an unknown section {extra[0]!r}",
                          hint="a policy has [workspaces.NAME] tables only")
    raw = data.get("workspaces", {})
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"the broker policy {path} has no workspace", hint="add a [workspaces.NAME] table")
    return {name: _workspace(name, spec, str(path)) for name, spec in raw.items()}


def write_warnings(workspaces: dict[str, Workspace]) -> tuple[list[str], list[str]]:
    """(warnings for every workspace that may write, errors for those that may without confirm_writes)."""
    warnings, errors = [], []
    for ws in workspaces.values():
        if not ws.writes:
            continue
        modules = ", ".join(ws.allowed_modules)
        if ws.dry_run:
            warnings.append(f"workspace {ws.name} lists writes ({', '.join(ws.writes)}) but is dry-run only: "
                            "writes are validated by its clients and never sent")
        else:
            warnings.append(f"workspace {ws.name} may WRITE to Zoho: {', '.join(ws.writes)} on {modules}")
        if not ws.confirm_writes:
            errors.append(f"workspace {ws.name} enables writes ({', '.join(ws.writes)}) without "
                          "confirm_writes = true")
    return warnings, errors


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRegistry:
    """``keys.json`` in the broker's state folder: hashed keys and enrolment material per workspace."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "keys.json"
        self.state_dir = state_dir
        self._cache: tuple[float, dict[str, Any]] | None = None

    def _load(self) -> dict[str, Any]:
        # Read again only when the file changed: `broker key new` may rotate a key while serving.
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == mtime:
            return dict(self._cache[1])
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            self._cache = (mtime, data)
        except FileNotFoundError:
            return {}
        except ValueError:
            raise ConfigError(f"the broker key registry {self.path} is damaged",
                              hint="issue new keys: zohocrm broker key new WORKSPACE") from None
        return data

    def issue(self, ws: Workspace, broker_public: bytes) -> dict[str, Any]:
        """A new key for ``ws`` (replacing any earlier one): what the workspace's client needs, once."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        entry: dict[str, Any] = {"key_sha256": hash_key(key), "created": datetime.now(UTC).isoformat()}
        out: dict[str, Any] = {"workspace": ws.name, "key": key}
        if ws.envelope:
            keys = WorkspaceKeys.generate()
            b64 = base64.b64encode
            entry["envelope"] = {"mlkem_public": b64(keys.mlkem_public).decode(),
                                 "x25519_public": b64(keys.x25519_public).decode(),
                                 "hmac_key": b64(keys.hmac_key).decode()}
            out["envelope"] = {"mlkem_seed": b64(keys.mlkem_seed).decode(),
                               "x25519_private": b64(keys.x25519_private).decode(),
                               "hmac_key": b64(keys.hmac_key).decode(), "broker_public": b64(broker_public).decode()}
        data = self._load()
        data[ws.name] = entry
        self._save(data)
        return out

    def revoke(self, name: str) -> bool:
        data = self._load()
        found = data.pop(name, None) is not None
        self._save(data)
        return found

    def _save(self, data: dict[str, Any]) -> None:
        if not self.state_dir.exists():
            private_dir(self.state_dir, "broker state folder")
        write_private(self.path, json.dumps(data, indent=1), "broker key registry")

    def lookup(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The workspace a key belongs to (compared in constant time per entry), or None."""
        wanted = hash_key(key)
        found = None
        for name, entry in self._load().items():
            if hmac.compare_digest(str(entry.get("key_sha256", "")), wanted):
                found = (name, entry)
        return found
