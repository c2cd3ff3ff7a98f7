"""``zohocrm emulator``: serve one emulated data center until SIGINT/SIGTERM.

When ready it prints exactly one JSON line on stdout (origins, credentials and a
working connection string), so scripts can ``read`` it; everything else goes
to stderr. SIGINT and SIGTERM both stop it cleanly (the org and the tokens are
saved when ``--data-dir`` is given) with exit status 0.

Off loopback (``--host 0.0.0.0 --allow-remote``) it warns on stderr, and the JSON
line carries the ``admin_token`` every ``/__emulator/`` path then requires.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from . import Emulator

EXIT_CANNOT_LISTEN = 2


def serve(**settings: Any) -> int:
    """Run until a signal arrives; returns the process exit status.

    Raises ``ValueError`` for settings that make no sense (the caller reports it as a usage error).
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    emu = Emulator(**settings)
    try:
        try:
            emu.start()
        except OSError as exc:
            print(f"zohocrm emulator: cannot listen on {settings.get('host')}:{settings.get('port')}: {exc}",
                  file=sys.stderr)
            return EXIT_CANNOT_LISTEN
        try:
            if not stop.is_set():  # a signal during start-up: stop without announcing
                if not emu.settings.loopback:
                    print(remote_warning(emu), file=sys.stderr, flush=True)
                print(json.dumps(emu.info()), flush=True)
                print(f"zohocrm emulator: serving {emu.origin} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            emu.stop()
        print("zohocrm emulator: stopped", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def remote_warning(emu: Emulator) -> str:
    where = emu.settings.host or "every interface"
    return (f"zohocrm emulator: WARNING: listening on {where} port {emu.port}, reachable from other machines. "
            "Anyone who can reach it and holds the printed client secret or refresh token can read and change "
            "the emulated org; it speaks plain HTTP (no TLS). Every /__emulator/ path needs the admin token "
            "from the JSON line on stdout ('Authorization: Bearer <token>' or 'X-Emulator-Admin-Token').")
