"""Loads against a Zoho that answers slowly: wall time against the lower bound Zoho's own limits allow.

A measurement, not a test: it prints a table, writes ``benchmarks/results/latency.json`` and never fails
on a time.

    python benchmarks/latency.py [--latency-ms 300 100] [--records 60000] [--large] [--max-concurrency 20]

Each emulator runs as a process of its own (``zohocrm emulator --org classic --latency-ms L
--bulk-rows-per-s 20000``) and every phase in a child process. Phases, per latency:

* ``migrate``: the whole org (``--records``; ``--large`` adds a 200,000-record org) to ``parquet:``,
  then again into a folder of its own with ``--no-files`` (records only: no file or photo downloads);
* ``select``: ``SELECT *`` of a 50,000-record Leads module with ``APIType=COQL``, rows fetched, by a
  connection that has asked about Leads before: it holds the module's fields and count (a statistic, bought
  first: 1 credit; a COQL read splits only on a count it already has). The time, calls and credits are the
  SELECT's own (until stop 52 they included the connection's opening, its metadata and the count: some
  three round trips and 0.2 s of imports more); ``select serial``: the same at ``MaxConcurrency=1``;
* ``sync``: after ``/__emulator/mutate`` changed 5% of each module (4% updated, 0.5% created,
  0.5% deleted), an incremental sync of the migrated folder; ``sync serial``: the same changes synced
  into a copy of the folder at ``MaxConcurrency=1`` (its credits are the ones to match);
* ``insert``: 20,000 Leads from the migrated Parquet inserted into an empty org over REST.

The short phases (``sync``, ``select``) run ``--runs`` times (3; each sync into a copy of its own of the
migrated folder): one run's wall time moves by 10-20% with what else the machine does, so the run of median
time is reported, every run's time beside it (``runs_s``).

The lower bound of a phase is computed from what the emulator counted during it (``POST
/__emulator/stats`` before and after): ``N`` calls that waited the latency ``L``, ``H`` of them heavy,
and ``B`` virtual seconds of bulk jobs (one job at a time per org, each ``rows / bulk_rows_per_s``).
With ``C`` = min(MaxConcurrency, the org's 20) slots, and min(C, 10) for heavy calls::

    bound = max(N x L / C, H x L / min(C, 10), B + 2 L if B else L)

A pass with latency 0 (in the default list) measures what is left once nothing waits: this machine's own
CPU and disk for the same phase (the emulator's included: it shares the machine), given as ``floor_s``.

No client can finish sooner with the calls it made: every call holds a slot for L, the bulk jobs run one
after another, and one of them has to be submitted before and downloaded after. The table also gives
the peak concurrency the emulator saw (all calls / heavy calls) and its 429 count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from _common import leads_without_external_ref, save, start_emulator  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
ORG_CONCURRENCY, HEAVY_CONCURRENCY = 20, 10
BULK_ROWS_PER_S = 20_000
#: where the phases import the connector from (None: this checkout)
CLIENT_PATH: str | None = None
PHASES = ("migrate", "sync", "select", "insert")
ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Leads"


def emulator(records: int, latency_ms: float, seed: int, *sizes: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    size_args = [a for s in sizes for a in ("--size", s)]
    return start_emulator("--org", "classic", "--records", str(records), "--seed", str(seed), "--latency-ms",
                          str(latency_ms), "--bulk-rows-per-s", str(BULK_ROWS_PER_S), *size_args)


def stats(info: dict[str, Any]) -> dict[str, Any]:
    """The emulator's counters; the concurrency peaks start again (one phase at a time)."""
    return dict(requests.post(f"{info['api_domain']}/__emulator/stats", timeout=120).json())


def phase(name: str, **args: Any) -> dict[str, Any]:
    """Run one phase in a child process; its JSON result."""
    env = dict(os.environ)
    if CLIENT_PATH:  # --client-path: the connector measured is another copy (an older commit's, for "before")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (CLIENT_PATH, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--args", json.dumps(args)], cwd=ROOT,
                         capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    from connector.sync import migrate

    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if name in ("migrate", "sync"):
        result = migrate(args["conn"], f"parquet:{args['dir']}", incremental=name == "sync",
                         files=args.get("files", True))
        rows = result.rows_written + sum(m.rows_deleted for m in result.modules)
        extra = {"modules": len(result.modules), "failed": result.rows_failed}
    elif name == "select":
        from connector.engine import Engine
        from connector.session import ZohoSession

        with ZohoSession(args["conn"] + ";APIType=COQL") as session:
            engine = Engine(session)
            # a connection that has asked about Leads before: it holds the module's fields and its count (a
            # statistic, cached for minutes, 1 credit); what the SELECT itself asks and takes is what is measured
            engine.statistics.total("Leads", buy=True)
            session.catalog.table("Leads")
            extra = {"stats_before": stats({"api_domain": args["api"]})}
            started = time.perf_counter()
            rows = sum(b.num_rows for b in engine.execute("SELECT * FROM Leads"))
    elif name == "export":
        from connector.sync import open_source, open_target
        from connector.sync.state import ModuleState

        src, tgt = open_source(f"parquet:{args['src']}"), open_target(f"parquet:{args['dir']}")
        rows = tgt.replace_module("Leads", src.schema("Leads"), leads_without_external_ref(src, args["rows"]),
                                  ModuleState("Leads", loaded=True))
        tgt.close()
        src.close()
    else:  # insert
        result = migrate(f"parquet:{args['dir']}", args["conn"] + ALLOW, modules=["Leads"], write_api="rest",
                         state_path=args["state"])
        rows = result.rows_written
        extra = {"failed": result.rows_failed}
    return {"phase": name, "rows": rows, "seconds": round(time.perf_counter() - started, 3), **extra}


def bound(before: dict[str, Any], after: dict[str, Any], latency_s: float, slots: int) -> dict[str, Any]:
    """The lower bound of a phase from the calls the emulator counted in it (see the module's doc)."""
    calls = after["latency_calls"] - before["latency_calls"]
    heavy = after["concurrency"]["admitted_heavy"] - before["concurrency"]["admitted_heavy"]
    bulk = sum(q["seconds"] - before.get("bulk_jobs", {}).get(k, {}).get("seconds", 0.0)
               for k, q in after.get("bulk_jobs", {}).items())
    by_calls = calls * latency_s / slots
    by_heavy = heavy * latency_s / min(slots, HEAVY_CONCURRENCY)
    by_bulk = bulk + 2 * latency_s if bulk else latency_s
    by_route = {k: v - before["calls"].get(k, 0) for k, v in sorted(after["calls"].items())
                if v != before["calls"].get(k, 0)}
    return {"calls": calls, "heavy_calls": heavy, "calls_by_endpoint": by_route, "bulk_job_s": round(bulk, 2),
            "credits": after["credits_used"] - before["credits_used"],
            "rejected_429": after["rejected_429"] - before["rejected_429"],
            "peak_concurrency": after["concurrency"]["peak"], "peak_heavy": after["concurrency"]["peak_heavy"],
            "bound_s": round(max(by_calls, by_heavy, by_bulk), 2),
            "bound_by": max((by_calls, "calls"), (by_heavy, "heavy calls"), (by_bulk, "bulk jobs"))[1]}


def measured(label: str, info: dict[str, Any], latency_s: float, slots: int, name: str, runs: int = 1,
             each: Any = None, **args: Any) -> dict[str, Any]:
    """The phase, ``runs`` times (``each(i)``: what run i's arguments change, e.g. a folder of its own); the run
    of median wall time is the result, every run's wall time beside it (``runs_s``, in the order they ran)."""
    done = []
    for i in range(runs):
        before = stats(info)
        res = phase(name, **{**args, **(each(i) if each is not None else {})})
        before = res.pop("stats_before", before)  # the phase's own start, past what it readies first
        res.update(bound(before, stats(info), latency_s, slots))
        res["load_1m"] = round(os.getloadavg()[0], 2)  # the machine is shared: what else ran meanwhile
        done.append(res)
    res = dict(sorted(done, key=lambda r: r["seconds"])[len(done) // 2])
    if runs > 1:
        res["runs_s"] = [r["seconds"] for r in done]
    res["ratio"] = round(res["seconds"] / res["bound_s"], 2) if res["bound_s"] and latency_s else None
    print(row(label, res), flush=True)
    return res


HEADER = (f"{'phase':<22} {'rows':>8} {'wall s':>7} {'bound s':>7} {'ratio':>6} {'calls':>6} {'heavy':>6} "
          f"{'bulk s':>6} {'credits':>7} {'peak':>9} {'429':>4}")


def row(label: str, r: dict[str, Any]) -> str:
    return (f"{label:<22} {r['rows']:>8,} {r['seconds']:>7.1f} {r['bound_s']:>7.1f} {r['ratio'] or 0:>5.1f}x "
            f"{r['calls']:>6,} {r['heavy_calls']:>6,} {r['bulk_job_s']:>6.1f} {r['credits']:>7,} "
            f"{r['peak_concurrency']:>4}/{r['peak_heavy']:<4} {r['rejected_429']:>4}")


def floors(results: dict[str, Any]) -> None:
    """Beside each phase measured with latency, the same phase with none (this machine's own time for it)."""
    floor = results.get("0ms", {})
    for key, phases in results.items():
        for name, r in phases.items():
            if key != "0ms" and name in floor:
                r["floor_s"] = floor[name]["seconds"]


def one_latency(latency_ms: float, records: list[int], opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    latency_s, slots = latency_ms / 1000, min(opts.max_concurrency, ORG_CONCURRENCY)
    extra = f";MaxConcurrency={opts.max_concurrency}"
    out: dict[str, Any] = {}
    serial = ";MaxConcurrency=1"
    for n in records if {"migrate", "sync"} & set(opts.phases) else []:
        proc, emu = emulator(n, latency_ms, opts.seed)
        try:
            conn = emu["connection_string"] + extra
            folder = work / f"org-{n}-{latency_ms:g}ms"  # its own: a migration reuses files already there
            out[f"migrate {n // 1000}k"] = measured(f"migrate {n // 1000}k @{latency_ms:g}ms", emu, latency_s, slots,
                                                    "migrate", conn=conn, dir=str(folder))
            out[f"migrate {n // 1000}k records only"] = measured(
                "  the same, --no-files", emu, latency_s, slots, "migrate", conn=conn,
                dir=str(work / f"org-{n}-{latency_ms:g}ms-records"), files=False)
            if "sync" not in opts.phases:
                continue
            for module, size in dict(emu["records"]).items():
                k = size * 4 // 100
                if size:
                    body = {"module": module, "updates": k, "creates": size // 200, "deletes": size // 200, "seed": 5}
                    requests.post(f"{emu['api_domain']}/__emulator/mutate", json=body, timeout=600).raise_for_status()
            requests.post(f"{emu['api_domain']}/__emulator/clock", json={"advance_s": 2}, timeout=60)
            copy = work / f"org-{n}-{latency_ms:g}ms-serial"
            shutil.copytree(folder, copy)
            # each run syncs the same changes into a copy of its own of the migrated folder
            copies = [folder] + [work / f"org-{n}-{latency_ms:g}ms-run{i}" for i in range(1, opts.runs)]
            for c in copies[1:]:
                shutil.copytree(folder, c)
            out[f"sync {n // 1000}k"] = measured(f"sync 5% {n // 1000}k @{latency_ms:g}ms", emu, latency_s, slots,
                                                 "sync", opts.runs, lambda i, cs=copies: {"dir": str(cs[i])}, conn=conn)
            if opts.serial:
                out[f"sync {n // 1000}k serial"] = measured("  the same, serial", emu, latency_s, 1, "sync",
                                                            conn=emu["connection_string"] + serial, dir=str(copy))
        finally:
            proc.terminate()
    if "select" in opts.phases:
        proc, emu = emulator(0, latency_ms, opts.seed, f"Leads={opts.select_rows}")
        try:
            out["select"] = measured(f"select {opts.select_rows // 1000}k @{latency_ms:g}ms", emu, latency_s, slots,
                                     "select", opts.runs, conn=emu["connection_string"] + extra,
                                     api=emu["api_domain"])
            if opts.serial:
                out["select serial"] = measured("  the same, serial", emu, latency_s, 1, "select",
                                                conn=emu["connection_string"] + serial, api=emu["api_domain"])
        finally:
            proc.terminate()
    if "insert" not in opts.phases:
        return out
    leads = work / "leads"
    if not leads.exists():
        phase("export", src=str(work / f"org-{records[0]}-{latency_ms:g}ms"), dir=str(leads), rows=opts.insert_rows)
    proc, emu = emulator(0, latency_ms, 7)
    try:
        out["insert"] = measured(f"insert {opts.insert_rows // 1000}k REST @{latency_ms:g}ms", emu, latency_s, slots, "insert",
                                     conn=emu["connection_string"] + extra, dir=str(leads),
                                     state=str(work / f"state-{latency_ms:g}.duckdb"))
    finally:
        proc.terminate()
    return out


def insert_only(opts: argparse.Namespace) -> None:
    """``--insert-only``: the REST insert row alone, per latency, written into the existing JSON beside the
    other rows (which stay as they were measured)."""
    work = Path(tempfile.mkdtemp(prefix="zohocrm-latency-insert-"))
    slots = min(opts.max_concurrency, ORG_CONCURRENCY)
    out = Path(opts.out)
    report = json.loads(out.read_text()) if out.exists() else {"benchmark": "latency", "results": {}}
    print(HEADER, flush=True)
    try:
        proc, emu = emulator(0, 0, opts.seed, f"Leads={opts.insert_rows}")
        try:
            phase("migrate", conn=emu["connection_string"], dir=str(work / "org"))
        finally:
            proc.terminate()
        phase("export", src=str(work / "org"), dir=str(work / "leads"), rows=opts.insert_rows)
        for ms in opts.latency_ms:
            proc, emu = emulator(0, ms, 7)
            try:
                r = measured(f"insert {opts.insert_rows // 1000}k REST @{ms:g}ms", emu, ms / 1000, slots, "insert",
                             conn=emu["connection_string"] + f";MaxConcurrency={opts.max_concurrency}",
                             dir=str(work / "leads"), state=str(work / f"state-{ms:g}.duckdb"))
            finally:
                proc.terminate()
            report["results"].setdefault(f"{ms:g}ms", {})["insert"] = r
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = report["results"].get("0ms", {}).get("insert")
    for key, phases in report["results"].items():
        if key != "0ms" and floor and "insert" in phases:
            phases["insert"]["floor_s"] = floor["seconds"]
    save(report, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", type=float, nargs="+", default=[300.0, 100.0, 0.0],
                    help="one pass per latency; 0 gives this machine's floor (its CPU and disk, no waiting)")
    ap.add_argument("--records", type=int, default=60_000, help="records of the org migrated whole")
    ap.add_argument("--large", action="store_true", help="also migrate and sync an org of 200,000 records")
    ap.add_argument("--select-rows", type=int, default=50_000, help="records of the module read by SELECT")
    ap.add_argument("--insert-rows", type=int, default=20_000, help="Leads inserted over REST")
    ap.add_argument("--max-concurrency", type=int, default=ORG_CONCURRENCY,
                    help="MaxConcurrency of the connection (default: the org's 20)")
    ap.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES,
                    help="phases to run (sync runs after its migrate, insert needs the migrated Leads)")
    ap.add_argument("--serial", action="store_true",
                    help="also run select and sync at MaxConcurrency=1: the credits a concurrent run must not pass")
    ap.add_argument("--runs", type=int, default=3, help="runs of the short phases (sync, select): the median "
                    "is reported, every run's time beside it")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "latency.json"))
    ap.add_argument("--client-path", help="run the phases with the connector package found here (e.g. an older "
                    "commit's `git archive` tree), the emulators from this checkout")
    ap.add_argument("--insert-only", action="store_true", help="measure only the REST insert row, into the "
                    "existing JSON")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.phase:
        print(json.dumps(run_phase(opts.phase, json.loads(opts.args))))
        return
    global CLIENT_PATH
    CLIENT_PATH = opts.client_path
    if opts.insert_only:
        insert_only(opts)
        return
    records = [opts.records, *([200_000] if opts.large else [])]
    work = Path(tempfile.mkdtemp(prefix="zohocrm-latency-"))
    results: dict[str, Any] = {}
    print(HEADER, flush=True)
    try:
        for ms in opts.latency_ms:
            results[f"{ms:g}ms"] = one_latency(ms, records, opts, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floors(results)
    out = Path(opts.out)
    if set(opts.phases) != set(PHASES) and out.exists():  # a partial run updates its phases, keeps the others
        kept = json.loads(out.read_text()).get("results", {})
        for key, phases in results.items():
            kept.setdefault(key, {}).update(phases)
        results = kept
    report = {"benchmark": "latency", "records": records, "bulk_rows_per_s": BULK_ROWS_PER_S,
              "max_concurrency": opts.max_concurrency, "org_concurrency": ORG_CONCURRENCY,
              "heavy_concurrency": HEAVY_CONCURRENCY, "results": results, "cpus": os.cpu_count(),
              "python": platform.python_version(), "platform": platform.platform()}
    save(report, out)


if __name__ == "__main__":
    main()
