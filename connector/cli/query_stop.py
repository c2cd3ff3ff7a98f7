"""Ctrl-C and SIGTERM stop ``zohocrm query`` at once, whatever thread is busy when they arrive.

Python runs signal handlers only in the main thread, and only when it runs Python code; while a
query runs, the main thread often waits inside DuckDB for its worker threads, which in turn wait
on Zoho. So the signal is also delivered through ``signal.set_wakeup_fd`` to a small watcher
thread, which calls ``engine.interrupt()``: the readers stop within a fraction of a second, DuckDB
returns, and the main thread raises KeyboardInterrupt (Ctrl-C) or Terminated (SIGTERM) as usual.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .common import Terminated

_WAKE = b"\x00"  # not a signal number: the watcher's own "stop watching"


@contextmanager
def stop_on_signals(engine: Any) -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM interrupt ``engine`` from a watcher thread as well."""
    if threading.current_thread() is not threading.main_thread():
        yield  # set_wakeup_fd belongs to the main thread; the plain handlers still apply
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter, or signals unavailable
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum == signal.SIGTERM:
                    engine.interrupt(Terminated)
                elif signum == signal.SIGINT:
                    engine.interrupt(KeyboardInterrupt)

    watcher = threading.Thread(target=watch, name="zohocrm-signal-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        done.set()
        try:
            os.write(write_fd, _WAKE)
        except OSError:
            pass
        watcher.join(timeout=1)
        os.close(write_fd)
        os.close(read_fd)
