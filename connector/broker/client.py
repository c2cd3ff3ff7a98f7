"""``BrokerClient``: the named operations of a broker workspace, from Python.

    from connector.broker.client import BrokerClient

    with BrokerClient("http://127.0.0.1:8787", key_file="crm-agent.key") as crm:
        lead = crm.get_record("Leads", "5843104000000425001")
        page = crm.list_records("Leads", fields=["Last_Name", "Email"])
        found = crm.search_records("Leads", "(Email:equals:alice@acme.example)")
        table = crm.query("SELECT Lead_Source, count(*) AS n FROM Leads GROUP BY 1")
        report = crm.create_record("Leads", [{"Last_Name": "Ng", "Company": "Acme"}])

It is a broker connection (``Broker=...;BrokerKey=...``) with one method per operation of the
QuantaSeal policy names; each call is decided, audited and (if the workspace asks) sealed by the
broker, and a refusal raises :class:`~connector.errors.PermissionDenied`. Writes return the
per-row :class:`~connector.writers.WriteReport`; ``dry_run=True`` validates without writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from connector.api import records as records_api
from connector.config import parse_connection_string
from connector.config.config import ConnectionConfig
from connector.config.values import Secret
from connector.engine.executor import Engine
from connector.errors import ApiError, ConfigError, ProgrammingError
from connector.planning.statement import DML_KINDS, read_statement
from connector.session import ZohoSession
from connector.writers import WriteReport, write
from connector.writers.base import Rows


class BrokerClient:
    def __init__(self, url: str, *, key: str | Secret | None = None, key_file: str | Path | None = None) -> None:
        if (key is None) == (key_file is None):
            raise ConfigError("BrokerClient needs the workspace key: give key= or key_file= (one of them)")
        # The config's own conversion turns text into a Secret and a Path, with its checks.
        config = parse_connection_string({"Broker": url, "BrokerKey": key, "BrokerKeyFile": key_file})
        self.session = ZohoSession(config)
        self._engine = Engine(self.session)

    @classmethod
    def from_config(cls, config: ConnectionConfig) -> BrokerClient:
        """A client on a whole broker connection string (its other settings, e.g. Timeout, kept)."""
        if not config.broker:
            raise ConfigError("a BrokerClient needs a broker connection (Broker=...;BrokerKey=...)")
        client = cls.__new__(cls)
        client.session = ZohoSession(config)
        client._engine = Engine(client.session)
        return client

    def __repr__(self) -> str:
        return f"BrokerClient({self.session.config.broker!r}, key='***')"

    # -- reads ------------------------------------------------------------------------------------

    def get_record(self, module: str, record_id: str) -> dict[str, Any] | None:
        """One record by id (None when Zoho has none with it)."""
        return records_api.get_record(self.session.http, module, record_id)

    def list_records(self, module: str, fields: Sequence[str] = ("id",), *, page_token: str | None = None,
                     per_page: int = 200) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records and the token of the next page (None at the end)."""
        page = records_api.list_page(self.session.http, module, list(fields), page_token=page_token,
                                     per_page=per_page)
        return page.records, page.next_page_token if page.more else None

    def search_records(self, module: str, criteria: str, *, page: int = 1,
                       per_page: int = 200) -> list[dict[str, Any]]:
        """Zoho's Search API with its criteria text, e.g. ``(Email:equals:alice@acme.example)``."""
        r = self.session.http.get(f"/{module}/search", params={"criteria": criteria, "page": page,
                                                               "per_page": per_page}, kind="search")
        return [] if r.empty else list(r.body.get("data", []))

    def query(self, sql: str, params: Any = None) -> pa.Table:
        """A SQL statement over the workspace's modules (read as ``query`` by the broker)."""
        return self._engine.run(sql, params).reader.read_all()

    def read_sql(self, sql: str, params: Any = None) -> pa.RecordBatchReader:
        """A read-only statement's rows as a stream (SELECT, SHOW, DESCRIBE, EXPLAIN): INSERT, UPDATE,
        DELETE and UPSERT are refused here before anything is sent, whatever the workspace allows."""
        statement = read_statement(sql, params)
        if statement.kind in DML_KINDS:
            raise ProgrammingError(f"{statement.kind.upper()} writes; this runs read-only SQL (SELECT, SHOW, "
                                   "DESCRIBE, EXPLAIN)", hint="write with create_record, update_record, "
                                                             "upsert_record or delete_record")
        return self._engine.run(statement).reader

    def workspace(self) -> dict[str, Any]:
        """What the broker says of this key's workspace: name, org_id, allowed_operations,
        allowed_modules, dry_run, envelope (answered by the broker itself for any valid key; no Zoho call)."""
        r = self.session.http.request("GET", f"{self.session.config.broker}/__broker/whoami", kind="broker")
        if not isinstance(r.body, dict) or "allowed_operations" not in r.body:
            raise ApiError("the broker did not describe this key's workspace (is Broker a zohocrm broker?)")
        return dict(r.body)

    # -- writes -----------------------------------------------------------------------------------

    def create_record(self, module: str, rows: Rows, *, dry_run: bool | None = None,
                      trigger: Iterable[str] = ()) -> WriteReport:
        return write(self.session, module, rows, "insert", trigger=trigger, dry_run=dry_run, api="rest")

    def update_record(self, module: str, rows: Rows, *, dry_run: bool | None = None,
                      trigger: Iterable[str] = ()) -> WriteReport:
        return write(self.session, module, rows, "update", trigger=trigger, dry_run=dry_run, api="rest")

    def upsert_record(self, module: str, rows: Rows, key: str, *, dry_run: bool | None = None,
                      trigger: Iterable[str] = ()) -> WriteReport:
        return write(self.session, module, rows, "upsert", key=key, trigger=trigger, dry_run=dry_run, api="rest")

    def delete_record(self, module: str, ids: Sequence[str], *, dry_run: bool | None = None) -> WriteReport:
        return write(self.session, module, pa.table({"id": list(ids)}), "delete", dry_run=dry_run, api="rest")

    # -- life cycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._engine.close()
        self.session.close()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
