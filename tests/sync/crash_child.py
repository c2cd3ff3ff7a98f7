"""A migration run in a child process that the crash tests kill (``python -m tests.sync.crash_child``).

argv[1] is JSON: ``{"source", "target", "incremental", "kill_after", "options"}``. The
child prints ``ready`` once imported (timer kills count from there) and, when
``kill_after`` is set, SIGKILLs itself from the progress hook after that many
batches — no cleanup, no ``finally``, exactly like ``kill -9``.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from connector.sync import migrate


def main() -> None:
    spec = json.loads(sys.argv[1])
    seen = [0]

    def hook(module: str, phase: str, rows: int) -> None:
        seen[0] += 1
        if spec.get("kill_after") and seen[0] >= spec["kill_after"]:
            os.kill(os.getpid(), signal.SIGKILL)

    print("ready", flush=True)
    result = migrate(spec["source"], spec["target"], incremental=bool(spec.get("incremental")), progress=hook,
                     **spec.get("options", {}))
    print(json.dumps({"ok": result.ok, "batches": seen[0]}), flush=True)


if __name__ == "__main__":
    main()
