"""Least privilege at the door: a write is refused before any request is made.

AllowedOperations and AllowedModules are default-deny for writes (the config
decides; see ``ConnectionConfig.is_write_allowed``). Writers call
:func:`require_write` first, before a metadata read, a lookup or a dry run, so
a connection that may only read can never change Zoho, whatever the code
after it does. DryRun does not relax this: a dry run of a forbidden write is
refused too, so it cannot be used to probe what a real run would do.
"""

from __future__ import annotations

from connector.config.config import ConnectionConfig
from connector.config.properties import WRITE_OPERATIONS
from connector.errors import ConfigError


def require_write(config: ConnectionConfig, operation: str, module: str) -> None:
    """Raise :class:`~connector.errors.PermissionDenied` unless ``operation`` may change ``module``.

    ``operation`` is one of insert, update, upsert, delete (any case); anything else is a
    programming error and raises :class:`ConfigError`.
    """
    op = operation.strip().lower()
    if op not in WRITE_OPERATIONS:
        raise ConfigError(f"require_write() guards writes ({', '.join(WRITE_OPERATIONS)}), not {operation!r}")
    if not module or not module.strip():
        raise ConfigError("require_write() needs the module api_name the write targets")
    config.require_allowed(op, module.strip())
