"""The package as a PEP 249 module: version, globals, exceptions, type objects (issue 11, item 21)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version

import pytest

import connector
from connector.engine import dbapi

EXCEPTIONS = ("Error", "Warning", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
              "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError")
TYPES = ("STRING", "NUMBER", "DATETIME", "BINARY", "ROWID", "Date", "Time", "Timestamp", "Binary",
         "DateFromTicks", "TimeFromTicks", "TimestampFromTicks")


def test_pep249_globals_exceptions_and_types_on_the_package() -> None:
    assert connector.__version__ == version("zohocrm-connector")
    assert (connector.apilevel, connector.threadsafety, connector.paramstyle) == ("2.0", 1, "qmark")
    assert (dbapi.apilevel, dbapi.threadsafety, dbapi.paramstyle) == ("2.0", 1, "qmark")
    for name in EXCEPTIONS + TYPES:
        assert getattr(connector, name) is getattr(dbapi, name), name
        assert name in dir(connector) and name in connector.__all__
    assert issubclass(connector.Warning, Exception) and not issubclass(connector.Warning, connector.Error)
    for name in EXCEPTIONS[2:]:
        assert issubclass(getattr(connector, name), connector.Error), name
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert issubclass(getattr(connector, name), connector.DatabaseError), name
    assert connector.NUMBER == dbapi.type_code(dbapi.pa.decimal128(18, 2))
    assert connector.TimestampFromTicks(0).year == 1970 and connector.Binary(b"x") == b"x"


def test_importing_the_package_and_catching_its_errors_stays_cheap() -> None:
    code = ("import sys, json, connector\n"
            "v, e, lvl = connector.__version__, connector.DatabaseError, connector.apilevel\n"
            "print(json.dumps([m for m in ('pyarrow', 'duckdb', 'sqlglot', 'pandas', 'requests') "
            "if m in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_a_sync_prices_its_reads_without_the_sql_planner() -> None:
    """A migration or sync chooses each module's read API with the planner's cost model
    (:mod:`connector.planning.choice`), not its SQL front end: the Zoho source loads no sqlglot (a quarter
    of a second of every run's start), while the package's planner names still resolve on first use."""
    code = ("import sys, json\n"
            "import connector.sync.source_zoho, connector.planning.extras\n"
            "before = 'sqlglot' in sys.modules\n"
            "from connector.planning import plan_query, explain, Plan\n"
            "print(json.dumps([before, 'sqlglot' in sys.modules, callable(plan_query) and callable(explain)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [False, True, True]


@pytest.mark.parametrize(("env", "first", "pool"), [
    (None, "connector", "system"),  # the connector's default for a process it starts in
    ("mimalloc", "connector", "mimalloc"),  # the caller's choice stands
    ("jemalloc", "connector", "jemalloc"),
    (None, "pyarrow", "mimalloc"),  # pyarrow was there first: its pool may be in use, left as it is
])
def test_arrow_allocates_with_the_c_library_unless_the_caller_chose(env: str | None, first: str, pool: str) -> None:
    code = (f"import {first}\nimport connector, pyarrow as pa\n"
            "print(pa.default_memory_pool().backend_name)\n")
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env is not None:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         env=environ)
    assert out.stdout.strip() == pool
