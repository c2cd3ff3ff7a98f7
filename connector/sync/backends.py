"""Source/target registry by URL scheme (fsspec-style), with install hints for optional backends.

``duckdb:PATH``, ``parquet:DIR``, ``csv:DIR``, ``zoho:<connection string>`` or a
bare connection string (anything with ``Key=Value`` pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.errors import ConfigError

_TARGETS: dict[str, Callable[..., Any]] = {}
_SOURCES: dict[str, Callable[..., Any]] = {}


def _split(url: str) -> tuple[str, str]:
    text = url.strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("duckdb", "parquet", "csv", "zoho"):
        return scheme.lower(), rest
    if "=" in text:
        return "zoho", text
    raise ConfigError(f"cannot tell what {text[:40]!r} is",
                      hint="use duckdb:PATH, parquet:DIR, csv:DIR, or a Zoho connection string")


def register_target(scheme: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _TARGETS[scheme] = fn
        return fn

    return deco


def register_source(scheme: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _SOURCES[scheme] = fn
        return fn

    return deco


@register_target("duckdb")
def _duckdb_target(rest: str, **kw: Any) -> Any:
    from .target_duckdb import DuckDBTarget

    return DuckDBTarget(rest or ":memory:")


@register_source("zoho")
def _zoho_source(rest: str, **kw: Any) -> Any:
    from connector.session import ZohoSession

    from .source_zoho import ZohoSource

    return ZohoSource(ZohoSession(rest), api_type=kw.get("api_type"))


def open_target(url: str, **kw: Any) -> Any:
    scheme, rest = _split(url)
    factory = _TARGETS.get(scheme)
    if factory is None:
        raise ConfigError(f"{scheme}: is not supported as a target yet", hint=f"targets: {', '.join(sorted(_TARGETS))}")
    return factory(rest, **kw)


def open_source(url: str, **kw: Any) -> Any:
    scheme, rest = _split(url)
    factory = _SOURCES.get(scheme)
    if factory is None:
        raise ConfigError(f"{scheme}: is not supported as a source yet", hint=f"sources: {', '.join(sorted(_SOURCES))}")
    return factory(rest, **kw)
