"""Zoho CRM data connector: SQL over Zoho through DuckDB, migrations, incremental sync.

``import connector`` stays cheap: public names are loaded on first use
(PEP 562 module ``__getattr__``), so nothing imports pyarrow or duckdb until a
caller asks for something that needs them. Add a public name by adding one line
to ``_LAZY_EXPORTS``: name -> module that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.config import parse_connection_string as parse_connection_string

_LAZY_EXPORTS: dict[str, str] = {
    "parse_connection_string": "connector.config",
    "migrate": "connector.sync",
    "connect": "connector.engine.dbapi",
    "read_sql": "connector.engine.dbapi",
    "duckdb": "connector.duckdb",  # the submodule itself: connector.duckdb.attach(...)
}

__all__ = sorted(_LAZY_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value  # cache: the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
