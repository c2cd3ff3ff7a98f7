"""The README's Spark example runs as written, in this run's Spark session.

tests/docs/test_examples.py runs every other README block in a process of its own; a Spark block
there would start a JVM of its own for a few reads (half a minute of the suite on two cores). Here
its ``SparkSession.builder...getOrCreate()`` returns the session the Spark tests share, and its
closing ``spark.stop()`` is kept from stopping that session (the call itself is checked: the block
ran to its end). Its placeholders become an emulated org's connection string, as in the docs tests.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from connector.emulator import Emulator

from ..docs.examples import Org, readme_blocks, runs_on_spark, substitute

#: that the README has one is checked with the other blocks (tests/docs/test_examples.py)
SPARK_BLOCKS = [b for b in readme_blocks() if runs_on_spark(b)]


@pytest.mark.parametrize("block", SPARK_BLOCKS, ids=lambda b: b.name)
def test_readme_spark_block_runs_as_written(block: Any, spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.sql import SparkSession

    stops: list[Any] = []
    monkeypatch.setattr(SparkSession, "stop", lambda self: stops.append(self))
    out = io.StringIO()
    with Emulator(records=500, seed=42) as source, Emulator(records=0, seed=43, sizes={"Leads": 0}) as target:
        code = compile(substitute(block.text, Org(source.connection_string, target.connection_string)),
                       f"README.md (block at line {block.line})", "exec")
        with contextlib.redirect_stdout(out):
            exec(code, {"__name__": "__main__"})
    assert stops == [spark], "the block ended before its spark.stop(), or ran on a session of its own"
    printed = out.getvalue()
    assert "deals" in printed and "Lead_Source" in printed and "Stage" in printed, printed
