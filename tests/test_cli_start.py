"""A ``zohocrm`` process does not import pandas for pyarrow's sake, and pandas still works where it is used.

pyarrow asks whether pandas is installed the first time it converts Python values, importing it to know
(0.3 s of CPU and 40 MB per run); the CLI answers that question with pandas hidden
(``connector.cli.main._arrow_without_pandas``). Conversions to a given type (the readers' and writers')
then leave pandas alone; one that infers its type still imports it, from pyarrow's C++ side. These tests run real processes: one ``zohocrm query``
against the emulator, and a Python process that takes the same start and then uses pandas through pyarrow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from connector.emulator import Emulator


def test_a_query_run_converts_its_rows_without_importing_pandas(emulator: Emulator) -> None:
    env = {**os.environ, "ZOHOCRM_CONNECTION": emulator.connection_string}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "connector.cli", "query", "--format", "csv",
                           "SELECT id, Last_Name, Annual_Revenue FROM Leads LIMIT 5"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 6  # the header and five rows: values went through pyarrow
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pyarrow" in imported
    assert "pandas" not in imported


def test_pandas_still_works_through_pyarrow_after_the_cli_start() -> None:
    script = textwrap.dedent("""
        import sys
        import pyarrow as pa
        from connector.cli.main import _arrow_without_pandas

        _arrow_without_pandas()
        assert "pandas" not in sys.modules
        schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
        batch = pa.RecordBatch.from_pylist([{"a": 1, "b": "x"}, {"a": None, "b": "y"}], schema=schema)
        assert pa.array([1.5, None], pa.float64()).null_count == 1
        assert "pandas" not in sys.modules, "a typed conversion imported pandas"

        frame = pa.Table.from_batches([batch]).to_pandas()  # needs pandas itself: imported now
        assert "pandas" in sys.modules
        assert list(frame["b"]) == ["x", "y"]
        import pandas as pd
        # pyarrow knows pandas again: a Series converts with pandas' rules (NaN is a null)
        assert pa.array(pd.Series([1.0, float("nan")])).null_count == 1
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
