"""The emulator application: state of one data center and the request pipeline.

Pipeline for every request (in this order, like Zoho's front end):
latency -> route -> fault (pre) -> authentication -> scope -> credits ->
concurrency -> handler -> credits charged -> rate headers -> fault (late).
Admin routes (``/__emulator/``) skip everything but routing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from . import schema
from .clock import VirtualClock
from .faults import Fault, FaultInjector
from .generate import module_sizes, populate
from .http import Request, Response, match
from .limits import Limits, too_many_requests
from .settings import Settings
from .store import Store
from .tokens import FULL_SCOPES, TokenRegistry, has_scope
from .zoho_errors import ZohoError, invalid_method, invalid_url

DROP = object()  # sentinel: close the connection without answering
SLOW_FAULT_S = 2.0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.records_written = 0
        self.records_read = 0

    def record(self, name: str, status: int | str, records_read: int = 0) -> None:
        with self.lock:
            self.calls[name] += 1
            self.statuses[str(status)] += 1
            self.records_read += records_read

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.statuses.clear()
            self.records_written = 0
            self.records_read = 0


class App:
    def __init__(self, settings: Settings) -> None:
        settings.validate()
        self.settings = settings
        self.clock = VirtualClock(utc_offset_minutes=settings.utc_offset_minutes)
        self.tokens = TokenRegistry(self.clock, settings.token_ttl_s)
        self.limits = Limits(self.clock, settings.credits, settings.concurrency, settings.sub_concurrency,
                             settings.downloads_per_minute)
        self.faults = FaultInjector(settings.seed, settings.fault_rate, settings.fault_kinds)
        self.stats = Stats()
        self.origin = ""  # set by the server once bound: http://host:port
        #: per-feature state owned by handler modules (bulk jobs, page tokens, uploads ...)
        self.state: dict[str, Any] = {}
        self.state_lock = threading.RLock()
        self.sizes = module_sizes(settings.records, settings.sizes)
        data_dir = Path(settings.data_dir) if settings.data_dir else None
        if data_dir:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "org.duckdb" if data_dir else None)
        if not self.store.has_data():
            populate(self.store, settings.seed, self.sizes)
        self.client = None
        self.refresh_token = ""
        self._load_or_create_credentials(data_dir)

    # -- credentials ----------------------------------------------------------------

    def _state_file(self) -> Path | None:
        return Path(self.settings.data_dir) / "state.json" if self.settings.data_dir else None

    def _load_or_create_credentials(self, data_dir: Path | None) -> None:
        sf = self._state_file()
        if sf and sf.exists():
            data = json.loads(sf.read_text())
            self.tokens.load(data["tokens"])
            self.clock.advance(data.get("clock_offset", 0.0))
            self.client = self.tokens.clients[data["client_id"]]
            self.refresh_token = data["refresh_token"]
            return
        self.client = self.tokens.new_client(["http://localhost:33333", "http://localhost:33333/"])
        rt = self.tokens.issue_refresh(self.client.client_id, FULL_SCOPES, schema.ADMIN_USER.id)
        self.refresh_token = rt.token
        self.save_state()

    def save_state(self) -> None:
        sf = self._state_file()
        if not sf or self.client is None:
            return
        tmp = sf.with_suffix(".tmp")
        tmp.write_text(json.dumps({"tokens": self.tokens.dump(), "client_id": self.client.client_id,
                                   "refresh_token": self.refresh_token, "clock_offset": self.clock.offset,
                                   "seed": self.settings.seed}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, sf)

    # -- pipeline ---------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response | object:
        if self.settings.latency_ms > 0 and not req.path.startswith("/__emulator/"):
            time.sleep(self.settings.latency_ms / 1000.0)
        route, params, other_method = match(req.method, req.path)
        if route is None:
            err = invalid_method() if other_method else invalid_url()
            self.stats.record("unmatched", err.status)
            return Response.json(err.body(), err.status)
        req.path_params = params
        if route.kind == "admin":
            try:
                resp = route.handler(self, req)
            except ZohoError as e:
                resp = Response.json(e.body(), e.status, e.headers)
            return resp
        fault = self.faults.draw()
        if fault is not None and not fault.late:
            early = self._fault_response(fault, route.kind)
            if early is not None:
                self.stats.record(route.name, f"fault:{fault.kind}")
                return early
        try:
            resp = self._run(route, req)
        except ZohoError as e:
            resp = Response.json(e.body(), e.status, e.headers)
        self.stats.record(route.name, resp.status, req.records if req.method == "GET" else 0)
        if fault is not None and fault.late:
            return DROP
        return resp

    def _run(self, route: Any, req: Request) -> Response:
        if route.kind not in ("crm", "upload", "download"):
            return route.handler(self, req)  # type: ignore[no-any-return]
        auth = req.headers.get("authorization")
        if not auth:
            raise ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {})
        prefix, _, tok = auth.partition(" ")
        if prefix != "Zoho-oauthtoken" or not tok.strip():
            raise ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {})
        at = self.tokens.validate(tok.strip())
        if at is None:
            raise ZohoError(401, "INVALID_TOKEN", "invalid oauth token", {})
        req.token = at
        if route.scopes is not None:
            needed = route.scopes(req)
            if needed and not has_scope(at.scopes, needed):
                raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})
        self.limits.check_credits(1)
        heavy = bool(route.heavy(req)) if route.heavy else False
        self.limits.enter(at.client_id, heavy)
        try:
            resp: Response = route.handler(self, req)
        except ZohoError:
            self.limits.charge(1)
            raise
        finally:
            self.limits.leave(at.client_id, heavy)
        self.limits.charge(req.credits)
        resp.headers.update(self.limits.headers())
        return resp

    def _fault_response(self, fault: Fault, kind: str) -> Response | object | None:
        k = fault.kind
        if k == "slow":
            time.sleep(SLOW_FAULT_S)
            return None  # then answer normally
        if k == "drop":
            return DROP
        if kind == "accounts":
            if k == "error200":
                return Response.json({"error": "Access Denied", "error_description":
                                      "You have made too many requests continuously. Please try again after "
                                      "some time.", "status": "failure"}, 200)
            return Response(int(k) if k.isdigit() else 500, b"Service temporarily unavailable",
                            {"Content-Type": "text/plain"})
        if k == "500":
            e = ZohoError(500, "INTERNAL_ERROR", "Internal server error occurred.", {})
            return Response.json(e.body(), 500)
        if k == "502":
            return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                            {"Content-Type": "text/html"})
        if k == "503":
            return Response(503, b"Service Unavailable", {"Content-Type": "text/plain", "Retry-After": "1"})
        if k == "429":
            return Response.json(too_many_requests().body(), 429)
        if k == "error200":
            e = ZohoError(200, "INTERNAL_ERROR", "Internal server error occurred.", {})
            return Response.json(e.body(), 200)
        return None

    # -- helpers for handlers -----------------------------------------------------------

    @property
    def api_domain(self) -> str:
        return self.origin

    def reset(self) -> None:
        """Back to the freshly generated org (credentials stay valid)."""
        with self.state_lock:
            self.store.close()
            data_dir = Path(self.settings.data_dir) if self.settings.data_dir else None
            if data_dir and (data_dir / "org.duckdb").exists():
                (data_dir / "org.duckdb").unlink()
            self.store = Store(data_dir / "org.duckdb" if data_dir else None)
            populate(self.store, self.settings.seed, self.sizes)
            self.state.clear()
            self.limits.reset()
            self.stats.reset()
            self.faults.configure(rate=self.settings.fault_rate, kinds=self.settings.fault_kinds)
            self.clock.advance(-self.clock.offset)

    def snapshot_stats(self) -> dict[str, Any]:
        with self.stats.lock:
            calls = dict(self.stats.calls)
            statuses = dict(self.stats.statuses)
        return {
            "calls": calls,
            "calls_total": sum(calls.values()),
            "statuses": statuses,
            "credits_used": self.limits.credits_used,
            "credits_remaining": self.limits.remaining(),
            "rejected_429": self.limits.rejected,
            "tokens_minted": self.tokens.minted,
            "token_requests_throttled": self.tokens.throttled,
            "faults_injected": dict(self.faults.injected),
            "records_written": self.stats.records_written,
            "records_read": self.stats.records_read,
            "module_sizes": {m.api_name: self.store.count(m) for m in schema.MODULES},
            "clock": self.clock.render(self.clock.now()),
            "clock_offset_s": self.clock.offset,
        }
