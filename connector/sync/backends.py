"""Sources and targets by URL scheme (fsspec style): a registry of backend classes, with an install
hint for each one whose optional dependency is missing.

``duckdb:PATH``, ``parquet:DIR``, ``csv:DIR``, ``zoho:<connection string>`` or a
bare connection string (anything with ``Key=Value`` pairs). Every scheme is both
a source and a target. A backend's module is imported only when its scheme is
used; when that import fails for want of a package, the user is told which
package and how to install it, not shown an ImportError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.errors import ConfigError

from .contract import Source, Target

SCHEMES = ("duckdb", "parquet", "csv", "zoho")


@dataclass(frozen=True)
class Backend:
    """One scheme: how to load its classes, and what to install when they cannot be loaded."""

    load: Callable[[], tuple[type[Source], type[Target]]]
    #: top-level packages the backend imports that a minimal install may lack
    packages: tuple[str, ...]
    hint: str


def _duckdb() -> tuple[type[Source], type[Target]]:
    from .source_duckdb import DuckDBSource
    from .target_duckdb import DuckDBTarget

    return DuckDBSource, DuckDBTarget


def _files() -> tuple[type[Source], type[Target]]:
    from .files import FileSource, FileTarget

    return FileSource, FileTarget


def _zoho() -> tuple[type[Source], type[Target]]:
    from .source_zoho import ZohoSource
    from .target_zoho import ZohoTarget

    return ZohoSource, ZohoTarget


#: conda's pyarrow-core has neither pyarrow.parquet nor pyarrow.csv; files also need DuckDB (path checks)
_FILES = "pip install 'pyarrow>=15' 'filelock>=3.12' 'duckdb>=1.1' (with conda: pyarrow, not pyarrow-core)"
REGISTRY: dict[str, Backend] = {
    "duckdb": Backend(_duckdb, ("duckdb", "pyarrow"), "pip install 'duckdb>=1.1' 'pyarrow>=15'"),
    "parquet": Backend(_files, ("pyarrow", "filelock", "duckdb"), _FILES),
    "csv": Backend(_files, ("pyarrow", "filelock", "duckdb"), _FILES),
    "zoho": Backend(_zoho, ("requests", "requests_oauthlib", "oauthlib", "cryptography", "tenacity", "pyarrow",
                            "duckdb", "filelock"),
                    "pip install zohocrm-connector again: requests, requests-oauthlib, cryptography, tenacity, "
                    "pyarrow and duckdb come with it"),
}


def split_url(url: str) -> tuple[str, str]:
    text = url.strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in SCHEMES:
        return scheme.lower(), rest
    if "=" in text:
        return "zoho", text
    raise ConfigError(f"cannot tell what {text[:40]!r} is",
                      hint="use duckdb:PATH, parquet:DIR, csv:DIR, or a Zoho connection string")


def backend_classes(scheme: str) -> tuple[type[Source], type[Target]]:
    """The (source, target) classes of ``scheme``; a ConfigError with the fix when a package is missing."""
    entry = REGISTRY.get(scheme)
    if entry is None:
        raise ConfigError(f"{scheme}: is not a source or target scheme", hint=f"schemes: {', '.join(SCHEMES)}")
    try:
        return entry.load()
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in entry.packages:
            raise  # our own module failed to import: a bug, not an installation to fix
        raise ConfigError(f"{scheme}: needs the package {exc.name!r}, which is not installed or incomplete",
                          hint=entry.hint) from None


def _local_path(rest: str, scheme: str) -> str:
    path = rest.strip()
    if not path:
        raise ConfigError(f"{scheme}: needs a path", hint=f"e.g. {scheme}:./export")
    if "://" in path:
        raise ConfigError(f"{scheme}: takes a local path, not {path!r}",
                          hint="write locally, then copy the directory to object storage")
    return path


def open_source(url: str, **options: Any) -> Source:
    """A source for ``url``. Options reach the backend that takes them (``api_type`` for Zoho)."""
    scheme, rest = split_url(url)
    source_cls, _ = backend_classes(scheme)
    if scheme == "zoho":
        return source_cls.from_url(rest, api_type=options.get("api_type"))
    return source_cls.from_url(_local_path(rest, scheme), kind=scheme)


def open_target(url: str, **options: Any) -> Target:
    """A target for ``url``. Zoho targets take ``mode``, ``key``, ``state_path``, ``write_api``,
    ``source_id_field``, ``batch_rows`` and ``report_dir``; the others take none."""
    scheme, rest = split_url(url)
    _, target_cls = backend_classes(scheme)
    if scheme == "zoho":
        return target_cls.from_url(rest, **{k: v for k, v in options.items() if v is not None and k in ZOHO_TARGET})
    if scheme == "duckdb":
        return target_cls.from_url(rest.strip() or ":memory:", kind=scheme)
    return target_cls.from_url(_local_path(rest, scheme), kind=scheme)


#: the options a Zoho target takes (``connector.sync.migrate`` passes every keyword it was given)
ZOHO_TARGET = ("mode", "key", "state_path", "write_api", "source_id_field", "batch_rows", "report_dir")
