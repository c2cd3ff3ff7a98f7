"""What connecting costs before the first API call: parsing the connection string, opening and
sealing the token store, and the per-call overheads of redaction and the audit log.

A measurement, not a test: it prints a table, writes ``benchmarks/results/auth.json`` and never
fails on a time. Figures are medians (and p90) in microseconds per operation over ``--runs``
timed runs after a few warm-up runs (``measure`` from ``benchmarks/token_store.py``).

    python benchmarks/auth.py [--runs 300] [--output benchmarks/results/auth.json]

Connection strings: every example file in ``connection_strings/`` plus hand-written shapes
(minimal, emulator, quoted values with ``;`` and doubled quotes, a long scope list, other
drivers' spellings). ``parse.all`` is the median over all strings of each string's median.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: reuse the token-store bench

from _common import micro_main, timing_cells, timing_header  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from token_store import SAMPLE_TOKENS, measure  # noqa: E402

from connector.auth import SealedTokenStore, StoreKeys, open_sealed, seal  # noqa: E402
from connector.config import parse_connection_string, read_connection_file  # noqa: E402
from connector.http.audit import AuditLog  # noqa: E402
from connector.redaction import redact, register_secret  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECRET = "0f3c9a7e55d1b2c48e6f0a9b3d2c1e4f5a6b7c8d9e"
TOKEN = "1000." + "a1" * 16 + "." + "b2" * 16
HAND_WRITTEN = {
    "minimal": "Region=EU",
    "emulator": (f"Region=US;AccountsServer=http://127.0.0.1:8765;APIServer=http://127.0.0.1:8765;"
                 f"InitiateOAuth=REFRESH;OAuthClientId=1000.ABCDEF;OAuthClientSecret={SECRET};"
                 f"OAuthRefreshToken={TOKEN}"),
    "quoted": "Region='Europe';ProxyPassword='p;a=s''s';Logfile=\"C:\\logs\\zoho \"\"crm\"\".log\";Timeout=30",
    "long-scope": "Scope='" + ",".join(f"ZohoCRM.modules.m{i}.READ" for i in range(40)) + "';Region=IN",
    "other-drivers": ("domain=crm.zoho.com.au; instance type = Development ; initiateoauth=getandrefresh;"
                      " allowedoperations=read,insert,update ; allowedmodules = Leads,Contacts ; dryrun=yes"),
    "writes-audit": ("Region=US;AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Leads,Deals;"
                     "AuditLog=/var/log/zoho/audit.jsonl;MaxConcurrency=10;MaxRetries=8;Verbosity=4"),
}


def connection_strings() -> dict[str, str]:
    out = {f"file:{p.stem}": read_connection_file(p) for p in sorted((ROOT / "connection_strings").glob("*.txt"))}
    out.update(HAND_WRITTEN)
    for text in out.values():
        parse_connection_string(text)  # every sample must be valid, or the figure means nothing
    return out


def run(runs: int) -> dict[str, Any]:
    strings = connection_strings()
    parse = {name: measure(lambda t=text: parse_connection_string(t), runs) for name, text in strings.items()}
    results: dict[str, dict[str, float]] = {
        "parse.all": {"median_us": round(statistics.median(f["median_us"] for f in parse.values()), 1),
                      "p90_us": round(statistics.median(f["p90_us"] for f in parse.values()), 1),
                      "min_us": min(f["min_us"] for f in parse.values())},
    }
    results.update({f"parse.{name}": figures for name, figures in parse.items()})

    keys = StoreKeys.generate()
    plaintext = json.dumps(SAMPLE_TOKENS, sort_keys=True, separators=(",", ":")).encode()
    sealed = seal(plaintext, keys)
    results["store.seal"] = measure(lambda: seal(plaintext, keys), runs)
    results["store.open"] = measure(lambda: open_sealed(sealed, keys), runs)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        store = SealedTokenStore(root / "tokens" / "t.zseal", key_location=root / "keys" / "t.key")
        store.save(SAMPLE_TOKENS)
        results["store.save"] = measure(lambda: store.save(SAMPLE_TOKENS), runs)
        results["store.load"] = measure(store.load, runs)
        # What a refresh holds the file lock for, minus the network: read, decide, write.
        results["store.update"] = measure(
            lambda: store.update(lambda cur: {**(cur or {}), "expires_at": time.time()}), runs)

        register_secret(SECRET)
        line = (f"GET https://www.zohoapis.com/crm/v8/Leads params={{'fields': 'Last_Name', 'per_page': 200}} "
                f"headers={{'Authorization': 'Zoho-oauthtoken {TOKEN}'}}")
        results["redact.log_line"] = measure(lambda: redact(line), runs)
        audit = AuditLog(root / "audit" / "calls.jsonl")
        # Two fsyncs per line (the log and its .head): the price of a log that survives a crash.
        results["audit.record"] = measure(lambda: audit.record(method="GET", path="/crm/v8/Leads?fields=a",
                                                               status=200, records=200, credits=1), runs)
    return {
        "benchmark": "auth",
        "runs": runs,
        "connection_strings": len(strings),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "results_us": results,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"auth, {report['runs']} runs per operation, {report['connection_strings']} connection strings")
    print(f"{'operation':<42} {timing_header()}")
    for name, figures in report["results_us"].items():
        print(f"{name:<42} {timing_cells(figures)}")


def main(argv: list[str] | None = None) -> int:
    return micro_main(__doc__, "auth", 300, "operation", run, print_table, argv)


if __name__ == "__main__":
    raise SystemExit(main())
