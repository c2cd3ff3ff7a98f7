"""AllowedModules and COQL lookups: a query reads every module its lookup paths reach, not only its FROM."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.broker.client import BrokerClient
from connector.broker.policy import KeyRegistry
from connector.broker.serve import BrokerServer
from connector.broker.server import Broker
from connector.emulator import Emulator
from connector.errors import PermissionDenied
from connector.http.policy import CallKind, classify_call, coql_lookups
from connector.session import ZohoSession
from tests.http.support import conn, stats


@pytest.mark.parametrize(("query", "paths"), [
    ("select Last_Name from Contacts", ()),
    ("select Last_Name, Account_Name.Phone from Contacts", ("Account_Name.Phone",)),
    ("select Account_Name.Parent_Account.Industry from Contacts where Amount > 1.5",
     ("Account_Name.Parent_Account.Industry",)),
    ("select Contacts.Last_Name from Contacts", ()),  # the module's own name in front is no lookup
    ("select Last_Name from Contacts where Email = 'ann.lee@acme.example'", ("'ann.lee@acme.example'",)[:0]),
    ("select 'Account_Name.Phone' from Contacts", ("'Account_Name.Phone'",)),  # a quoted column
    ("select id from Contacts where Website = 'www.acme.com'", ("'www.acme.com'",)),  # kept; a value if no lookup
    ("select COUNT(Account_Name.id) from Contacts where Owner.email is not null", ("Account_Name.id", "Owner.email")),
])
def test_the_lookup_paths_of_a_coql_query(query: str, paths: tuple[str, ...]) -> None:
    assert coql_lookups(query, "Contacts") == paths
    assert classify_call("POST", "/crm/v8/coql", {"select_query": query}) == CallKind("query", "Contacts", paths)


def coql(session: ZohoSession, query: str) -> list[dict]:
    r = session.http.post("/coql", json={"select_query": query}, kind="coql")
    return [] if r.empty else list(r.body["data"])


def coql_calls(emu: Emulator) -> int:
    return sum(n for path, n in stats(emu)["calls"].items() if "coql" in path)


def test_a_lookup_into_a_module_not_listed_is_refused_before_it_is_sent(make_emulator: Callable[..., Emulator],
                                                                       tmp_path: Path) -> None:
    emu = make_emulator(records=60, seed=21)
    log = tmp_path / "audit.jsonl"
    query = "select Last_Name, Account_Name.Phone from Contacts where Last_Name is not null limit 5"
    with ZohoSession(conn(emu, AllowedOperations="query", AllowedModules="Contacts", AuditLog=str(log))) as s:
        assert coql(s, "select Last_Name from Contacts where Last_Name is not null limit 5")
        before = coql_calls(emu)
        with pytest.raises(PermissionDenied, match="does not list Accounts, which Account_Name.Phone in a query "
                                                   "from Contacts reads"):
            coql(s, query)
        with pytest.raises(PermissionDenied, match="does not list Accounts"):
            coql(s, query.replace("Account_Name.Phone", "'Account_Name.Phone'"))
        with pytest.raises(PermissionDenied, match="cannot tell which module Nope.Phone reads"):
            coql(s, query.replace("Account_Name.Phone", "Nope.Phone"))
        assert coql_calls(emu) == before  # none of them reached Zoho
        # A user lookup reads no module; a dotted value is a value.
        coql(s, "select Last_Name, Owner.email from Contacts where Email != 'x.y@z.example' limit 3")
    denied = [json.loads(x) for x in log.read_text().splitlines() if '"deny"' in x]
    assert [(e["module"], e["operation"]) for e in denied][:2] == [("Accounts", "query"), ("Accounts", "query")]
    with ZohoSession(conn(emu, AllowedOperations="query", AllowedModules="Contacts,Accounts")) as s:
        rows = coql(s, query)
        assert rows and "Account_Name.Phone" in rows[0]


def test_the_broker_checks_lookups_against_the_workspace_modules(make_emulator: Callable[..., Emulator],
                                                                 tmp_path: Path) -> None:
    emu = make_emulator(records=60, seed=22)
    policy = tmp_path / "policy.toml"
    policy.write_text('[workspaces.people]\nallowed_org = "665000001"\nallowed_modules = ["Contacts"]\n'
                      'allowed_operations = ["query"]\n')
    service = Broker(conn(emu, OAuthSettingsLocation=str(tmp_path / "t.sealed")), policy, tmp_path / "state")
    key = KeyRegistry(tmp_path / "state").issue(service.workspaces["people"], service.signer.mldsa_public)["key"]
    server = BrokerServer(service, "127.0.0.1", 0)
    server.start()
    try:
        with BrokerClient(server.url, key=key) as client:
            assert coql(client.session, "select Last_Name from Contacts where Last_Name is not null limit 2")
            before = coql_calls(emu)
            with pytest.raises(PermissionDenied, match="refused by the broker.*does not list Accounts"):
                coql(client.session, "select Account_Name.Phone from Contacts where Last_Name is not null limit 2")
            assert coql_calls(emu) == before
    finally:
        server.shutdown()
        server.server_close()
        service.close()
    lines = [json.loads(x) for x in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    assert any(e["decision"] == "deny" and e["module"] == "Accounts" and e["workspace"] == "people" for e in lines)
