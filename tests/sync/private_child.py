"""Migrations run by a child whose umask is 000 (``python -m tests.sync.private_child SPEC``).

argv[1] is JSON: ``{"watch": DIR, "runs": [{"source", "target", "options"}]}``. Every
progress report snapshots the mode of everything under ``watch`` (so files that live only
while a run writes — DuckDB's WAL, pending write batches, their journals — are seen too);
the union of what was seen is printed as JSON: ``{path: [mode, is_folder]}``, plus
``{"failed:<target>": rows_failed}`` per run.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from connector import migrate


def main() -> None:
    spec = json.loads(sys.argv[1])
    os.umask(0o000)  # the loosest a scheduler could leave: nothing may depend on it
    seen: dict[str, object] = {}

    def snapshot(*_: object) -> None:
        for folder, dirs, files in os.walk(spec["watch"]):
            for name in [*dirs, *files]:
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                    seen[path] = [stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode)]
                except FileNotFoundError:  # gone between the listing and the look
                    pass

    for run in spec["runs"]:
        result = migrate(run["source"], run["target"], progress=snapshot, **run.get("options", {}))
        snapshot()
        seen["failed:" + run["target"]] = int(result.rows_failed)
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
