"""The audit log's group commit: lines written before record() returns, fsyncs shared by reads,
refusals and writes on disk before their answer leaves (connector/http/audit.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from connector.http.audit import HEAD_SIZE, AuditLog, verify_audit_log

ROOT = Path(__file__).resolve().parents[2]


def synced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files fsynced from now on (the real fsync still runs: this only notes which file)."""
    done: list[str] = []
    real = os.fsync

    def fsync(fd: Any) -> None:
        real(fd)
        done.append(os.readlink(f"/proc/self/fd/{fd if isinstance(fd, int) else fd.fileno()}"))

    monkeypatch.setattr(os, "fsync", fsync)
    return done


def read(log: AuditLog, i: int, **kw: Any) -> None:
    log.record(method="GET", path=f"/crm/v8/Leads?page={i}", status=200, records=200, credits=1,
               operation="list_records", module="Leads", decision="allow", **kw)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="names fsynced files through /proc")
def test_a_refusal_and_a_write_are_on_disk_before_record_returns(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    done = synced(monkeypatch)
    log.record(method="GET", path="/crm/v8/Deals", status="denied", operation="list_records", module="Deals",
               decision="deny", reason="not listed")
    assert str(log.path) in done and str(log.head_path) in done
    assert done.index(str(log.path)) < done.index(str(log.head_path))  # the log before its head
    done.clear()
    log.record(method="POST", path="/crm/v8/Leads", status=201, records=3, operation="insert", module="Leads",
               decision="allow")
    assert {str(log.path), str(log.head_path)} <= set(done)
    assert verify_audit_log(log.path).ok


def test_reads_share_their_fsyncs_and_a_killed_process_keeps_every_line(tmp_path: Path) -> None:
    # A process writes 300 read lines as fast as it can, says how many fsyncs that took, and is
    # killed at once (no flush, no exit handlers): every line it returned from must be in the log.
    path = tmp_path / "reads.jsonl"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from connector.http.audit import AuditLog
        count = [0]
        real = os.fsync
        def fsync(fd):
            count[0] += 1
            real(fd)
        os.fsync = fsync
        log = AuditLog({str(path)!r})
        for i in range(300):
            log.record(method="GET", path="/crm/v8/Leads", status=200, records=200, credits=1,
                       operation="list_records", module="Leads", decision="allow")
        print(count[0], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == -9, p.stderr
    fsyncs = int(p.stdout)
    assert fsyncs < 300 / 2  # one pair a batch, not one (and a rename) a line
    verdict = verify_audit_log(path)
    assert verdict.ok and verdict.lines == 300, verdict


def test_flush_makes_read_lines_durable_and_the_head_is_one_block(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(5):
        read(log, i)
    assert verify_audit_log(log.path).ok  # written (not yet necessarily synced) when record returned
    log.flush()
    log.flush()  # nothing new: no second pair needed, but harmless
    assert log._durable == 5  # flush returns once every line written so far is synced
    assert log.head_path.stat().st_size == HEAD_SIZE
    assert json.loads(log.head_path.read_text())["seq"] == 5
    # The head moves with every line, synced or not: a cut end is caught as before.
    read(log, 5)
    text = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(text[:-2]))
    verdict = verify_audit_log(log.path)
    assert not verdict.ok and "removed from the end" in verdict.problem


def test_a_head_written_by_an_older_version_is_continued(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(3):
        read(log, i)
    head = json.loads(log.head_path.read_text())
    log.head_path.write_text(json.dumps(head) + " " * 300)  # an older head: another size
    later = AuditLog(log.path)
    read(later, 3)
    later.flush()
    verdict = verify_audit_log(log.path)
    assert verdict.ok and verdict.lines == 4 and log.head_path.stat().st_size == HEAD_SIZE


def test_the_flusher_thread_ends_when_the_log_is_idle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.http.audit.IDLE_EXIT_S", 0.05)
    log = AuditLog(tmp_path / "a.jsonl")
    read(log, 0)
    first = log._flusher
    assert first is not None
    first.join(timeout=30)  # nothing more to write: it ends instead of waiting for ever
    assert not first.is_alive() and log._flusher is None
    read(log, 1)  # the next line starts another, and its line is committed as before
    log.flush()
    assert log._durable == 2 and verify_audit_log(log.path).ok
