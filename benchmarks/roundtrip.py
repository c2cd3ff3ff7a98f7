"""The whole-org round trip at scale: A -> parquet -> fresh B (killed 3x, 5% faults) -> DuckDB, compared.

A measurement of the acceptance test, not a copy of it: it runs ``round_trip`` from
``tests/sync/test_whole_org_roundtrip.py`` (the test CI runs at 1,200 records, and ``-m slow``
at 50,000) and writes what it measured to ``benchmarks/results/roundtrip.json``: the org's rows
per module, seconds and credits per phase, files, kills and exit statuses, and the tally
(lost, duplicated) — also when a comparison fails, so the JSON shows how far it got.

    python benchmarks/roundtrip.py [--records 50000] [--work DIR --keep] [--reuse-a DIR/a]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, save  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def files_under(folder: Path) -> dict[str, float]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return {"files": len(files), "file_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--work", type=Path, help="folder for both exports and the sync state (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "roundtrip.json")
    ap.add_argument("--reuse-a", type=Path, help="A's export (the a/ folder) of an earlier run with as many "
                    "--records: the export of A is not redone (its figures are that run's)")
    opts = ap.parse_args()
    from tests.sync.test_whole_org_roundtrip import round_trip

    work = opts.work or Path(tempfile.mkdtemp(prefix="zohocrm-roundtrip-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"benchmark": "roundtrip", "cpus": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()}
    started = time.perf_counter()
    try:
        round_trip(opts.records, work, report, opts.reuse_a)
        report["ok"] = True
    except BaseException as exc:  # the figures so far are still worth saving; the failure goes with them
        report["ok"] = False
        report["failure"] = "".join(traceback.format_exception_only(exc))[-4000:]
        raise
    finally:
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["files_a"] = files_under((opts.reuse_a or work / "a") / "_files")
        report["files_b"] = files_under(work / "b.duckdb.files")
        save(report, opts.out)
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    rows = sum(report["org_rows"].values())
    print(f"{rows:,} rows in {len(report['org_rows'])} tables; lost {report['lost']}, "
          f"duplicated {report['duplicated']}; {report['seconds']:,} s")
    for name, figures in report["phases"].items():
        print(f"  {name:<9} {figures['seconds']:>8,.1f} s {figures.get('credits', 0):>9,} credits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
