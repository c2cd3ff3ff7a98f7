"""``Broker``: holds the Zoho connection and serves workspaces, each call decided by its policy.

A client connects with ``Broker=<url>;BrokerKey=<key>`` and sends its CRM calls here, its workspace
key where the OAuth token would be. For each call the broker: finds the workspace by the key's
hash; refuses it when the workspace's ``allowed_org`` is not the connected org; decides the call by
the workspace's policy (the same :mod:`connector.http.policy` rules a direct connection uses, with
the workspace's operations and modules, plus the broker's own: dry-run workspaces never write,
Bulk Write needs ``bulk_write``); and forwards it through the workspace's own ``ZohoHttp`` (shared
token manager, its own rate and daily credit budget), which puts the Zoho token on the wire and
writes the audit line (``workspace``, ``operation``, ``module``, ``rows``, ``decision``,
``reason``). Answers go back as Zoho sent them, or sealed in a HybridCryptoEnvelope.

Refusals look like Zoho errors so any client classifies them: 401 ``INVALID_TOKEN`` for an unknown
key, 403 ``BROKER_DENIED`` for the policy, 429 ``BROKER_BUDGET_REACHED`` for a spent budget.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from connector.auth.envelope import BrokerSigningKey, seal_envelope
from connector.auth.pqc import select_backend
from connector.config import parse_connection_string
from connector.config.config import ConnectionConfig
from connector.errors import (
    ApiError,
    AuthError,
    ConnectorError,
    CreditBudgetReached,
    PermissionDenied,
    RetriableError,
)
from connector.http.audit import AuditLog
from connector.http.brokered import ENVELOPE_TYPE, seal_payload
from connector.http.policy import (
    BULK_WRITE,
    METADATA,
    PURPOSE_HEADER,
    Decision,
    Purpose,
    parse_purpose,
    purpose_of,
)
from connector.localfs import private_dir, write_private
from connector.session import ZohoSession

from .policy import KeyRegistry, Workspace, load_policy

FORWARDED_REQUEST_HEADERS = ("Content-Type", "If-Modified-Since", "X-CRM-ORG", "feature")
FORWARDED_ANSWER_HEADERS = ("Content-Type", "Date", "X-API-CREDITS-REMAINING", "Content-Disposition",
                            "Retry-After")
WRITE_OPS = ("insert", "update", "upsert", "delete", BULK_WRITE)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False  # close without answering: the client must treat the write as ambiguous


def zoho_error(status: int, code: str, message: str, **extra: str) -> Answer:
    body = {"code": code, "details": dict(extra), "message": message, "status": "error"}
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def default_state_dir(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.stem + ".broker")


def signing_key(state_dir: Path) -> BrokerSigningKey:
    """The broker's ML-DSA-65 key, made once and kept 0600 in its state folder."""
    path = state_dir / "signing.key"
    backend = select_backend()
    try:
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        if not state_dir.exists():
            private_dir(state_dir, "broker state folder")
        seed, _ = backend.sig_keygen()
        write_private(path, seed.hex(), "broker signing key")
    return BrokerSigningKey(seed, backend.sig_public_key(seed))


@dataclass
class _Served:
    workspace: Workspace
    session: ZohoSession
    downloads: dict[str, str] = field(default_factory=dict)


class Broker:
    def __init__(self, connection: str | ConnectionConfig, policy_path: Path, state_dir: Path | None = None,
                 **session_kw: Any) -> None:
        config = connection if isinstance(connection, ConnectionConfig) else parse_connection_string(connection)
        if config.broker:
            raise AuthError("a broker's own connection must be a Zoho connection, not another broker")
        self.workspaces = load_policy(policy_path)
        self.state_dir = state_dir or default_state_dir(policy_path)
        self.registry = KeyRegistry(self.state_dir)
        self.signer = signing_key(self.state_dir)
        self.audit = AuditLog(config.audit_log or self.state_dir / "audit.jsonl")
        self.main = ZohoSession(config.replace(audit_log=None), audit=self.audit, **session_kw)
        self.org_id = str(self.main.org().get("id", ""))
        self.refused: dict[str, str] = {}
        self.served: dict[str, _Served] = {}
        for ws in self.workspaces.values():
            if ws.allowed_org != self.org_id:
                self.refused[ws.name] = (f"workspace {ws.name} is for org {ws.allowed_org}, but this broker is "
                                         f"connected to org {self.org_id}")
                continue
            wcfg = config.replace(
                audit_log=None, allowed_operations=ws.connection_operations() or ("read",),
                allowed_modules=ws.connection_modules(), dry_run=ws.dry_run, calls_per_minute=ws.calls_per_minute,
                credit_budget=0, credit_budget_per_day=ws.credits_per_day,
                budget_location=self.state_dir / "budgets" / f"{ws.name}.json")
            session = ZohoSession(wcfg, tokens=self.main.tokens, audit=self.audit, **session_kw)
            session.http.workspace = ws.name
            self.served[ws.name] = _Served(ws, session)
        self._lock = threading.Lock()

    def close(self) -> None:
        for served in self.served.values():
            served.session.close()
        self.main.close()
        self.audit.flush()

    # -- one call --------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, origin: str) -> Answer:
        key = _presented_key(headers)
        found = self.registry.lookup(key) if key else None
        path = urlsplit(target).path
        if found is None or found[0] not in self.workspaces:
            self.audit.record(method=method, path=path, status="denied", decision="deny", operation="",
                              reason="no workspace key, or a key this broker did not issue")
            return zoho_error(401, "INVALID_TOKEN", "invalid broker workspace key")
        name, entry = found
        answer = self._answer(name, method, target, headers, body, origin)
        return answer if answer.drop else self._seal(self.workspaces[name], entry, answer)

    def _answer(self, name: str, method: str, target: str, headers: dict[str, str], body: bytes,
                origin: str) -> Answer:
        path = urlsplit(target).path
        if name in self.refused:
            self.audit.record(method=method, path=path, status="denied", decision="deny", reason=self.refused[name],
                              workspace=name)
            return zoho_error(403, "BROKER_DENIED", self.refused[name])
        served = self.served[name]
        if path == "/__broker/whoami":
            ws = served.workspace
            return Answer(200, {"Content-Type": "application/json"}, json.dumps({
                "workspace": name, "org_id": self.org_id, "allowed_operations": list(ws.allowed_operations),
                "allowed_modules": list(ws.allowed_modules), "dry_run": ws.dry_run, "envelope": ws.envelope}).encode())
        if path.startswith("/__broker/download/"):
            url = served.downloads.get(path.rsplit("/", 1)[-1])
            if url is None:
                return zoho_error(404, "INVALID_URL_PATTERN", "no such download on this broker")
            return self._forward(served, "GET", url, {}, None, b"", {}, origin, None)
        if not path.startswith("/crm/"):
            return zoho_error(404, "INVALID_URL_PATTERN", "the broker forwards /crm/... paths only")
        json_body = _json(body, headers)
        kind = served.session.http.policy.classify(method, target, json_body)
        reason = _broker_rule(served.workspace, kind.operation, kind.module)
        if reason:
            try:
                served.session.http.refuse(Decision(False, kind.operation, kind.module, reason), method=method,
                                           path=path, kind="broker")
            except PermissionDenied as exc:
                return zoho_error(403, "BROKER_DENIED", exc.message)
        url = (served.session.config.content_server if path.endswith("/upload") else
               served.session.http.api_domain) + path
        params = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        purpose = parse_purpose(headers.get(PURPOSE_HEADER) or headers.get(PURPOSE_HEADER.lower()))
        if purpose is not None and purpose.operation != "query" and kind.operation != BULK_WRITE:
            # Only `query` is taken on the client's word (it grants no row `query` does not), and a
            # write's purpose only to say which write a Bulk Write upload belongs to: a write's
            # bookkeeping reads would let a write-only workspace read its module.
            purpose = Purpose("query", "", True) if purpose.sql else None
        return self._forward(served, method, url, params, json_body, body, headers, origin, purpose)

    def _forward(self, served: _Served, method: str, url: str, params: dict[str, str], json_body: Any,
                 body: bytes, headers: dict[str, str], origin: str, purpose: Purpose | None) -> Answer:
        http = served.session.http
        sent = {k: v for k, v in headers.items() if k in FORWARDED_REQUEST_HEADERS or k.lower() in
                {h.lower() for h in FORWARDED_REQUEST_HEADERS}}
        stream = method == "GET" and url.rstrip("/").endswith("/result")
        try:
            with purpose_of(purpose) if purpose is not None else nullcontext():
                resp = http.request(method, url, params=params or None, json=json_body,
                                    data=body if json_body is None and body else None,
                                    headers={k: v for k, v in sent.items() if k.lower() != "content-type"}
                                    if json_body is not None else sent,
                                    batch=method in ("POST", "PUT"), kind="broker", stream=stream, raw=True)
        except PermissionDenied as exc:
            return zoho_error(403, "BROKER_DENIED", exc.message)
        except CreditBudgetReached as exc:
            return zoho_error(429, "BROKER_BUDGET_REACHED", exc.message)
        except RetriableError as exc:
            if exc.ambiguous:  # the write may have landed: the client must see a lost answer and reconcile
                return Answer(0, {}, b"", drop=True)
            return zoho_error(exc.status or 502, exc.code or "BROKER_UPSTREAM", exc.message)
        except ApiError as exc:
            return zoho_error(exc.status or 502, exc.code or "BROKER_UPSTREAM", exc.message)
        except AuthError as exc:
            return zoho_error(502, "BROKER_UPSTREAM", f"the broker's own Zoho connection failed: {exc.message}")
        except ConnectorError as exc:
            return zoho_error(502, "BROKER_UPSTREAM", exc.message)
        content = b"".join(resp.iter_content()) if hasattr(resp, "iter_content") else resp.content
        out = {k: v for k, v in resp.headers.items() if k in FORWARDED_ANSWER_HEADERS}
        # Zoho's bytes go on as they came; only an answer naming a download (a Bulk Write
        # result) is decoded, to point it through the broker. Asked in this order, a page of
        # records (``raw=True``: left undecoded) is never decoded here.
        if b"download_url" in content and isinstance(resp.body, dict | list):
            rewritten = self._rewrite_downloads(served, resp.body, origin)
            content = json.dumps(rewritten).encode()
        return Answer(resp.status, out, content)

    def _rewrite_downloads(self, served: _Served, body: Any, origin: str) -> Any:
        """Zoho's absolute download URLs (Bulk Write results) point through the broker instead."""
        if isinstance(body, list):
            return [self._rewrite_downloads(served, item, origin) for item in body]
        if not isinstance(body, dict):
            return body
        out = {}
        for k, v in body.items():
            if k == "download_url" and isinstance(v, str) and v.startswith(("http://", "https://")):
                token = secrets.token_urlsafe(16)
                with self._lock:
                    served.downloads[token] = v
                out[k] = f"{origin}/__broker/download/{token}"
            else:
                out[k] = self._rewrite_downloads(served, v, origin)
        return out

    def _seal(self, ws: Workspace, entry: dict[str, Any], answer: Answer) -> Answer:
        if not ws.envelope:
            return answer
        sealed = entry.get("envelope")
        if not isinstance(sealed, dict):
            return zoho_error(403, "BROKER_DENIED", f"workspace {ws.name} wants sealed answers but its key was "
                                                   "issued without envelope keys: issue a new one")
        blob = seal_envelope(seal_payload(answer.status, answer.headers, answer.body),
                             mlkem_public=base64.b64decode(sealed["mlkem_public"]),
                             x25519_public=base64.b64decode(sealed["x25519_public"]),
                             hmac_key=base64.b64decode(sealed["hmac_key"]), signer=self.signer)
        return Answer(200, {"Content-Type": ENVELOPE_TYPE}, blob)


def _broker_rule(ws: Workspace, operation: str, module: str) -> str:
    """The broker's own refusals, before the connection's rules: what a policy cannot say otherwise."""
    if not ws.allowed_operations:
        return f"workspace {ws.name} allows no operation (allowed_operations is empty)"
    if not ws.allowed_modules:
        return f"workspace {ws.name} allows no module (allowed_modules is empty)"
    listed = ws.allowed_modules == ("*",) or module.casefold() in {m.casefold() for m in ws.allowed_modules}
    if operation == METADATA and module and not listed:
        # A module's fields and layouts are the workspace's business only for its own modules.
        return f"workspace {ws.name}: allowed_modules ({', '.join(ws.allowed_modules)}) does not list {module}"
    if operation in WRITE_OPS and ws.dry_run:
        return f"workspace {ws.name} is dry-run only: validate with DryRun=true in the connection string"
    if operation == BULK_WRITE and "bulk_write" not in ws.allowed_operations:
        return f"workspace {ws.name} does not list bulk_write"
    if operation in WRITE_OPS and not ws.confirm_writes:
        return f"workspace {ws.name} lists writes without confirm_writes = true"
    return ""


def _presented_key(headers: dict[str, str]) -> str:
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme == "Zoho-oauthtoken" and value.strip():
        return value.strip()
    return (headers.get("X-Broker-Key") or headers.get("x-broker-key") or "").strip()


def _json(body: bytes, headers: dict[str, str]) -> Any:
    ctype = headers.get("Content-Type") or headers.get("content-type") or ""
    if not body or "json" not in ctype:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
