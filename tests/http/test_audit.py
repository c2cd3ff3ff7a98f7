"""The audit log: one hash-chained JSON line per API call, and `zohocrm audit verify` catching tampering."""

from __future__ import annotations

import json
import random
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from connector.cli.main import cli
from connector.emulator import Emulator
from connector.errors import FatalApiError, StateError
from connector.http.audit import AuditLog, verify_audit_log
from tests.http.support import configure, conn, fast_session, stats

FIELDS = {"time", "method", "path", "status", "code", "records", "credits", "operation", "seq", "prev", "hash"}


@pytest.fixture
def audited(make_emulator: Callable[..., Emulator], tmp_path: Path) -> tuple[Emulator, Path]:
    """A private emulator and an audit log of a small session against it (one failing call included)."""
    emu = make_emulator(records=30, seed=5)
    log = tmp_path / "audit" / "calls.jsonl"
    with fast_session(conn(emu, AuditLog=str(log), MaxRetries=5)) as s:
        s.http.get("/org")
        s.http.get("/Leads", params={"fields": "Last_Name", "per_page": 7, "sort_by": "id"})
        with pytest.raises(FatalApiError):
            s.http.get("/Nope")
        configure(emu, fault_rate=0.5, fault_kinds=["500"])
        for _ in range(4):
            s.http.get("/users", params={"type": "CurrentUser"})
    return emu, log


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def verify_cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", str(path)])
    return result.exit_code, result.output


def test_one_line_per_api_call_with_the_documented_fields(audited):
    emu, log = audited
    entries = lines(log)
    crm_calls = stats(emu)["calls_total"] - stats(emu)["calls"].get("token", 0)
    assert len(entries) == crm_calls  # every attempt, retries included; token calls are not CRM calls
    assert all(FIELDS <= set(e) for e in entries)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    first, listing, bad = entries[:3]
    assert (first["method"], first["status"], first["credits"]) == ("GET", 200, 1)
    assert listing["records"] == 7 and "?" not in listing["path"] and listing["path"].endswith("/crm/v8/Leads")
    assert bad["code"] == "INVALID_MODULE" and bad["credits"] == 1 and 400 <= bad["status"] < 500
    faults = [e for e in entries if e["status"] == 500]
    assert faults and all(e["credits"] == 0 for e in faults)
    assert sum(e["credits"] for e in entries) == stats(emu)["credits_used"]


def test_an_intact_log_verifies(audited):
    _, log = audited
    verdict = verify_audit_log(log)
    assert verdict.ok and verdict.lines == len(lines(log))
    code, out = verify_cli(log)
    assert code == 0 and out.startswith("OK:")


def _edit(rows: list[str]) -> list[str]:
    row = json.loads(rows[1])
    row["status"] = 200 if row["status"] != 200 else 201
    return [rows[0], json.dumps(row, separators=(",", ":")), *rows[2:]]


TAMPERINGS: dict[str, Callable[[list[str]], list[str]]] = {
    "edit a line": _edit,
    "delete a middle line": lambda rows: rows[:2] + rows[3:],
    "delete the last line": lambda rows: rows[:-1],
    "reorder two lines": lambda rows: [rows[1], rows[0], *rows[2:]],
    "append a forged line": lambda rows: [*rows, rows[-1]],
    "garbage line": lambda rows: [*rows[:2], "not json", *rows[2:]],
}


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_tampering_is_detected(audited, how):
    _, log = audited
    rows = log.read_text().splitlines()
    log.write_text("\n".join(TAMPERINGS[how](rows)) + "\n")
    verdict = verify_audit_log(log)
    assert not verdict.ok and verdict.problem
    code, out = verify_cli(log)
    assert code == 1 and "TAMPERED" in out


def test_a_missing_head_file_fails_closed(audited):
    _, log = audited
    log.with_name(log.name + ".head").unlink()
    assert not verify_audit_log(log).ok
    assert verify_cli(log)[0] == 1


def test_verify_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StateError, match="not found"):
        verify_audit_log(tmp_path / "nope.jsonl")
    code, out = verify_cli(tmp_path / "nope.jsonl")
    assert code == 7 and "not found" in out


def test_writers_in_several_threads_keep_one_chain(tmp_path):
    path = tmp_path / "shared.jsonl"

    def write(n: int) -> None:
        log = AuditLog(path)  # each its own object: the file lock, not a shared mutex, orders them
        for i in range(25):
            log.record(method="GET", path=f"/crm/v8/Leads/{n}{i}", status=200, credits=1)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = verify_audit_log(path)
    assert verdict.ok and verdict.lines == 100


def test_paths_are_logged_without_query_or_secrets(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    log.record(method="POST", path="https://x/oauth/v2/token?refresh_token=1000.abc&client_secret=zzz",
               status=200)
    assert lines(tmp_path / "a.jsonl")[0]["path"] == "https://x/oauth/v2/token"


@given(st.lists(st.integers(min_value=100, max_value=599), min_size=2, max_size=12), st.randoms())
def test_any_single_change_breaks_the_chain(statuses, rnd: random.Random):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        log = AuditLog(path)
        for i, status in enumerate(statuses):
            log.record(method="GET", path=f"/crm/v8/Leads/{i}", status=status, credits=i % 3)
        assert verify_audit_log(path).ok
        rows = path.read_text().splitlines()
        i = rnd.randrange(len(rows))
        row = json.loads(rows[i])
        field = rnd.choice(["status", "credits", "path", "method", "time"])
        row[field] = f"{row[field]}x"
        rows[i] = json.dumps(row, separators=(",", ":"))
        path.write_text("\n".join(rows) + "\n")
        assert not verify_audit_log(path).ok
