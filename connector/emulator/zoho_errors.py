"""Zoho's error envelope, raised inside handlers and rendered by the server.

Request-level errors are one JSON object with all four keys ``code``,
``details``, ``message``, ``status`` (limits-and-errors.md section 6: the SDK
picks its model by the keys present, so all four are always sent).
"""

from __future__ import annotations

from typing import Any


class ZohoError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 *, wrap_in_data: bool = False, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.wrap_in_data = wrap_in_data
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        obj = {"code": self.code, "details": self.details, "message": self.message, "status": "error"}
        return {"data": [obj]} if self.wrap_in_data else obj


def record_error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """One element of a batch write's ``data`` array describing a failed record."""
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def invalid_module(index: int = 2) -> ZohoError:
    return ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                     {"resource_path_index": index})


def module_not_supported(api_name: str, **details: Any) -> ZohoError:
    """A module that exists but this API does not serve (Notes in COQL ...): Zoho's documented
    INVALID_MODULE "The given module is not supported in API" (exact details unconfirmed)."""
    return ZohoError(400, "INVALID_MODULE", "the given module is not supported in api",
                     {"api_name": api_name, **details})


def invalid_url() -> ZohoError:
    return ZohoError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


def invalid_method() -> ZohoError:
    return ZohoError(400, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")


def required_param(name: str) -> ZohoError:
    return ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                     {"param_name": name, "param": name})


def invalid_data(message: str = "invalid data", **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", message, details)


def limit_exceeded(message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "LIMIT_EXCEEDED", message, details)
