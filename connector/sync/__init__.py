"""Migrate and incremental sync: sources and targets by URL scheme, watermarks, atomic state."""

from .backends import open_source, open_target
from .runner import MigrationResult, ModuleResult, run

__all__ = ["open_source", "open_target", "MigrationResult", "ModuleResult", "run", "migrate"]


def migrate(source: str, target: str, *, modules: list[str] | None = None, incremental: bool = False,
            progress=None, **kw):  # type: ignore[no-untyped-def]
    """Copy modules from ``source`` to ``target`` (Zoho connection strings or duckdb:/parquet:/csv: URLs)."""
    src = open_source(source, **kw)
    tgt = open_target(target, **kw)
    try:
        return run(src, tgt, modules=modules, incremental=incremental, progress=progress)
    finally:
        tgt.close()
