"""The error tree follows PEP 249's hierarchy, so DB-API users can catch the standard names."""

from __future__ import annotations

import pytest

from connector import errors
from connector.engine import dbapi


@pytest.mark.parametrize("name", ["DataError", "OperationalError", "IntegrityError", "InternalError",
                                  "ProgrammingError", "NotSupportedError"])
def test_database_error_subclasses(name):
    cls = getattr(dbapi, name)
    assert issubclass(cls, dbapi.DatabaseError)
    assert issubclass(cls, dbapi.Error)


def test_interface_and_database_errors_are_errors():
    assert issubclass(dbapi.InterfaceError, dbapi.Error)
    assert issubclass(dbapi.DatabaseError, dbapi.Error)
    assert not issubclass(dbapi.InterfaceError, dbapi.DatabaseError)


def test_connector_errors_map_onto_pep249():
    assert issubclass(errors.AuthError, errors.DatabaseError)
    assert issubclass(errors.QuotaExhaustedError, errors.DatabaseError)
    assert issubclass(errors.RetriableError, dbapi.OperationalError)
    assert issubclass(errors.ConfigError, ValueError)
