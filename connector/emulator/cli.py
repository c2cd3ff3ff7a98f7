"""``zohocrm emulator``: serve one emulated data center until SIGINT/SIGTERM.

When ready it prints exactly one JSON line on stdout (origins, credentials and a
working connection string), so scripts can ``read`` it; everything else goes
to stderr.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from . import Emulator


def serve(**settings: Any) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emu = Emulator(**settings)
    try:
        emu.start()
    except OSError as exc:
        print(f"zohocrm emulator: cannot listen on {settings.get('host')}:{settings.get('port')}: {exc}",
              file=sys.stderr)
        return 2
    print(json.dumps(emu.info()), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0
