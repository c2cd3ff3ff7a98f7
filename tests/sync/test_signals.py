"""Ctrl-C and SIGTERM sent to a real ``zohocrm migrate`` process in the middle of a module.

The process must say what it kept and how to resume (never a traceback, ``internal error``
or DuckDB's ``Query interrupted``), exit 130 / 143, and leave the target resumable: the
command it advises, run again, makes the target equal the source with nothing twice — for a
DuckDB target, a Parquet target and a Zoho target (a second org, compared through the id
map). The signal is sent when the process reports rows of its second module (plain progress
lines, as off a terminal), so one module is committed and one is half done. How fast the
process stops is measured by hand (README "Migrate and sync"), not asserted here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from connector.emulator import Emulator
from connector.sync import migrate

from .helpers import ALLOW, MODULES, assert_same, source, truth
from .roundtrip import clear_org
from .test_crash_safety import read
from .test_zoho_target import check_copy

ROOT = Path(__file__).resolve().parents[2]
PAGE = ";PageSize=25"


def migrate_until(args: list[str], *, modules_seen: int, sig: int, at_start: bool = False
                  ) -> subprocess.CompletedProcess[str]:
    """Run ``zohocrm migrate ARGS``; send ``sig`` once rows of the ``modules_seen``-th module are reported
    (``at_start``: as soon as that module starts)."""
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "migrate", *args, "--progress-every", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stderr is not None and proc.stdout is not None
    lines: list[str] = []
    started: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        module, _, rest = line.partition(": ")
        if rest and rest[0].isdigit() and module not in started:
            started.append(module)
        if len(started) >= modules_seen and rest and (at_start or not rest.startswith("0 rows")):
            proc.send_signal(sig)
            break
    else:
        raise AssertionError("the run ended before the signal could be sent:\n" + "".join(lines))
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(lines) + err)


def assert_stopped_cleanly(proc: subprocess.CompletedProcess[str], sig: int) -> str:
    word = "interrupted" if sig == signal.SIGINT else "terminated"
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), proc.stderr
    for bad in ("Traceback", "internal error", "Query interrupted", "KeyboardInterrupt", "RuntimeError"):
        assert bad not in proc.stderr, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith(f"{word}:")]
    assert len(said) == 1, proc.stderr
    assert "kept" in said[0] and "resume" in said[0] and "--incremental" in said[0], said[0]
    return said[0]


def committed(kind: str, where: Path, module: str) -> bool:
    if kind == "parquet":
        return (where / f"{module}.parquet").exists()
    con = duckdb.connect(str(where), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                [module]).fetchone()[0])
    finally:
        con.close()


def zohocrm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector.cli", "migrate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize(("kind", "sig"), [("duckdb", signal.SIGINT), ("duckdb", signal.SIGTERM),
                                           ("parquet", signal.SIGTERM), ("parquet", signal.SIGINT)])
def test_a_signal_mid_migration_keeps_what_committed_and_the_advised_rerun_completes(kind, sig, tmp_path):
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=1_200, seed=91, latency_ms=15) as emu:
        args = ["--source", emu.connection_string + PAGE, "--target", f"{kind}:{where}"]
        stopped = migrate_until(args + (["--json"] if kind == "parquet" else []), modules_seen=2, sig=sig)
        said = assert_stopped_cleanly(stopped, sig)
        assert " loaded and kept; " in said, said
        kept_part, stopped_in = said.split(": ", 1)[1].split("; ")[:2]
        kept = re.split(r", | and ", kept_part.rsplit(" w", 1)[0])  # "A, B and C were loaded and kept"
        # Mostly the signal lands in the second module's reads; when it lands as that module commits, the
        # commit finishes first and the module is kept (test_a_signal_inside_a_commit_... sends it there).
        second = stopped_in.split(" was not committed")[0] if " was not committed" in stopped_in else None
        assert second is not None or (len(kept) == 2 and " not started " in stopped_in), said
        src = source(emu)
        try:
            # What the message says is true of the target: kept modules are whole, the stopped one untouched.
            for module in kept:
                ts = src.session.catalog.table(module)
                assert_same(module, read(kind, where, module, ts.arrow_schema), truth(emu, ts))
            assert second is None or not committed(kind, where, second)
            if kind == "parquet":  # --json: the same story, for a scheduler
                doc = json.loads(stopped.stdout)
                assert doc["exit_status"] == stopped.returncode and doc["interrupted"]["in_module"] == second
                assert [m["module"] for m in doc["modules"]] == kept and doc["interrupted"]["message"] == said
            again = zohocrm(*args, "--incremental")
            assert again.returncode == 0, again.stderr
            for m in MODULES:
                ts = src.session.catalog.table(m)
                assert_same(m, read(kind, where, m, ts.arrow_schema), truth(emu, ts))
        finally:
            src.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_into_zoho_then_the_rerun_writes_nothing_twice(sig, tmp_path):
    with Emulator(org="classic", records=400, seed=93) as a, Emulator(org="classic", records=0, seed=94, latency_ms=25) as b:
        clear_org(b)
        pq_dir, state = tmp_path / "pq", tmp_path / "state.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}").ok
        args = ["--source", f"parquet:{pq_dir}", "--target", b.connection_string + ALLOW, "--state", str(state),
                "--write-api", "rest"]
        said = assert_stopped_cleanly(migrate_until(args, modules_seen=2, sig=sig), sig)
        assert "stopped part way" in said or "stopped before its first batch" in said, said
        # nothing failed: an interrupt is not a failure (the per-file report lists the photos sent)
        assert not list(tmp_path.glob("state.reports/report-*.csv"))
        assert not [line for p in tmp_path.glob("state.reports/files-*.csv")
                    for line in p.read_text().splitlines() if ",failed," in line]
        again = zohocrm(*args, "--incremental")
        assert again.returncode == 0, again.stderr
        check_copy(a, b, state, tmp_path, f"after-{sig}")


def test_ctrl_c_inside_a_long_duckdb_statement_is_an_interrupt_not_an_internal_error(tmp_path):
    """A DuckDB source big enough that the signal lands inside DuckDB's own work (it then raises
    "Query interrupted" instead of KeyboardInterrupt): still a clean stop, and a clean re-run."""
    src = tmp_path / "big.duckdb"
    con = duckdb.connect(str(src))
    con.execute("CREATE TABLE Small AS SELECT CAST(i AS VARCHAR) AS id, 'row ' || i AS Name FROM range(2000) t(i)")
    con.execute("CREATE TABLE Wide AS SELECT CAST(i AS VARCHAR) AS id, md5(CAST(i AS VARCHAR)) AS Name, "
                "i * 3 AS Amount FROM range(1000000) t(i)")
    con.close()
    target = tmp_path / "copy.duckdb"
    args = ["--source", f"duckdb:{src}", "--target", f"duckdb:{target}", "--modules", "Small,Wide"]
    said = assert_stopped_cleanly(migrate_until(args, modules_seen=2, sig=signal.SIGINT, at_start=True),
                                  signal.SIGINT)
    assert said.startswith("interrupted: Small was loaded and kept; Wide was not committed"), said
    again = zohocrm(*args, "--incremental")
    assert again.returncode == 0, again.stderr
    con = duckdb.connect(str(target), read_only=True)
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        for table in ("Small", "Wide"):
            n, distinct, missing = con.execute(
                f"SELECT count(*), count(DISTINCT id), (SELECT count(*) FROM (SELECT * FROM src.{table} "
                f"EXCEPT SELECT id, Name{', Amount' if table == 'Wide' else ''} FROM {table})) FROM {table}").fetchone()
            assert n == distinct == con.execute(f"SELECT count(*) FROM src.{table}").fetchone()[0] and missing == 0
    finally:
        con.close()


def _duckdb_interrupted() -> BaseException:
    """The error a real DuckDB statement ends with when it is interrupted mid-run."""
    import threading

    con = duckdb.connect()
    timer = threading.Timer(0.2, con.interrupt)
    timer.start()
    try:
        con.execute("SELECT count(*) FROM range(10000000000) t(x) WHERE x % 7 = 3").fetchall()
    except BaseException as exc:  # noqa: BLE001 - the very object DuckDB raised is the point
        return exc
    finally:
        timer.join()
        con.close()
    raise AssertionError("the statement was not interrupted")


def _duckdb_callback_interrupted() -> BaseException:
    """What DuckDB raises when the signal's exception ends its read of a registered Arrow object (the
    target registering a batch as Ctrl-C arrives)."""
    class Interrupted:
        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            raise KeyboardInterrupt

    con = duckdb.connect()
    try:
        con.register("_zoho_batch", Interrupted())
        con.execute("SELECT * FROM _zoho_batch").fetchall()
    except BaseException as exc:  # noqa: BLE001 - the very object DuckDB raised is the point
        return exc
    finally:
        con.close()
    raise AssertionError("the read was not interrupted")


@pytest.mark.parametrize(("make", "interrupt", "noted", "status"), [
    (lambda: RuntimeError("Query interrupted"), True, None, 130),  # what DuckDB raises on SIGINT
    (lambda: RuntimeError("Query interrupted"), True, signal.SIGTERM, 143),  # ... and on SIGTERM
    (_duckdb_interrupted, True, None, 130),
    (_duckdb_callback_interrupted, True, None, 130),
    (_duckdb_callback_interrupted, True, signal.SIGTERM, 143),
    (lambda: duckdb.InvalidInputException("reading the schema failed: ValueError: bad"), False, None, 70),
    (KeyboardInterrupt, True, None, 130),
    (lambda: RuntimeError("something else"), False, None, 70),
    (lambda: ValueError("Query interrupted"), False, None, 70),
])
def test_every_shape_of_an_interrupt_ends_as_one(make, interrupt, noted, status, monkeypatch, capsys):
    from connector import interrupts
    from connector.cli.common import friendly_errors

    monkeypatch.setattr(interrupts, "_received", noted)
    exc = make()
    assert interrupts.is_interrupt(exc) is interrupt
    if interrupt:
        stop = interrupts.as_interrupt(exc)
        assert isinstance(stop, KeyboardInterrupt)
        assert isinstance(stop, interrupts.Terminated) is (noted == signal.SIGTERM)
    with pytest.raises(SystemExit) as ended, friendly_errors():
        raise exc
    assert ended.value.code == status
    said = capsys.readouterr().err
    assert ("internal error" in said) is (status == 70)


@pytest.mark.parametrize(("kind", "at", "sig"), [("parquet", "renamed", signal.SIGINT),
                                                 ("parquet", "committed", signal.SIGTERM),
                                                 ("duckdb", "in_transaction", signal.SIGTERM),
                                                 ("duckdb", "committed", signal.SIGINT)])
def test_a_signal_inside_a_commit_waits_for_it_and_the_module_is_said_kept(kind, at, sig, tmp_path):
    """The signal lands at an exact point of the second module's commit (``signal_child``): between a
    file's rename and its manifest, inside DuckDB's transaction, or after the commit before the run has
    recorded it. The commit finishes first, so the message and ``--json`` count the module as kept (not
    "was not committed" of data that is there), the target owns it, and the rerun goes on from it. A file
    target commits behind the run (its own thread): there the signal reaches the run wherever it is, the
    module's turn or the next one's, and the next module, if its turn was under way, is said not committed
    and is not (a module already handed over is kept: the run waits for its commit)."""
    where = tmp_path / ("crm.duckdb" if kind == "duckdb" else "out")
    with Emulator(org="classic", records=300, seed=95) as emu:
        args = ["--source", emu.connection_string + PAGE, "--target", f"{kind}:{where}"]
        spec = {"args": [*args, "--json"], "at": at, "nth": 2, "sig": int(sig)}
        proc = subprocess.run([sys.executable, "-m", "tests.sync.signal_child", json.dumps(spec)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        said = assert_stopped_cleanly(proc, sig)
        doc = json.loads(proc.stdout)
        kept = [m["module"] for m in doc["modules"]]
        stopped_in = doc["interrupted"]["in_module"]
        if kind == "parquet" and at == "renamed":  # the commit ran behind the run
            assert len(kept) in (2, 3) and stopped_in in (None, MODULES[len(kept)]), doc
            assert (f"{stopped_in} was not committed" in said) is (stopped_in is not None), said
        else:
            assert "was not committed" not in said, said
            assert len(kept) == 2 and stopped_in is None, doc
        assert kept[:2] == list(MODULES[:2]) and " and ".join([", ".join(kept[:-1]), kept[-1]]) + \
            " were loaded and kept" in said, said
        src = source(emu)
        try:
            if stopped_in is not None:
                assert not committed(kind, where, stopped_in)
            for module in kept:
                assert committed(kind, where, module)
                ts = src.session.catalog.table(module)
                assert_same(module, read(kind, where, module, ts.arrow_schema), truth(emu, ts))
            if kind == "parquet":  # the manifest owns what is on disk: nothing else was renamed into place
                manifest = json.loads((where / "_zohocrm_state.json").read_text())
                assert sorted(manifest["modules"]) == sorted(kept)
                assert sorted(p.stem for p in where.glob("*.parquet")) == sorted(kept)
            again = zohocrm(*args, "--incremental", "--json")
            assert again.returncode == 0, again.stderr
            modes = {m["module"]: m["mode"] for m in json.loads(again.stdout)["modules"]}
            assert all(modes[m] == "incremental" for m in kept), modes
            for m in MODULES:
                ts = src.session.catalog.table(m)
                assert_same(m, read(kind, where, m, ts.arrow_schema), truth(emu, ts))
        finally:
            src.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_changed_files_are_written_behind_the_run_keeps_every_module_handed_over(sig, tmp_path):
    """An incremental run into Parquet writes each changed module's file behind the run (its rewrite on a
    thread of its own) while it takes the next module. A signal as the second rewrite begins stops the run,
    but only once every rewrite handed over has committed: each module the message and ``--json`` count as
    kept holds its new rows and the state that goes with them, the rest are as they were, and the advised
    rerun completes the sync."""
    where = tmp_path / "out"
    changed = ["Accounts", "Contacts", "Deals", "Leads", "Tasks"]
    with Emulator(org="classic", records=600, seed=97) as emu:
        args = ["--source", emu.connection_string + PAGE, "--target", f"parquet:{where}"]
        assert zohocrm(*args).returncode == 0
        before = json.loads((where / "_zohocrm_state.json").read_text())["modules"]
        for i, module in enumerate(changed):
            emu.mutate(module, updates=12, creates=3, deletes=2, seed=40 + i)
        emu.advance_clock(2)
        spec = {"args": [*args, "--incremental", "--json"], "at": "rewriting", "nth": 2, "sig": int(sig)}
        proc = subprocess.run([sys.executable, "-m", "tests.sync.signal_child", json.dumps(spec)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        word = "interrupted" if sig == signal.SIGINT else "terminated"
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
        said = next(line for line in proc.stderr.splitlines() if line.startswith(f"{word}:"))
        assert " kept" in said and "run the same command again to resume" in said, said
        doc = json.loads(proc.stdout)
        kept = [m["module"] for m in doc["modules"]]
        assert len(kept) >= 2 and "was not committed" not in said.split(kept[1])[0], said  # both handed over
        after = json.loads((where / "_zohocrm_state.json").read_text())["modules"]
        src = source(emu)
        try:
            for module in MODULES:
                ts = src.session.catalog.table(module)
                got, want = _versions(read("parquet", where, module, ts.arrow_schema)), _versions(truth(emu, ts))
                if module in kept:  # committed with its state: its rows are the source's now
                    assert got == want, module
                elif module in changed:  # not reached: as the last run left it, its state too
                    assert got != want and after[module]["state"] == before[module]["state"], module
            assert doc["interrupted"]["message"] == said
            again = zohocrm(*args, "--incremental")
            assert again.returncode == 0, again.stderr
            for module in MODULES:
                ts = src.session.catalog.table(module)
                assert _versions(read("parquet", where, module, ts.arrow_schema)) == _versions(truth(emu, ts))
        finally:
            src.close()


def _versions(table) -> set[tuple[object, object]]:
    """Which version of each record a table holds (a lookup's name can lag behind a rename: Zoho makes no edit
    of it that a delta would see)."""
    return set(zip(table.column("id").to_pylist(), table.column("Modified_Time").to_pylist(), strict=True))
