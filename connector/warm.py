"""Work a process will need soon, begun in the background while its first calls are on the wire."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_started = False


def _convert_once() -> None:
    try:
        import pyarrow as pa

        pa.array([""], pa.string())
    except Exception:  # noqa: BLE001  (a warm-up: the first real conversion reports any problem)
        pass


def arrow_in_background() -> None:
    """pyarrow imports pandas the first time it converts Python values (a fifth of a second or more, holding
    the import lock every other thread then waits on). A session or a run calls this as it starts, so that
    the import happens while its first calls wait for Zoho rather than when the first answers arrive (for a
    query: in the middle of its planning). Once per process; a thread of its own, which nothing waits for but
    the interpreter's exit: not a daemon, so a process that ends before the import does (a quick query, a run
    stopped at once) lets it finish first; C extensions torn down mid-import can abort the process at exit."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_convert_once, name="zoho-warm-arrow").start()
