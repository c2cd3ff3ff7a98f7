"""Least privilege at the door: a write is refused before any request is made.

AllowedOperations and AllowedModules are default-deny for writes (the config
decides; see ``ConnectionConfig.is_write_allowed``). Writers call
:func:`require_write` first, before a metadata read, a lookup or a dry run, so
a connection that may only read can never change Zoho, whatever the code
after it does. DryRun does not relax this: a dry run of a forbidden write is
refused too, so it cannot be used to probe what a real run would do.

A job that writes several modules (a migration) asks once for everything with
:func:`require_writes`: one :class:`~connector.errors.PermissionDenied` names every
operation and module missing and gives the exact text that allows them, so
enabling writes takes one round trip, not one per property.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connector.config.config import ConnectionConfig
from connector.config.properties import OPERATIONS, WRITE_OPERATIONS
from connector.errors import ConfigError, PermissionDenied

from .policy import broker_decides


def _check_operation(operation: str) -> str:
    op = operation.strip().lower()
    if op not in WRITE_OPERATIONS and op != "query":  # a job's queries of the modules it writes may be asked too
        raise ConfigError(f"require_write() guards writes ({', '.join(WRITE_OPERATIONS)}), not {operation!r}")
    return op


def missing_writes(config: ConnectionConfig, needs: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Module -> the write operations on it that ``config`` does not allow (modules needing nothing left out)."""
    out: dict[str, list[str]] = {}
    for module, operations in needs.items():
        name = module.strip()
        if not name:
            raise ConfigError("require_write() needs the module api_name the write targets")
        ops = sorted({_check_operation(o) for o in operations}, key=OPERATIONS.index)
        denied = [op for op in ops if not config.is_write_allowed(op, name)]
        if denied:
            out[name] = denied
    return out


def allowing_text(config: ConnectionConfig, missing: Mapping[str, Iterable[str]],
                  reads: Iterable[str] = ()) -> str:
    """The connection-string text that allows ``missing``: ``;AllowedOperations=read,insert;AllowedModules=Leads``.

    Each property shows its whole new value (what it allows now plus what is missing), because a
    connection string names a property once: the text replaces the property, it does not extend it.
    ``reads``: modules the job also reads, listed too when the text brings in AllowedModules (which
    would otherwise stop reads of every module it leaves out).
    """
    ops = {op for wanted in missing.values() for op in wanted}
    have_ops = list(config.allowed_operations)
    if "read" in have_ops:
        ops.discard("query")  # read allows every read operation; only AllowedModules was in the way
    parts = []
    if not ops <= set(have_ops):
        new_ops = [op for op in OPERATIONS if op in have_ops or op in ops]
        parts.append(f";AllowedOperations={','.join(new_ops)}")
    listed = {m.casefold() for m in config.allowed_modules}
    new_modules = [m for m in missing if m.casefold() not in listed]
    if new_modules:
        new_modules += [m for m in reads if m.casefold() not in listed and m not in new_modules]
        parts.append(f";AllowedModules={','.join([*config.allowed_modules, *new_modules])}")
    return "".join(parts)


def require_writes(config: ConnectionConfig, needs: Mapping[str, Iterable[str]], *,
                   whose: str = "this connection") -> None:
    """Raise one :class:`PermissionDenied` naming every (operation, module) of ``needs`` not allowed.

    ``needs``: module api_name -> write operations (insert, update, upsert, delete, any case), or
    ``query`` for a module the job reads in order to write (a Zoho target lists line items so).
    The message lists what is missing per operation and ends with the text to put in the
    connection string; the exit status of the CLI for it is 4.
    """
    if broker_decides(config):
        return  # the broker refuses (and audits) what its workspace may not write
    missing = missing_writes(config, needs)
    if not missing:
        return
    by_op: dict[str, list[str]] = {}
    for module, ops in missing.items():
        for op in ops:
            by_op.setdefault(op, []).append(module)
    what = "; ".join(f"{op} on {', '.join(mods)}" for op, mods in
                     sorted(by_op.items(), key=lambda kv: OPERATIONS.index(kv[0])))
    text = allowing_text(config, missing, [m for m, ops in needs.items() if "query" in ops])
    names = " and ".join(n for n in ("AllowedOperations", "AllowedModules") if f";{n}=" in text)
    raise PermissionDenied(f"{what}: not allowed by {whose}",
                           hint=f"add `{text}` to its connection string (in place of any {names} it has)")


def require_write(config: ConnectionConfig, operation: str, module: str) -> None:
    """Raise :class:`~connector.errors.PermissionDenied` unless ``operation`` may change ``module``.

    ``operation`` is one of insert, update, upsert, delete (any case); anything else is a
    programming error and raises :class:`ConfigError`.
    """
    op = _check_operation(operation)
    if not module or not module.strip():
        raise ConfigError("require_write() needs the module api_name the write targets")
    require_writes(config, {module.strip(): [op]})
