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
from typing import Any, TypeVar

from connector.errors import ConfigError

from .contract import Source, Target

SCHEMES = ("duckdb", "parquet", "csv", "zoho")
T = TypeVar("T")


@dataclass(frozen=True)
class Backend:
    """One scheme: how to load its source and its target class (each alone: a run from Zoho into files need
    not import the Zoho target's writers), and what to install when they cannot be loaded."""

    source: Callable[[], type[Source]]
    target: Callable[[], type[Target]]
    #: top-level packages the backend imports that a minimal install may lack
    packages: tuple[str, ...]
    hint: str


def _duckdb_source() -> type[Source]:
    from .source_duckdb import DuckDBSource

    return DuckDBSource


def _duckdb_target() -> type[Target]:
    from .target_duckdb import DuckDBTarget

    return DuckDBTarget


def _files_source() -> type[Source]:
    from .files import FileSource

    return FileSource


def _files_target() -> type[Target]:
    from .files import FileTarget

    return FileTarget


def _zoho_source() -> type[Source]:
    from .source_zoho import ZohoSource

    return ZohoSource


def _zoho_target() -> type[Target]:
    from .target_zoho import ZohoTarget

    return ZohoTarget


#: conda's pyarrow-core has neither pyarrow.parquet nor pyarrow.csv
_FILES = "pip install 'pyarrow>=15' 'filelock>=3.12' (with conda: pyarrow, not pyarrow-core)"
REGISTRY: dict[str, Backend] = {
    "duckdb": Backend(_duckdb_source, _duckdb_target, ("duckdb", "pyarrow"),
                      "pip install 'duckdb>=1.1' 'pyarrow>=15'"),
    "parquet": Backend(_files_source, _files_target, ("pyarrow", "filelock"), _FILES),
    "csv": Backend(_files_source, _files_target, ("pyarrow", "filelock"), _FILES),
    "zoho": Backend(_zoho_source, _zoho_target,
                    ("requests", "requests_oauthlib", "oauthlib", "cryptography", "tenacity", "pyarrow", "duckdb",
                     "filelock"),
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


def _backend(scheme: str) -> Backend:
    entry = REGISTRY.get(scheme)
    if entry is None:
        raise ConfigError(f"{scheme}: is not a source or target scheme", hint=f"schemes: {', '.join(SCHEMES)}")
    return entry


def _loaded(scheme: str, entry: Backend, load: Callable[[], T]) -> T:
    """``load()`` of ``entry`` (``scheme``'s); a ConfigError with the fix when a package it needs is missing."""
    try:
        return load()
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in entry.packages:
            raise  # our own module failed to import: a bug, not an installation to fix
        raise ConfigError(f"{scheme}: needs the package {exc.name!r}, which is not installed or incomplete",
                          hint=entry.hint) from None


def source_class(scheme: str) -> type[Source]:
    """The source class of ``scheme`` (only its module imported)."""
    entry = _backend(scheme)
    return _loaded(scheme, entry, entry.source)


def target_class(scheme: str) -> type[Target]:
    """The target class of ``scheme`` (only its module imported)."""
    entry = _backend(scheme)
    return _loaded(scheme, entry, entry.target)


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
    source_cls = source_class(scheme)
    if scheme == "zoho":
        return source_cls.from_url(rest, api_type=options.get("api_type"))
    return source_cls.from_url(_local_path(rest, scheme), kind=scheme)


def open_target(url: str, **options: Any) -> Target:
    """A target for ``url``. Zoho targets take ``mode``, ``key``, ``state_path``, ``write_api``,
    ``source_id_field``, ``batch_rows`` and ``report_dir``; the others take none."""
    scheme, rest = split_url(url)
    target_cls = target_class(scheme)
    if scheme == "zoho":
        return target_cls.from_url(rest, **{k: v for k, v in options.items() if v is not None and k in ZOHO_TARGET})
    if scheme == "duckdb":
        return target_cls.from_url(rest.strip() or ":memory:", kind=scheme)
    return target_cls.from_url(_local_path(rest, scheme), kind=scheme)


#: the options a Zoho target takes (``connector.sync.migrate`` passes every keyword it was given)
ZOHO_TARGET = ("mode", "key", "state_path", "write_api", "source_id_field", "batch_rows", "report_dir")
