"""What sealing costs: key generation, seal, open, and a store's save/load on disk.

A measurement, not a test: it prints a table and writes ``benchmarks/results/token_store.json``
and never fails on a time. Every figure is the median (and p90) of ``--runs`` timed runs, in
microseconds per operation, after a few untimed warm-up runs.

    python benchmarks/token_store.py [--runs 200] [--output benchmarks/results/token_store.json]

``seal``/``open`` are the pure functions (ML-KEM-768 + X25519 + AES-256-GCM, ML-DSA-65 +
HMAC-SHA-512); ``save``/``load`` add the file lock, the key file read, the temp file, fsync
and rename. Set ``ZOHOCRM_PQC_BACKEND=oqs`` to measure the liboqs backend when installed.
"""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from _common import micro_main, time_us, timing_cells, timing_header  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.auth import SealedTokenStore, StoreKeys, open_sealed, seal
from connector.auth.pqc import select_backend

# Shaped like what Zoho's accounts server returns, so the payload size is realistic.
SAMPLE_TOKENS: dict[str, Any] = {
    "client_id": "1000.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
    "access_token": "1000." + "a" * 32 + "." + "b" * 32,
    "refresh_token": "1000." + "c" * 32 + "." + "d" * 32,
    "expires_at": 1_900_000_000.0,
    "token_type": "Bearer",
    "api_domain": "https://www.zohoapis.com",
    "accounts_server": "https://accounts.zoho.com",
    "scopes": ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.bulk.ALL", "ZohoCRM.coql.READ"],
    "region": "US",
}
WARMUP_RUNS = 5


def measure(operation: Callable[[], object], runs: int) -> dict[str, float]:
    return time_us(operation, runs)


def run(runs: int) -> dict[str, Any]:
    backend = select_backend()
    keys = StoreKeys.generate()
    plaintext = json.dumps(SAMPLE_TOKENS, sort_keys=True, separators=(",", ":")).encode()
    sealed = seal(plaintext, keys)
    results = {
        "keygen": measure(lambda: StoreKeys.generate(), runs),
        "seal": measure(lambda: seal(plaintext, keys), runs),
        "open": measure(lambda: open_sealed(sealed, keys), runs),
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        store = SealedTokenStore(root / "tokens" / "tokens.bin", key_location=root / "keys" / "bench.key")
        store.save(SAMPLE_TOKENS)
        results["store.save"] = measure(lambda: store.save(SAMPLE_TOKENS), runs)
        results["store.load"] = measure(store.load, runs)
    return {
        "benchmark": "token_store",
        "backend": backend.name,
        "runs": runs,
        "payload_bytes": len(plaintext),
        "sealed_bytes": len(sealed),
        "python": platform.python_version(),
        "cryptography": metadata.version("cryptography"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "results_us": results,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"token store, backend={report['backend']}, {report['runs']} runs, "
          f"{report['payload_bytes']} B of tokens -> {report['sealed_bytes']} B sealed")
    print(f"{'operation':<12} {timing_header()}")
    for name, figures in report["results_us"].items():
        print(f"{name:<12} {timing_cells(figures)}")


def main(argv: list[str] | None = None) -> int:
    return micro_main(__doc__, "token_store", 200, "operation", run, print_table, argv)


if __name__ == "__main__":
    raise SystemExit(main())
