"""Least privilege: AllowedOperations/AllowedModules are default-deny for writes, checked before any call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import WRITE_OPERATIONS, parse_connection_string
from connector.errors import ConfigError, PermissionDenied
from connector.http.guard import require_write, require_writes
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
        with pytest.raises(PermissionDenied, match="add `;AllowedOperations=read,insert;AllowedModules=Leads`"):
            require_write(s.config, "insert", "Leads")
            s.http.post("/Leads", json={"data": [{"Last_Name": "never sent"}]})
        assert stats(emu)["calls_total"] == before and s.http.attempts == 0


@pytest.mark.parametrize("props, needs, text", [
    # Nothing allowed yet: one message, both properties, the whole text to add.
    ({}, {"Leads": ["insert"]}, ";AllowedOperations=read,insert;AllowedModules=Leads"),
    ({}, {"Leads": ["insert", "update"], "Contacts": ["insert"]},
     ";AllowedOperations=read,insert,update;AllowedModules=Leads,Contacts"),
    # What is allowed already is kept in the new value (a property is named once in a string).
    ({"AllowedOperations": "read,insert", "AllowedModules": "Accounts"}, {"Leads": ["insert"]},
     ";AllowedModules=Accounts,Leads"),
    ({"AllowedOperations": "read,insert", "AllowedModules": "Leads"}, {"Leads": ["delete", "update"]},
     ";AllowedOperations=read,insert,update,delete"),
    ({"AllowedOperations": "insert", "AllowedModules": "leads"}, {"Leads": ["upsert"], "Deals": ["insert"]},
     ";AllowedOperations=insert,upsert;AllowedModules=leads,Deals"),
])
def test_one_denial_names_everything_missing_with_the_text_that_allows_it(props, needs, text):
    cfg = config(**props)
    with pytest.raises(PermissionDenied) as info:
        require_writes(cfg, needs)
    message = str(info.value)
    assert f"`{text}`" in message
    for module, ops in needs.items():
        for op in ops:
            if not cfg.is_write_allowed(op, module):
                assert op in message and module in message
    # Following the advice (the text in place of the properties it names) allows every write, at once.
    kept = ";".join(f"{k}={v}" for k, v in props.items() if f";{k}=" not in text)
    require_writes(parse_connection_string(kept + text), needs)


@given(st.sets(st.sampled_from(WRITE_OPERATIONS)), st.sets(st.sampled_from(MODULES)),
       st.dictionaries(st.sampled_from(MODULES), st.sets(st.sampled_from(WRITE_OPERATIONS), min_size=1),
                       min_size=1))
def test_the_suggested_text_always_allows_what_was_denied(ops, modules, needs):
    props = {"AllowedOperations": ",".join(["read", *sorted(ops)])}
    if modules:
        props["AllowedModules"] = ",".join(sorted(modules))
    base = ";".join(f"{k}={v}" for k, v in props.items())
    try:
        require_writes(parse_connection_string(base), needs)
        return  # nothing missing
    except PermissionDenied as exc:
        text = str(exc).split("`")[1]
    # The text names each property it changes once, as the replacement of the old value.
    kept = ";".join(f"{k}={v}" for k, v in props.items() if f";{k}=" not in text)
    require_writes(parse_connection_string(kept + text), needs)


@pytest.mark.parametrize("allow, sql, text", [
    ("", "UPDATE Leads SET City = 'x' WHERE Company = 'x'", ";AllowedOperations=read,update;AllowedModules=Leads"),
    (";AllowedOperations=read,update", "UPDATE Leads SET City = 'x' WHERE Company = 'x'", ";AllowedModules=Leads"),
    (";AllowedOperations=read,insert;AllowedModules=Contacts", "DELETE FROM Leads WHERE Company = 'x'",
     ";AllowedOperations=read,insert,delete;AllowedModules=Contacts,Leads"),
])
def test_sql_dml_is_denied_in_one_message_with_the_text_to_add(make_emulator, allow, sql, text):
    from connector.engine import dbapi

    emu = make_emulator(records=10)
    with dbapi.connect(emu.connection_string + allow) as c:
        c.execute("SHOW TABLES")
        before = stats(emu)["calls"]
        with pytest.raises(PermissionDenied) as info:
            c.execute(sql)
        assert f"`{text}`" in str(info.value)
        after = stats(emu)["calls"]
        # Refused before reading a row or writing one (planning may read the module's fields).
        assert {k for k in after if after[k] != before.get(k)} <= {"list_fields"}
