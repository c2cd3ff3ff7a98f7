"""One object per connection, made on first use and gone with it.

Some state belongs to a connection rather than to a read or a write on it: the Bulk Write jobs it waits for
(``writers.bulk.JobLine``), the Bulk Read jobs (``readers.bulk_queue.BulkQueue``), Zoho's clock as its answers
tell it (``writers.reconcile.ServerClock``). Every read and write on the connection shares its HTTP client, so
that client is the key; the object goes when the client does (a weak key), and two connections never share one.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerConnection(Generic[T]):
    """Called with a connection (its HTTP client): that connection's ``T``, made by ``make()`` on first use."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._made: weakref.WeakKeyDictionary[object, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, connection: object) -> T:
        with self._lock:
            found = self._made.get(connection)
            if found is None:
                found = self._made[connection] = self._make()
            return found
