"""Knobs of one emulator instance (CLI flags and ``Emulator(...)`` keyword arguments)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# Fault kinds --fault-rate draws from by default (limits-and-errors.md: the failures a connector
# must survive). ``drop_after`` is opt-in (--fault-kinds): it makes writes land with their answer
# lost, which only idempotency tests want.
FAULT_KINDS = ("500", "502", "503", "429", "error200", "drop", "slow")
# Faults that happen after the request was processed (the write landed, the answer is lost).
LATE_FAULT_KINDS = ("drop_after",)

# Data centers: location code -> (accounts host label, api host label)
DATA_CENTERS = ("us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 0
    records: int = 2_000
    seed: int = 42
    data_dir: str | None = None
    #: every API call's time at Zoho: answered no sooner, the emulator's own work for it done within it
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    #: search index lag: changes newer than this many seconds are not yet visible to /search
    index_lag_s: float = 0.0
    #: API credits per rolling 24 hours
    credits: int = 1_000_000
    #: concurrent calls per org per client (Enterprise: 20); heavy calls have their own 10
    concurrency: int = 20
    sub_concurrency: int = 10
    token_ttl_s: int = 3600
    #: bulk read/write job throughput
    bulk_rows_per_s: float = 200_000.0
    #: records per module, overriding the split of ``records``
    sizes: dict[str, int] = field(default_factory=dict)
    #: the user's time zone as minutes east of UTC (Asia/Kolkata: +05:30)
    utc_offset_minutes: int = 330
    #: data-center location code this instance pretends to be
    location: str = "us"
    #: org type reported by /org: production, sandbox, developer
    environment: str = "production"
    #: consent page approves at once (tests); otherwise it shows an Accept/Deny form
    auto_approve: bool = True
    #: COQL answers the ``'$se_module'`` pseudo-column (False: as a Zoho that does not know it, INVALID_QUERY
    #: naming it; how a client copes with an org or version without it is then testable)
    coql_se_module: bool = True
    #: bulk read downloads per minute (Zoho: 10)
    downloads_per_minute: int = 10
    #: rows per Bulk Read page (Zoho: 200,000); smaller values let tests page cheaply
    bulk_page_size: int = 200_000
    #: how long a "slow" fault holds the answer back (real time: it exercises client timeouts)
    slow_fault_ms: float = 2000.0
    #: other data centers /oauth/serverinfo lists: location code -> accounts server origin
    #: (another emulator instance plays another data center in DC-mismatch tests)
    peers: dict[str, str] = field(default_factory=dict)
    #: binding off loopback must be asked for: the org, its credentials and /__emulator/ are then
    #: reachable from other machines
    allow_remote: bool = False
    #: required on every /__emulator/ path when set; generated when the host is not loopback
    admin_token: str | None = None
    #: host name put in the origins (token answers, download URLs) instead of the bound address;
    #: a wildcard bind (0.0.0.0) advertises the machine's host name when this is not given
    advertise_host: str | None = None
    #: serve the fixed, published DEV_* credentials (tokens.py) so a connection file can name them
    dev_credentials: bool = False
    #: which modules the org has: "enterprise" (a standard Enterprise org, org/registry.py; the default)
    #: or "classic" (the ten modules served before issue 13, for tests and benchmarks that want them)
    org: str = "enterprise"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def validate(self) -> None:
        if self.records < 0 or self.records > 5_000_000:
            raise ValueError("records must be between 0 and 5,000,000")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS) - set(LATE_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS + LATE_FAULT_KINDS}")
        if self.location not in DATA_CENTERS:
            raise ValueError(f"location must be one of {DATA_CENTERS}")
        if self.environment not in ("production", "sandbox", "developer"):
            raise ValueError("environment must be production, sandbox or developer")
        if self.concurrency < 1 or self.sub_concurrency < 1 or self.credits < 0 or self.bulk_rows_per_s <= 0:
            raise ValueError("concurrency >= 1, sub_concurrency >= 1, credits >= 0 and bulk_rows_per_s > 0 "
                             "are required")
        if self.latency_ms < 0 or self.slow_fault_ms < 0 or self.index_lag_s < 0:
            raise ValueError("latency_ms, slow_fault_ms and index_lag_s must not be negative")
        if self.token_ttl_s < 1 or self.downloads_per_minute < 1:
            raise ValueError("token_ttl_s and downloads_per_minute must be at least 1")
        if not isinstance(self.peers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.peers.items()):
            raise ValueError("peers must map location codes to accounts server origins")
        if not 1 <= self.bulk_page_size <= 200_000:
            raise ValueError("bulk_page_size must be between 1 and 200,000 (Zoho's page size)")
        if self.org not in ("classic", "enterprise"):
            raise ValueError("org must be classic or enterprise")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self._validate_exposure()

    def _validate_exposure(self) -> None:
        if not self.loopback and not self.allow_remote:
            raise ValueError(
                f"refusing to listen on {self.host or 'every interface'!r}: other machines could reach the "
                "emulated org, its client secret and refresh tokens; keep the default 127.0.0.1, or add "
                "--allow-remote (Python: allow_remote=True) to expose it on purpose")
        if not self.loopback and self.dev_credentials:
            raise ValueError("the fixed dev credentials are published in connection_strings/emulator.txt: "
                             "they are for an emulator on loopback only (drop --dev-credentials or --host)")
        token = self.admin_token
        if token is not None and (len(token) < 16 or not token.isprintable() or any(c.isspace() for c in token)):
            raise ValueError("the admin token must be at least 16 printable characters without spaces")


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, "localhost")."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name (or "" for every interface): may resolve to anything
        return False
