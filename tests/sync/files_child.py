"""A migration into Zoho in a child process that a test kills (``python -m tests.sync.files_child``).

argv[1] is JSON: ``{"source", "target", "options"}``. Prints ``ready`` once imported, and
``start <module>`` when each module begins (flushed), so the test knows when to strike.
"""

from __future__ import annotations

import json
import sys

from connector.sync import migrate


def main() -> None:
    spec = json.loads(sys.argv[1])

    def hook(module: str, phase: str, rows: int) -> None:
        if phase == "start":
            print(f"start {module}", flush=True)

    print("ready", flush=True)
    result = migrate(spec["source"], spec["target"], progress=hook, **spec.get("options", {}))
    print(json.dumps({"ok": result.ok}), flush=True)


if __name__ == "__main__":
    main()
