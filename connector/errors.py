"""The connector's one error tree.

Every exception the connector raises on purpose is a :class:`ConnectorError`.
PEP 249 names are aliased at the bottom so DB-API users can catch
``connector.dbapi.DatabaseError`` and friends.

Messages say what was wrong, what was expected and what to do next. They never
carry secrets: anything that might (a URL, a response body) goes through
:func:`connector.redaction.redact` before it is put in a message.
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    """Base of every error raised by the connector."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")


class ConfigError(ConnectorError, ValueError):
    """A connection string or setting is malformed, unknown, or out of range."""


class FileAccessError(ConnectorError):
    """A local file or folder the connector reads or writes (log, state, report, target) is unusable.

    Not a DatabaseError: nothing about Zoho or the data is wrong, a path is. ``errno`` is the
    operating system's code when there was one.
    """

    errno: int | None = None


class DatabaseError(ConnectorError):
    """PEP 249's DatabaseError: every failure that involves Zoho or the data (all but bad settings)."""


class AuthError(DatabaseError):
    """OAuth failed: bad client, expired or revoked token, wrong data center, tampered store.

    ``zoho_error`` is the code Zoho gave (``invalid_client``, ``INVALID_TOKEN``...). ``renewable``:
    the access token was refused (INVALID_TOKEN) and the token provider has just renewed it, so
    the call may be sent once more with the new token; any other AuthError is final.
    """

    def __init__(self, message: str, *, hint: str | None = None, zoho_error: str | None = None,
                 renewable: bool = False) -> None:
        self.zoho_error = zoho_error
        self.renewable = renewable
        super().__init__(message, hint=hint)


class PermissionDenied(DatabaseError):
    """An operation or module was not allowed by AllowedOperations/AllowedModules."""


class ApiError(DatabaseError):
    """Zoho answered with an error.

    ``code`` is Zoho's error code (``INVALID_MODULE``...), ``status`` the HTTP
    status, ``details`` Zoho's details object.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.details = details or {}
        super().__init__(message, hint=hint)


class RetriableError(ApiError):
    """A transient failure (429, 5xx, dropped connection); retrying later may succeed.

    ``retry_after``: the seconds Zoho asked us to wait (its ``Retry-After``), when it said.
    ``ambiguous``: a write that is not idempotent was sent and its answer was lost (the
    connection dropped after the request left), so it may have been applied: the caller must
    reconcile (look the rows up) and never simply send it again. The HTTP client does not
    retry an ambiguous error; every other RetriableError it retries with backoff.
    ``now``: False when trying again within this call cannot help: nothing listens at a local
    address the connection has never reached (a broker or emulator not started, a wrong port), which no
    backoff starts, or the server's certificate did not verify, which no backoff makes trusted. The
    command ends at once, with the temporary-failure status, saying what to start or to give
    (SSLServerCert).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
        now: bool = True,
    ) -> None:
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        self.now = now
        super().__init__(message, code=code, status=status, details=details, hint=hint)


class QuotaExhaustedError(ApiError):
    """The org's API credits for the rolling 24 hours are used up."""


class CreditBudgetReached(QuotaExhaustedError):
    """A call was not sent: it would pass CreditBudget or CreditBudgetPerDay (see ``http/throttle.py``)."""


class FatalApiError(ApiError):
    """A request Zoho will never accept as sent (bad module, bad field, bad criteria)."""


class PlanningError(DatabaseError):
    """A SQL statement could not be planned (syntax, unknown table or column)."""


class ConversionError(DatabaseError):
    """A value could not be converted between Zoho's wire format and Arrow."""


class StateError(DatabaseError):
    """Sync or migration state is missing, corrupt, or belongs to another run."""


class NotSupportedError(PlanningError):
    """An operation Zoho or the connector cannot do (transactions, some SQL forms)."""


class InternalError(DatabaseError):
    """The connector reached a state it should never reach (a bug: please report it)."""


# PEP 249 names, mapped onto the tree above (the hierarchy holds: every one but InterfaceError
# is a DatabaseError, and all of them are Errors).
Error = ConnectorError
InterfaceError = ConfigError
OperationalError = RetriableError
ProgrammingError = PlanningError
DataError = ConversionError
IntegrityError = FatalApiError
