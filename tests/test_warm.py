"""The command's own process converts to Arrow without importing pandas (:mod:`connector.warm`).

pyarrow imports pandas the first time it converts Python values, to recognise pandas objects among them:
0.2-0.3 s of CPU in every ``zohocrm`` process, which never hands it one. The command's process makes that
first conversion while pandas cannot be found; pandas is then imported only when a DataFrame is asked for,
and works as ever. A library process (a caller's) keeps pyarrow as it is. Each case runs in a fresh Python,
since what is imported is a property of the whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from connector.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
#: a child that reports, as the process ends, whether pandas was ever imported in it
REPORT = ("import atexit, sys; "
          "atexit.register(lambda: print('pandas imported:', 'pandas' in sys.modules, file=sys.stderr))")


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO)


def test_a_query_from_the_command_never_imports_pandas(emulator: Emulator) -> None:
    got = python(f"{REPORT}; from connector.cli.main import main; sys.exit(main())", "query", "--format", "json",
                 "--connection", emulator.connection_string, "SELECT Last_Name FROM Leads ORDER BY id LIMIT 3")
    assert got.returncode == 0, got.stderr
    assert len([json.loads(line) for line in got.stdout.splitlines()]) == 3
    assert "pandas imported: False" in got.stderr, got.stderr


def test_the_same_query_through_main_called_by_a_caller_leaves_pyarrow_as_it_is(emulator: Emulator) -> None:
    """``main(argv)`` called from a caller's code (a test, an embedding program) is not the command's process."""
    got = python(f"{REPORT}; from connector.cli.main import main; sys.exit(main(sys.argv[1:]))", "query",
                 "--format", "json", "--connection", emulator.connection_string, "SELECT Last_Name FROM Leads LIMIT 1")
    assert got.returncode == 0, got.stderr
    assert "pandas imported: True" in got.stderr, got.stderr


def test_the_emulator_command_serves_an_org_without_importing_pandas() -> None:
    code = (f"{REPORT}; import threading, os\n"
            "from connector.cli.main import main\n"
            "threading.Timer(60, lambda: os._exit(3)).start()  # a safety net: the child must not outlive the test\n"
            "sys.exit(main())")
    proc = subprocess.Popen([sys.executable, "-c", code, "emulator", "--records", "200"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        import requests

        assert requests.get(f"{ready['api_domain']}/__emulator/export/Leads", timeout=60).status_code == 200
        # pandas' compiled modules would be mapped into the process had it been imported (the emulator ends
        # without the interpreter's finalization, emulator_cmd._end: the atexit report does not run)
        mapped = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "pyarrow" in mapped and "pandas/_libs" not in mapped
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    probe = python("import sys; from connector import warm; warm.command_process(); warm.arrow_in_background()\n"
                   "from connector.emulator import Emulator\n"
                   "with Emulator(records=200) as e: pass\n"
                   "print('pandas' in sys.modules)")
    assert probe.returncode == 0 and probe.stdout.strip() == "False", probe.stderr


def test_pandas_asked_for_later_in_the_command_process_works_as_ever() -> None:
    """After the first conversion without pandas, a DataFrame is still made with the dtypes it would have had,
    and pandas objects handed to pyarrow afterwards convert as they always do."""
    code = """
import json, sys
from decimal import Decimal
import pyarrow as pa
from connector import warm
if sys.argv[1] == "command":
    warm.command_process()
warm.arrow_in_background()
before = "pandas" in sys.modules
from connector.engine.frames import to_pandas
table = pa.table({"n": pa.array([1, None], pa.int64()), "s": ["x", None],
                  "d": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2))})
frames = {backend: {c: str(t) for c, t in to_pandas(table, backend).dtypes.items()}
          for backend in ("numpy_nullable", "pyarrow")}
import pandas as pd
series = {"category": str(pa.array(pd.Series(["a", "b", "a"], dtype="category")).type),
          "Int64": str(pa.array(pd.Series([1, None], dtype="Int64")).type),
          "from_pandas": str(pa.Table.from_pandas(pd.DataFrame({"a": [1]})).schema.field("a").type)}
print(json.dumps({"pandas_before": before, "frames": frames, "series": series}))
"""
    command, library = python(code, "command"), python(code, "library")
    assert command.returncode == 0, command.stderr
    assert library.returncode == 0, library.stderr
    got, want = json.loads(command.stdout), json.loads(library.stdout)
    assert got["pandas_before"] is False
    assert got["frames"] == want["frames"] and got["series"] == want["series"]
    assert got["series"]["category"].startswith("dictionary<")
