"""``zohocrm migrate`` in a child process that signals itself at an exact point of a commit
(``python -m tests.sync.signal_child SPEC``), for the tests of a stop that lands inside one.

SPEC is JSON: ``{"args": [...migrate's arguments], "at": POINT, "nth": N, "sig": SIGNUM}``. The
signal is sent by the process to itself (its handler runs at once, in the main thread, as a
terminal's Ctrl-C would) at the N-th time the run passes POINT:

* ``renamed``: a file target has renamed a module's new file into place, its manifest not
  written yet;
* ``in_transaction``: a DuckDB target is inside the transaction that commits a module (its
  table swapped, its state being written);
* ``committed``: the module's commit is over, its result not recorded by the run yet;
* ``rewriting``: an incremental run into a file target has handed a changed module's rewrite to the
  thread that writes it behind the run, which has begun it (the signal comes from that thread; the
  main thread takes it wherever the run is).

The command then runs as ``zohocrm`` does (``connector.cli.main``); its exit status is the
child's. The points are reached through the targets' own functions, wrapped here only to
send the signal at that moment.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from connector.cli.main import main as zohocrm
from connector.sync import files, target_duckdb


def signal_at(owner: Any, name: str, spec: dict[str, Any], *, before: bool = False) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    seen = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            _count(seen, spec)
        out = original(*args, **kwargs)
        if not before:
            _count(seen, spec)
        return out

    setattr(owner, name, wrapped)


def _count(seen: list[int], spec: dict[str, Any]) -> None:
    seen[0] += 1
    if seen[0] == spec["nth"]:
        os.kill(os.getpid(), int(spec["sig"]))


def main() -> int:
    spec = json.loads(sys.argv[1])
    if spec["at"] == "renamed":  # the directory's fsync right after the rename, before the manifest
        signal_at(files, "fsync_dir", spec, before=True)
    elif spec["at"] == "in_transaction":
        signal_at(target_duckdb.DuckDBTarget, "_save_state", spec)
    elif spec["at"] == "committed":  # the first thing the run asks of the target once a module committed
        for cls in (files.FileTarget, target_duckdb.DuckDBTarget):
            signal_at(cls, "module_stats", spec, before=True)
    elif spec["at"] == "rewriting":
        signal_at(files.FileTarget, "_rewrite", spec, before=True)
    else:
        raise SystemExit(f"unknown point {spec['at']!r}")
    sys.argv = ["zohocrm", "migrate", *spec["args"]]
    return zohocrm()  # as the command's script calls it: its own process (connector.warm.command_process)


if __name__ == "__main__":
    sys.exit(main())
