"""Migrate and incremental sync: sources and targets by URL scheme, watermarks, atomic state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .backends import open_source, open_target
from .contract import Source, Target
from .runner import (
    MigrationResult,
    ModuleResult,
    ProgressFn,
    interrupted_result,
    refuse_files_left_out_of_zoho,
    run,
)

__all__ = ["open_source", "open_target", "MigrationResult", "ModuleResult", "Source", "Target", "run", "migrate",
           "interrupted_result"]


def migrate(source: str, target: str, *, modules: list[str] | None = None, incremental: bool = False,
            mode: str = "insert", key: str | None = None, refresh_formulas: bool | timedelta = False,
            state_path: str | None = None, progress: ProgressFn | None = None, files: bool = True,
            **kw: Any) -> MigrationResult:
    """Copy modules from ``source`` to ``target`` and return what happened per module.

    ``source``/``target``: a Zoho connection string, ``duckdb:PATH``, ``parquet:DIR`` or
    ``csv:DIR``. ``incremental``: after the first full load, only what changed (and deletes).
    Zoho targets: ``mode`` insert|upsert, ``key`` the upsert/match field (e.g. ``Email``),
    ``state_path`` where the id map and sync state live (see ``connector.sync.target_zoho``).
    ``refresh_formulas``: True, or a ``timedelta`` (refresh when the last refresh is older).
    ``files=False``: records only, no attachment, photo or file-field downloads (not into Zoho).
    Other keywords reach the backends (``api_type`` for Zoho sources; ``write_api``,
    ``source_id_field``, ``batch_rows``, ``report_dir`` for Zoho targets).
    """
    if not files:
        refuse_files_left_out_of_zoho(target)
    src = open_source(source, **kw)
    try:
        tgt = open_target(target, mode=mode, key=key, state_path=state_path, **kw)
    except BaseException:
        src.close()
        raise
    try:
        return run(src, tgt, modules=modules, incremental=incremental, progress=progress,
                   refresh_formulas=refresh_formulas, files=files)
    finally:
        try:
            tgt.close()
        finally:
            src.close()
