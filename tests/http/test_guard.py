"""Least privilege: AllowedOperations/AllowedModules are default-deny for writes, checked before any call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import WRITE_OPERATIONS, parse_connection_string
from connector.errors import ConfigError, PermissionDenied
from connector.http.guard import require_write
from tests.http.support import conn, fast_session, stats

MODULES = ("Leads", "Contacts", "Accounts", "Deals", "Custom_Module")


def config(**props: str):
    return parse_connection_string(";".join(f"{k}={v}" for k, v in props.items()))


@pytest.mark.parametrize("props, operation, module, allowed", [
    ({}, "read", "Leads", True),  # the default connection reads everything ...
    ({}, "insert", "Leads", False),  # ... and writes nothing
    ({}, "delete", "Contacts", False),
    ({"AllowedOperations": "read,insert"}, "insert", "Leads", False),  # no module listed: still denied
    ({"AllowedModules": "Leads"}, "insert", "Leads", False),  # module listed, operation not
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, "insert", "Leads", True),
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, "INSERT", "leads", True),  # any case
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, "update", "Leads", False),
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, "insert", "Contacts", False),
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, "read", "Contacts", False),  # listed = only
    ({"AllowedOperations": "insert", "AllowedModules": "Leads"}, "read", "Leads", False),
    ({"AllowedOperations": "read,insert,update,upsert,delete", "AllowedModules": "Leads,Deals"}, "delete",
     "Deals", True),
])
def test_allowed_operations_and_modules(props, operation, module, allowed):
    cfg = config(**props)
    assert cfg.is_write_allowed(operation, module) is allowed
    if operation.lower() == "read":
        return
    if allowed:
        require_write(cfg, operation, module)
    else:
        with pytest.raises(PermissionDenied) as info:
            require_write(cfg, operation, module)
        assert ("AllowedOperations" in str(info.value)) or ("AllowedModules" in str(info.value))


@given(st.sets(st.sampled_from(WRITE_OPERATIONS)), st.sets(st.sampled_from(MODULES)),
       st.sampled_from(WRITE_OPERATIONS), st.sampled_from(MODULES), st.booleans())
def test_a_write_is_allowed_exactly_when_both_lists_name_it(ops, modules, op, module, dry_run):
    props = {"AllowedOperations": ",".join(["read", *sorted(ops)]), "DryRun": str(dry_run).lower()}
    if modules:
        props["AllowedModules"] = ",".join(sorted(modules))
    cfg = config(**props)
    expected = op in ops and module in modules
    assert cfg.is_write_allowed(op, module) is expected
    assert cfg.dry_run is dry_run  # DryRun never loosens the guard
    if expected:
        require_write(cfg, op, module)
    else:
        with pytest.raises(PermissionDenied):
            require_write(cfg, op, module)


@pytest.mark.parametrize("operation, module", [("read", "Leads"), ("merge", "Leads"), ("insert", " ")])
def test_require_write_rejects_what_is_not_a_write(operation, module):
    with pytest.raises(ConfigError):
        require_write(config(AllowedOperations="read,insert", AllowedModules="Leads"), operation, module)


def test_the_guard_stops_a_write_before_any_request(make_emulator):
    emu = make_emulator(records=10)
    with fast_session(conn(emu)) as s:  # the default: read only
        before = stats(emu)["calls_total"]
        with pytest.raises(PermissionDenied, match="add insert to AllowedOperations"):
            require_write(s.config, "insert", "Leads")
            s.http.post("/Leads", json={"data": [{"Last_Name": "never sent"}]})
        assert stats(emu)["calls_total"] == before and s.http.attempts == 0
