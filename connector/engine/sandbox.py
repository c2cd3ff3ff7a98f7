"""The engine's own DuckDB: a statement reaches Zoho tables and nothing else on the machine or network.

SQL over Zoho runs statements a user (or whoever writes the user's SQL) typed, in a process that
holds OAuth tokens. DuckDB can read any file (``read_csv('/etc/passwd')``, ``FROM 'x.csv'``), write
them (``COPY ... TO``), open URLs and download extensions, so the engine's connections are opened
with external access, extension auto-install and auto-load off, and the configuration locked so a
statement cannot turn them back on (``SET``, ``RESET``, ``PRAGMA`` are refused by DuckDB too).

The relations the engine registers from Python (Arrow streams and sources) still work: they are
not "external" to DuckDB. Python replacement scans are off too, so a statement cannot read a
Python variable of the engine by naming it.

A user's own DuckDB given to :func:`connector.duckdb.attach` is theirs: nothing here touches it.

DuckDB is the guarantee; the planner also refuses the file and network table functions by name
before any Zoho call (:mod:`connector.planning.external`), so the common cases get an error that
names the function, and :func:`refusal` words what DuckDB refused in every other case.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from connector.errors import NotSupportedError

#: Settings given when the connection opens (DuckDB rejects changing some of them later).
OPEN_SETTINGS: dict[str, Any] = {
    "enable_external_access": False,  # files, URLs, ATTACH, COPY, INSTALL: all refused
    "autoinstall_known_extensions": False,  # `FROM 'https://...'` would download httpfs otherwise
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "python_enable_replacements": False,  # `FROM some_variable` must not read the engine's frames
}

_NO_ACCESS = re.compile(r'Cannot access (?:file|directory) "([^"]*)"')
_LOCKED = re.compile(r'Cannot change configuration option "([^"]*)"')
_HINT = "to combine Zoho modules with files, attach Zoho to your own DuckDB with connector.duckdb.attach"


def sandboxed_connection() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection with no access outside itself, in UTC, settings locked."""
    con = duckdb.connect(config=dict(OPEN_SETTINGS))
    try:
        # TimeZone is ICU's setting: not accepted in connect()'s config, so set before the lock.
        con.execute("SET TimeZone='UTC'")
        # DuckDB draws a progress bar on stdout for a query that runs over 2 s (a read waiting on Zoho):
        # into a caller's output, a CSV piped on, a scheduler's log. The CLI draws its own bars.
        con.execute("SET enable_progress_bar=false")
        con.execute("SET lock_configuration=true")
    except BaseException:
        con.close()
        raise
    return con


class SandboxPool:
    """The sandboxed connections of one engine, reused from statement to statement.

    Opening one costs some 20 ms (a DuckDB database of its own, ICU's time zones); a statement takes an idle one
    (:meth:`take`) and gives it back when it has ended (:meth:`give_back`): the relations it registered are
    dropped, and the connection is kept only if nothing else is left in it and the statement ended cleanly. One
    that failed, was stopped, or whose result was left unread is closed instead. The settings stay locked from
    one statement to the next (a statement cannot change them), so a reused connection is one just opened."""

    def __init__(self, keep: int = 2) -> None:
        self._keep = keep
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return sandboxed_connection()

    @contextmanager
    def lent(self, relations: Iterable[str]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for work that ends within the block, given back when it ends cleanly (``relations``: what
        it registers), closed when the block raises."""
        con, ok = self.take(), False
        try:
            yield con
            ok = True
        finally:
            self.give_back(con, relations, ok)

    def give_back(self, con: duckdb.DuckDBPyConnection, relations: Iterable[str], reuse: bool) -> None:
        if reuse:
            try:
                for name in dict.fromkeys(relations):
                    con.unregister(name)
                # (a result still open on it, of the statement or of this, fails the next statement: read whole)
                left = con.execute("SELECT (SELECT count(*) FROM duckdb_views() WHERE NOT internal) + "
                                   "(SELECT count(*) FROM duckdb_tables())").fetchall()
                reuse = left == [(0,)]
            except duckdb.Error:
                reuse = False
        with self._lock:
            if reuse and not self._closed and len(self._idle) < self._keep:
                self._idle.append(con)
                return
        con.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()


def refusal(exc: BaseException) -> NotSupportedError | None:
    """What the sandbox refused, in words, when ``exc`` is DuckDB refusing it; else None."""
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException):
        path = _NO_ACCESS.search(text)
        if path is not None:
            return NotSupportedError(f"the statement tries to open {path.group(1)!r}, and SQL over Zoho "
                                     "has no access to files or the network", hint=_HINT)
        if "extension" in text.lower():
            return NotSupportedError("DuckDB extensions cannot be installed or loaded by SQL over Zoho",
                                     hint=_HINT)
        return NotSupportedError("the statement needs access outside DuckDB, which SQL over Zoho does not "
                                 "allow", hint=_HINT)
    locked = _LOCKED.search(text)
    if locked is not None:
        return NotSupportedError(f"the engine's DuckDB setting {locked.group(1)!r} cannot be changed by a "
                                 "statement", hint=_HINT)
    return None
