"""Least privilege for every call: what a CRM call does, and whether this connection may do it.

``ZohoHttp`` asks :meth:`CallPolicy.decide` before each call is sent, so no code path — SQL, a
reader, a writer's bookkeeping, a script calling ``session.http`` — can read or write what
AllowedOperations and AllowedModules do not allow. The decision (allow or deny, and why) goes into
the call's audit line; a denied call writes its line and raises
:class:`~connector.errors.PermissionDenied` without reaching Zoho.

What a call *is* comes from its method, path and body, the way Zoho's own scopes see it
(:func:`classify_call`): ``GET /Leads/{id}`` is get_record, ``GET /Leads`` (and its ``/deleted``
and ``/actions/count``) list_records, ``GET /Leads/search`` search_records, ``POST /coql`` query,
Bulk Read jobs bulk_read; ``POST``/``PUT``/``DELETE`` on a module insert/update/delete, ``/upsert``
upsert, Bulk Write jobs the operation their body names. Metadata (``/org``, ``/users``,
``/settings/...``) is not governed: the connector needs it to plan and to say what is wrong.

A caller may say on whose behalf its calls are made with :func:`acting_as`: the SQL engine runs a
statement as ``query`` (so ``AllowedOperations=query`` lets SQL read through whichever API the
planner picks), and a writer runs as its write operation on its module (so the reads a write
needs to reconcile rows — does Zoho already have this one? — are part of the allowed write, not
reads a write-only connection must also be granted).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from connector.config.config import ConnectionConfig
from connector.config.properties import READ_OPERATIONS, WRITE_OPERATIONS
from connector.errors import ConnectorError

METADATA = "metadata"
BULK_WRITE = "bulk_write"

# Top-level paths that are not modules: Zoho's metadata families and the COQL endpoint.
_NOT_MODULES = {"org", "users", "settings", "__features"}
_BULK_JOB = re.compile(r"/read/([0-9]+)")
_MODULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_COQL_FROM = re.compile(r"\bfrom\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)
_COQL_TEXT = re.compile(r"'(?:[^'\\]|\\.|'')*'")  # quoted values: a dot in them is no lookup
_COQL_PATH = re.compile(r"(?<![\w.$])[A-Za-z][A-Za-z0-9_$]*(?:\.[A-Za-z][A-Za-z0-9_$]*)+")
_RECORD_ID = re.compile(r"[0-9]{1,30}")


@dataclass(frozen=True)
class Purpose:
    """The operation a caller performs, which its calls serve (``query`` for SQL, a write's operation)."""

    operation: str
    module: str = ""
    #: the calls serve a SQL statement: reads are governed as ``query``, whatever API reads
    sql: bool = False


T = TypeVar("T")


def broker_decides(config: ConnectionConfig) -> bool:
    """A broker connection that does not narrow AllowedOperations/AllowedModules itself: every call
    goes to the broker, which decides it by the workspace's policy and audits the decision."""
    return bool(config.broker) and config.allowed_operations == ("read",) and not config.allowed_modules
_PURPOSE: ContextVar[Purpose | None] = ContextVar("zohocrm_purpose", default=None)


@contextmanager
def acting_as(operation: str, module: str = "", *, sql: bool = False) -> Iterator[Purpose]:
    """Calls made inside (in this thread, or threads started with its context) serve ``operation``."""
    purpose = Purpose(operation.strip().lower(), module.strip(), sql)
    token = _PURPOSE.set(purpose)
    try:
        yield purpose
    finally:
        _PURPOSE.reset(token)


def current_purpose() -> Purpose | None:
    return _PURPOSE.get()


PURPOSE_HEADER = "X-Zohocrm-Purpose"


def purpose_headers() -> dict[str, str]:
    """The current purpose as a header for a broker: ``query;sql``, ``insert:Leads``."""
    p = current_purpose()
    if p is None:
        return {}
    return {PURPOSE_HEADER: p.operation + (f":{p.module}" if p.module else "") + (";sql" if p.sql else "")}


def parse_purpose(text: str | None) -> Purpose | None:
    """A caller's ``X-Zohocrm-Purpose``; None when absent or not well formed (then none is assumed)."""
    m = re.fullmatch(r"([a-z_]{1,20})(?::([A-Za-z][A-Za-z0-9_]{0,60}))?(;sql)?", (text or "").strip())
    if m is None or m.group(1) not in ("query", *WRITE_OPERATIONS):
        return None
    return Purpose(m.group(1), m.group(2) or "", bool(m.group(3)))


def sql_purpose() -> Purpose:
    """The purpose of a SQL statement's calls: ``query``, or the write a DML statement reads for."""
    outer = current_purpose()
    if outer is not None and outer.operation in WRITE_OPERATIONS:
        return Purpose(outer.operation, outer.module, True)
    return Purpose("query", "", True)


def iterate_as(purpose: Purpose, items: Iterable[T]) -> Iterator[T]:
    """``items``, each one produced with ``purpose`` set, in whichever thread pulls it: a lazy SQL
    scan is pulled later, by DuckDB or a hand-over thread, outside the statement's own frame."""
    it = iter(items)
    while True:
        token = _PURPOSE.set(purpose)
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            _PURPOSE.reset(token)
        yield item


@contextmanager
def purpose_of(purpose: Purpose) -> Iterator[None]:
    token = _PURPOSE.set(purpose)
    try:
        yield
    finally:
        _PURPOSE.reset(token)


def may_query(config: ConnectionConfig, module: str) -> Decision:
    """Whether a SQL statement may read ``module`` (checked by name before any call is made)."""
    purpose = current_purpose() or sql_purpose()
    return CallPolicy(config).decide_read("query", module, Purpose(purpose.operation, purpose.module, True))


@dataclass(frozen=True)
class CallKind:
    """What one call does: a governed operation name and the module it touches ("" when none).

    ``lookups``: for COQL, the dotted field paths it reads through lookups (``Account_Name.Phone``
    FROM Contacts reads Accounts), which AllowedModules must allow too."""

    operation: str
    module: str = ""
    lookups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    operation: str
    module: str
    reason: str

    @property
    def word(self) -> str:
        return "allow" if self.allowed else "deny"


def _coql_module(body: Any) -> str:
    query = body.get("select_query", "") if isinstance(body, dict) else ""
    m = _COQL_FROM.search(_COQL_TEXT.sub("''", query) if isinstance(query, str) else "")
    return m.group(1) if m else ""


def coql_lookups(query: str, module: str) -> tuple[str, ...]:
    """The dotted field paths of a COQL query, without a leading module name.

    Zoho also reads a single-quoted ``'Lookup.Field'`` as a column (the way reserved words are
    quoted); such text is kept in its quotes, since it may as well be a value ('www.acme.com'):
    the policy takes it as a path when its first part is a lookup field of the module."""
    paths = []
    for m in _COQL_PATH.finditer(_COQL_TEXT.sub("''", query)):
        parts = m.group(0).split(".")
        if parts[0].casefold() == module.casefold():
            parts = parts[1:]
        if len(parts) > 1:
            paths.append(".".join(parts))
    for m in _COQL_TEXT.finditer(query):
        text = m.group(0)[1:-1].replace("''", "'")
        if _COQL_PATH.fullmatch(text):
            paths.append(f"'{text}'")
    return tuple(dict.fromkeys(paths))


def _bulk_module(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    query = body.get("query")
    if isinstance(query, dict):
        module = query.get("module")
        return str(module.get("api_name", "")) if isinstance(module, dict) else str(module or "")
    for resource in body.get("resource") or []:
        module = resource.get("module") if isinstance(resource, dict) else None
        if isinstance(module, dict):
            return str(module.get("api_name", ""))
    return ""


_API_PATH = re.compile(r"/crm/(bulk/)?v[0-9]+(/.*)?$")


def classify_call(method: str, url: str, body: Any = None, params: dict[str, Any] | None = None) -> CallKind:
    """The governed operation of a call to ``url`` (a full URL, or a path from ``/crm/...`` on)."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    if params is None and "?" in url:
        params = dict(parse_qsl(urlsplit(url).query))
    m = _API_PATH.search(path)
    method = method.upper()
    if m is None:
        # Not under /crm/vN: a Bulk Write job's result file (Zoho's download_url) and the like.
        return CallKind(METADATA if method in ("GET", "HEAD") else BULK_WRITE)
    parts = [p for p in (m.group(2) or "").split("/") if p]
    if m.group(1):  # /crm/bulk/vN/...
        if parts[:1] == ["read"]:
            return CallKind("bulk_read", _bulk_module(body))
        if parts[:1] == ["write"] and method == "POST":
            op = body.get("operation") if isinstance(body, dict) else None
            return CallKind(op if op in WRITE_OPERATIONS else BULK_WRITE, _bulk_module(body))
        return CallKind(METADATA)  # a write job's status: the writer that started it reads it
    if parts[:1] == ["upload"] or (parts == ["files"] and method == "POST"):
        # Bytes for a Bulk Write job, or for a file field (POST /files): what they become is the
        # write that names them, so they are allowed as part of that write only.
        return CallKind(BULK_WRITE)
    if parts[:1] == ["coql"]:
        coql = body.get("select_query") if isinstance(body, dict) else None
        source = _coql_module(body)
        return CallKind("query", source, coql_lookups(coql, source) if isinstance(coql, str) else ())
    if not parts or parts[0] in _NOT_MODULES:
        # A module's fields, layouts, views: metadata, but of that module (AllowedModules applies).
        module = (params or {}).get("module") if parts[:1] == ["settings"] else None
        return CallKind(METADATA, str(module) if isinstance(module, str) and _MODULE_NAME.fullmatch(module) else "")
    module, rest = parts[0], parts[1:]
    if module == "Contacts" and rest[:1] == ["roles"] and method in ("GET", "HEAD"):
        return CallKind(METADATA)  # the org's contact role picklist (Setup), not records
    if len(rest) == 2 and _RECORD_ID.fullmatch(rest[0]) and rest[1] == "photo":
        # A record's photo (the Photo API): reading it reads the record; uploading or deleting it
        # changes the record (its Record_Image), so both are an update of that module.
        return CallKind("get_record" if method in ("GET", "HEAD") else "update", module)
    if method in ("GET", "HEAD"):
        if rest[:1] == ["search"]:
            return CallKind("search_records", module)
        if rest and _RECORD_ID.fullmatch(rest[0]):
            if len(rest) == 1:
                return CallKind("get_record", module)
            # A related list (/Accounts/{id}/Contacts) answers records of the related module: that
            # module is what AllowedModules must name (anything else under a record: its own name).
            return CallKind("list_records", rest[1])
        return CallKind("list_records", module)
    if rest[:1] == ["upsert"]:
        return CallKind("upsert", module)
    if len(rest) >= 2 and rest[1] == "Attachments" and method in ("POST", "DELETE"):
        # Zoho's own scope for these is the attachments one (ZohoCRM.modules.attachments.CREATE)
        return CallKind("insert" if method == "POST" else "delete", "Attachments")
    if method == "DELETE":
        return CallKind("delete", module)
    if method == "PUT" or rest:  # record actions (/{id}, /actions/...) change existing records
        return CallKind("update", module)
    return CallKind("insert", module)


class CallPolicy:
    """Decides each call of one connection; remembers which module each Bulk job it allowed reads."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._jobs: dict[str, str] = {}
        self._lock = threading.Lock()
        #: (module, field) -> the module a lookup field points to ("" for a user lookup, None for no
        #: lookup); the session sets it from its catalog, so COQL lookups are checked module by module.
        self.lookup_target: Callable[[str, str], str | None] | None = None

    def remember_job(self, job_id: str, module: str) -> None:
        with self._lock:
            self._jobs[job_id] = module

    def job_module(self, job_id: str) -> str:
        with self._lock:
            return self._jobs.get(job_id, "")

    def classify(self, method: str, url: str, body: Any = None, params: dict[str, Any] | None = None) -> CallKind:
        kind = classify_call(method, url, body, params)
        if kind.operation == "bulk_read" and not kind.module:
            job = _BULK_JOB.search(urlsplit(url).path if "://" in url else url)
            if job:  # a job's status or result: the module its creation named
                kind = CallKind(kind.operation, self.job_module(job.group(1)))
        return kind

    def decide(self, kind: CallKind) -> Decision:
        op, module = kind.operation, kind.module
        if broker_decides(self.config):
            return Decision(True, op, module, "decided by the broker")
        if op == METADATA:
            return Decision(True, op, module, "metadata calls are not governed")
        purpose = current_purpose()
        if op in READ_OPERATIONS:
            decision = self.decide_read(op, module, purpose)
            return self._decide_lookups(decision, kind.lookups) if decision.allowed and kind.lookups else decision
        return self._decide_write(op, module, purpose)

    def _decide_lookups(self, decision: Decision, paths: tuple[str, ...]) -> Decision:
        """A query reads every module its lookup paths reach: AllowedModules must list each."""
        config = self.config
        if not config.allowed_modules:
            return decision
        listed = ",".join(config.allowed_modules)
        for quoted in paths:
            path, module = quoted.strip("'"), decision.module
            for step, name in enumerate(path.split(".")[:-1]):
                try:
                    target = self.lookup_target(module, name) if self.lookup_target else None
                except ConnectorError:
                    target = None
                if target is None and step == 0 and quoted.startswith("'"):
                    break  # quoted text that is no lookup path: a value
                if target is None:  # default deny: a read this connection cannot place is not made
                    return Decision(False, decision.operation, module, f"cannot tell which module {path} reads "
                                    f"(no lookup field {name} on {module} known), and AllowedModules ({listed}) "
                                    "is set")
                if not target:
                    break  # a user lookup (Owner.email): users are not a module
                if not config.is_module_listed(target):
                    return Decision(False, decision.operation, target, f"AllowedModules ({listed}) does not list "
                                    f"{target}, which {path} in a query from {decision.module} reads")
                module = target
        return decision

    def decide_read(self, op: str, module: str, purpose: Purpose | None) -> Decision:
        config = self.config
        if broker_decides(config):
            return Decision(True, op, module, "decided by the broker")
        if purpose is not None and purpose.operation in WRITE_OPERATIONS and module and \
                module.casefold() == purpose.module.casefold() and config.is_write_allowed(purpose.operation, module):
            return Decision(True, op, module, f"part of {purpose.operation} on {module}, which is allowed")
        as_query = purpose is not None and (purpose.operation == "query" or purpose.sql)
        shown = "query" if as_query else op
        ops = config.allowed_operations
        if "read" not in ops and shown not in ops:
            return Decision(False, shown, module, f"AllowedOperations ({','.join(ops)}) does not list {shown} or read")
        if config.allowed_modules and not config.is_module_listed(module):
            what = module or "a module this connection did not start the job for"
            return Decision(False, shown, module,
                            f"AllowedModules ({','.join(config.allowed_modules)}) does not list {what}")
        granted = "read" if "read" in ops else shown
        return Decision(True, shown, module, f"AllowedOperations lists {granted}" +
                        (f" and AllowedModules lists {module}" if config.allowed_modules else ""))

    def _decide_write(self, op: str, module: str, purpose: Purpose | None) -> Decision:
        config = self.config
        if not module and purpose is not None and purpose.operation in WRITE_OPERATIONS:
            op, module = (purpose.operation if op == BULK_WRITE else op), purpose.module  # a Bulk Write upload
        if op == BULK_WRITE:
            return Decision(False, op, module, "a file upload (Bulk Write, /files) outside a write of this connection")
        if op not in config.allowed_operations:
            return Decision(False, op, module, f"AllowedOperations ({','.join(config.allowed_operations)}) "
                                               f"does not list {op}")
        if not config.is_module_listed(module):
            listed = ",".join(config.allowed_modules) or "empty: no module may be written"
            return Decision(False, op, module, f"AllowedModules ({listed}) does not list {module}")
        return Decision(True, op, module, f"AllowedOperations lists {op} and AllowedModules lists {module}")


def policy_url(config: ConnectionConfig, path: str, base: str) -> str:
    """The path of the URL a call goes to, from /crm/ on (its host may not be known yet)."""
    if path.startswith(("http://", "https://")):
        return path
    v = config.api_version
    return {"bulk": f"/crm/bulk/{v}{path}", "root": path}.get(base, f"/crm/{v}{path}")


def allowing_hint(config: ConnectionConfig, decision: Decision) -> str:
    """The connection-string text that would allow a refused call."""
    ops, op, module = config.allowed_operations, decision.operation, decision.module
    is_read = op in READ_OPERATIONS
    parts = []
    if (op not in ops and "read" not in ops) if is_read else op not in ops:
        parts.append(f";AllowedOperations={','.join([*ops, 'read' if is_read else op])}")
    if module and not config.is_module_listed(module) and (config.allowed_modules or not is_read):
        parts.append(f";AllowedModules={','.join([*config.allowed_modules, module])}")
    if not parts:
        return "this call is not allowed outside a write of this connection"
    return f"add `{''.join(parts)}` to the connection string (in place of the property it has), if it should be"
