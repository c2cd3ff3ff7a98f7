"""Zoho CRM data connector: SQL over Zoho through DuckDB, migrations, incremental sync.

``import connector`` stays cheap: public names are loaded on first use
(PEP 562 module ``__getattr__``), so nothing imports pyarrow or duckdb until a
caller asks for something that needs them. Add a public name by adding one line
to ``_LAZY_EXPORTS``: name -> module that defines it.

The package is a PEP 249 (DB-API 2.0) module: ``connector.connect(...)``, the
module globals ``apilevel``, ``threadsafety`` and ``paramstyle``, the exception
classes (``connector.Error``, ``connector.DatabaseError``...), the type objects
(``STRING``, ``NUMBER``...) and constructors (``Date``, ``TimestampFromTicks``...).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

#: pyarrow's allocator for a process the connector starts in (read by Arrow when it first allocates):
#: the C library's malloc rather than pyarrow's bundled mimalloc, which on the 2-core Linux VMs this was
#: measured on spent 0.5 CPU-s more per incremental sync in the kernel and made the test suite's file
#: syncs 12% dearer in CPU (README, Performance). A choice already made stands: the variable set by the
#: caller (``ARROW_DEFAULT_MEMORY_POOL=mimalloc`` keeps pyarrow's own), or pyarrow imported before the
#: connector (its pool may be in use).
_ARROW_POOL = "system"
if "pyarrow" not in sys.modules:
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", _ARROW_POOL)

if TYPE_CHECKING:
    from connector.config import parse_connection_string as parse_connection_string

# PEP 249 module globals: plain values, so reading them imports nothing (the same as connector.engine.dbapi's).
apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"

_ERRORS = ("Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError", "IntegrityError",
           "InternalError", "ProgrammingError", "NotSupportedError")
_DBAPI = ("Warning", "STRING", "NUMBER", "DATETIME", "BINARY", "ROWID", "Date", "Time", "Timestamp", "Binary",
          "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Connection", "Cursor")

_LAZY_EXPORTS: dict[str, str] = {
    "parse_connection_string": "connector.config",
    "migrate": "connector.sync",
    "connect": "connector.engine.dbapi",
    "read_sql": "connector.engine.dbapi",
    "duckdb": "connector.duckdb",  # the submodule itself: connector.duckdb.attach(...)
    "ConnectorError": "connector.errors",
    **dict.fromkeys(_ERRORS, "connector.errors"),  # no pyarrow needed to catch an error
    **dict.fromkeys(_DBAPI, "connector.engine.dbapi"),
}

__all__ = sorted([*_LAZY_EXPORTS, "__version__", "apilevel", "threadsafety", "paramstyle"])


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - always there on the Pythons we support
        return "0+unknown"
    try:
        return version("zohocrm-connector")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
        globals()[name] = value
        return value
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value  # cache: the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS) | {"__version__"})
