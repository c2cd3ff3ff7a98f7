"""A stopping signal inside a commit (``connector.interrupts.held``) waits for the commit's end; inside a
migration's module (``module_scope``) it waits for the module's end once a commit has finished; a second
signal is raised at once. Real signals, sent by the process to itself with the CLI's handlers installed."""

from __future__ import annotations

import os
import signal

import pytest

from connector import interrupts
from connector.cli.common import Terminated, install_signal_handlers


@pytest.fixture
def handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    install_signal_handlers()
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    assert not interrupts.pending()


def send(sig: int) -> None:
    os.kill(os.getpid(), sig)  # the handler runs in this (the main) thread before the next line


def run(steps: list[str], sig: int) -> list[str]:
    """Run ``steps`` (``signal``, ``commit[`` ... ``]``, ``module[`` ... ``]``, ``note``), return what happened in
    order: ``raised@<step index>`` where the stop surfaced and ``reached@<i>`` for each ``note`` reached."""
    log: list[str] = []
    stack = []
    try:
        for i, step in enumerate(steps):
            if step == "signal":
                send(sig)
            elif step == "note":
                log.append(f"reached@{i}")
            elif step in ("commit[", "module["):
                cm = interrupts.held() if step == "commit[" else interrupts.module_scope()
                cm.__enter__()
                stack.append(cm)
            elif step == "]":
                stack.pop().__exit__(None, None, None)
    except KeyboardInterrupt as exc:
        log.append(f"raised@{i}" + (":term" if isinstance(exc, Terminated) else ""))
        while stack:
            stack.pop().__exit__(type(exc), exc, None)
    return log


CASES = [
    # no commit: a signal stops at once
    (["signal", "note"], ["raised@0"]),
    # inside a commit: held until the commit ends, then raised there
    (["commit[", "signal", "note", "]", "note"], ["reached@2", "raised@3"]),
    # nested commits: raised as the outermost ends
    (["commit[", "commit[", "signal", "]", "note", "]"], ["reached@4", "raised@5"]),
    # a commit inside a module: held through the rest of the module, raised as it ends
    (["module[", "commit[", "signal", "]", "note", "]", "note"], ["reached@4", "raised@5"]),
    # after a module's commit, a signal still waits for the module's end (its result is being recorded)
    (["module[", "commit[", "]", "signal", "note", "]"], ["reached@4", "raised@5"]),
    # in a module before any commit: at once
    (["module[", "signal", "note", "]"], ["raised@1"]),
    # the next module starts unsealed
    (["module[", "commit[", "]", "]", "module[", "signal", "]"], ["raised@5"]),
    # a second signal while one is held: at once
    (["commit[", "signal", "note", "signal", "note", "]"], ["reached@2", "raised@3"]),
]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(("steps", "want"), CASES)
def test_where_a_stop_surfaces(handlers, steps, want, sig):
    got = run(steps, sig)
    if sig == signal.SIGTERM:
        want = [w + ":term" if w.startswith("raised") else w for w in want]
    assert got == want
    assert interrupts.received() == sig


def test_a_commit_that_fails_lets_its_error_through_and_the_stop_surfaces_at_the_next_hold(handlers):
    with pytest.raises(OSError, match="disk full"):
        with interrupts.held():
            send(signal.SIGINT)
            raise OSError("disk full")
    assert interrupts.pending()
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            pass


def test_outside_the_main_thread_a_hold_changes_nothing():
    import threading

    seen: list[bool] = []

    def worker() -> None:
        with interrupts.held(), interrupts.module_scope():
            seen.append(interrupts.pending())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [False]
