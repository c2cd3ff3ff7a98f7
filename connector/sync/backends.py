"""Source/target registry by URL scheme (fsspec-style), with install hints for optional backends.

``duckdb:PATH``, ``parquet:DIR``, ``csv:DIR``, ``zoho:<connection string>`` or a
bare connection string (anything with ``Key=Value`` pairs). Every scheme is both
a source and a target. A backend that needs an optional package imports it in
its factory and calls :func:`require`, which turns the ImportError into a
ConfigError naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from connector.errors import ConfigError

_TARGETS: dict[str, Callable[..., Any]] = {}
_SOURCES: dict[str, Callable[..., Any]] = {}
SCHEMES = ("duckdb", "parquet", "csv", "zoho")


def split_url(url: str) -> tuple[str, str]:
    text = url.strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in SCHEMES:
        return scheme.lower(), rest
    if "=" in text:
        return "zoho", text
    raise ConfigError(f"cannot tell what {text[:40]!r} is",
                      hint="use duckdb:PATH, parquet:DIR, csv:DIR, or a Zoho connection string")


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"this backend needs the optional package {module!r}",
                          hint=f"pip install 'zohocrm-connector[{extra}]'") from None


def _register(registry: dict[str, Callable[..., Any]], scheme: str
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        registry[scheme] = fn
        return fn

    return deco


def register_target(scheme: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(_TARGETS, scheme)


def register_source(scheme: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(_SOURCES, scheme)


def _local_path(rest: str, scheme: str) -> str:
    path = rest.strip()
    if not path:
        raise ConfigError(f"{scheme}: needs a path", hint=f"e.g. {scheme}:./export")
    if "://" in path:
        raise ConfigError(f"{scheme}: takes a local path, not {path!r}",
                          hint="write locally, then copy the directory to object storage")
    return path


@register_target("duckdb")
def _duckdb_target(rest: str, **kw: Any) -> Any:
    from .target_duckdb import DuckDBTarget

    return DuckDBTarget(rest or ":memory:")


@register_source("duckdb")
def _duckdb_source(rest: str, **kw: Any) -> Any:
    from .source_duckdb import DuckDBSource

    return DuckDBSource(_local_path(rest, "duckdb"))


@register_target("parquet")
@register_target("csv")
def _file_target(rest: str, *, scheme: str = "parquet", **kw: Any) -> Any:
    from .files import FileTarget

    return FileTarget(_local_path(rest, scheme), scheme)


@register_source("parquet")
@register_source("csv")
def _file_source(rest: str, *, scheme: str = "parquet", **kw: Any) -> Any:
    from .files import FileSource

    return FileSource(_local_path(rest, scheme), scheme)


@register_source("zoho")
def _zoho_source(rest: str, **kw: Any) -> Any:
    from connector.session import ZohoSession

    from .source_zoho import ZohoSource

    return ZohoSource(ZohoSession(rest), api_type=kw.get("api_type"))


@register_target("zoho")
def _zoho_target(rest: str, **kw: Any) -> Any:
    from connector.session import ZohoSession

    from .target_zoho import ZohoTarget

    opts = {k: kw[k] for k in ("mode", "key", "state_path", "write_api", "source_id_field", "batch_rows",
                               "report_dir") if kw.get(k) is not None}
    return ZohoTarget(ZohoSession(rest), **opts)


def _open(registry: dict[str, Callable[..., Any]], role: str, url: str, kw: dict[str, Any]) -> Any:
    scheme, rest = split_url(url)
    factory = registry.get(scheme)
    if factory is None:
        raise ConfigError(f"{scheme}: is not supported as a {role}", hint=f"{role}s: {', '.join(sorted(registry))}")
    return factory(rest, scheme=scheme, **kw)


def open_target(url: str, **kw: Any) -> Any:
    return _open(_TARGETS, "target", url, kw)


def open_source(url: str, **kw: Any) -> Any:
    return _open(_SOURCES, "source", url, kw)
