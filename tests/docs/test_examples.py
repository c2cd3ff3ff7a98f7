"""Every example in README.md and connection_strings/ runs as written against the emulator.

How a block maps to a run (placeholders, files, servers, lines not run) is in :mod:`.examples`.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import connector
import connector.duckdb
from connector.config import parse_connection_string, read_connection_file
from connector.emulator import Emulator

from .examples import (
    CONNECTION_FILES,
    FILES,
    NOT_RUN,
    README,
    REPO,
    Block,
    Org,
    Query,
    example_queries,
    has_commands,
    readme_blocks,
    runnable_lines,
    runs_on_spark,
    substitute,
)

BLOCKS = readme_blocks()
RUN = [b for b in BLOCKS if not runs_on_spark(b) and (b.language == "python" or has_commands(runnable_lines(b)[0])
                                                      or runnable_lines(b)[1])]
TIMEOUT_S = 600


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    # The second org has no Leads: the few a generated org has share unique External_Ref values
    # with the first org's, and would (rightly) refuse the copies as duplicates.
    with Emulator(records=500, seed=42) as source, Emulator(records=0, seed=43, sizes={"Leads": 0}) as target:
        yield Org(source.connection_string, target.connection_string)


def command_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder whose ``zohocrm`` the examples run: the installed one, else a stand-in for this checkout."""
    installed = Path(sys.executable).parent
    if (installed / "zohocrm").exists():
        return installed
    folder = tmp_path_factory.mktemp("bin")
    shim = folder / "zohocrm"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m connector.cli "$@"\n')
    shim.chmod(0o755)
    (folder / "python").symlink_to(sys.executable)
    return folder


def write_files(folder: Path, org: Org) -> None:
    for name, (content, _why) in FILES.items():
        (folder / name).write_text(content(org) + "\n", encoding="utf-8")


def run_server(line: str, cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(TIMEOUT_S), f"{line!r} did not announce itself"
        info = json.loads(proc.stdout.readline())
        check = subprocess.run(["zohocrm", "check", "-c", info["connection_string"]], cwd=cwd, env=env,
                               capture_output=True, text=True, timeout=TIMEOUT_S)
        assert check.returncode == 0, check.stdout + check.stderr
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.name)
def test_readme_block_runs(block: Block, org: Org, bin_dir: Path, tmp_path: Path) -> None:
    env = command_env(bin_dir)
    write_files(tmp_path, org)
    if block.language == "python":
        script = tmp_path / "example.py"
        script.write_text(substitute(block.text, org), encoding="utf-8")
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
        assert proc.returncode == 0, f"README.md line {block.line}:\n{proc.stdout}\n{proc.stderr}"
        return
    script_lines, servers = runnable_lines(block)
    for line in servers:
        run_server(substitute(line, org), tmp_path, env)
    if has_commands(script_lines):
        script = "set -euo pipefail\n" + substitute("\n".join(script_lines), org) + "\n"
        proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
        assert proc.returncode == 0, f"README.md line {block.line}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_every_block_is_run_or_listed_with_a_reason() -> None:
    assert BLOCKS, "no code blocks found in README.md"
    assert [b for b in BLOCKS if runs_on_spark(b)], "the README's Spark example is gone (or no longer says pyspark)"
    for block in BLOCKS:
        if block.language == "bash":
            script, servers = runnable_lines(block)
            listed = [line for line in block.lines() if line.strip() in NOT_RUN]
            assert has_commands(script) or servers or listed, block
    every_line = {line.strip() for block in BLOCKS for line in block.lines()}
    stale = [line for line in NOT_RUN if line not in every_line]
    assert not stale, f"NOT_RUN lists lines no longer in {README.name}: {stale}"
    assert all(len(reason) > 20 for reason in NOT_RUN.values())


QUERIES = example_queries(BLOCKS)


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.sql[:60])
def test_every_example_query_answers_rows(query: Query, org: Org) -> None:
    """An example that answers nothing on the emulator (``Lead_Source = 'Web'``) teaches nothing."""
    sql = query.sql.removeprefix("EXPLAIN ").removeprefix("explain ")
    if "zoho." in sql:  # the attach example: its tables live in the schema it names
        con = duckdb.connect()
        connector.duckdb.attach(con, org.source)
        rows = con.execute(sql, list(query.params)).fetchall()
        con.close()
    else:
        with connector.connect(org.source) as conn:
            rows = conn.cursor().execute(sql, query.params).fetchall()
    assert rows, f"{query.sql!r} (in {query.where}) answers no rows on the emulator"


def test_the_example_queries_are_found() -> None:
    assert len(QUERIES) >= 5 and any("zoho." in q.sql for q in QUERIES) and any(q.params for q in QUERIES)


@pytest.mark.parametrize("path", CONNECTION_FILES, ids=lambda p: p.name)
def test_connection_file_parses_as_shipped(path: Path) -> None:
    config = parse_connection_string(read_connection_file(path))
    assert config.to_connection_string()


def test_readme_points_at_the_shipped_files() -> None:
    text = README.read_text(encoding="utf-8")
    assert "connection_strings/" in text and (REPO / "connection_strings" / "emulator.txt").exists()
