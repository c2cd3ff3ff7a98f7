"""Helpers shared by the CRM handlers: module lookup, scopes, paging info, id parsing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import schema
from ..http import Request
from ..schema import ModuleDef, OrgSchema
from ..tokens import module_scopes
from ..zoho_errors import ZohoError, invalid_module, module_not_supported

#: the scopes that read settings (metadata, custom views, related lists)
SETTINGS_READ = ("ZohoCRM.settings.ALL", "ZohoCRM.settings.READ")
#: when the org's metadata was last changed (fixed: the metadata does not change while the emulator runs)
MODIFIED = "2024-03-01T09:00:00+05:30"

API = r"/crm/(?P<ver>v[78])"
BULK = r"/crm/bulk/(?P<ver>v[78])"
MODULE = r"(?P<module>[A-Za-z0-9_]+)"
RECORD_ID = r"(?P<id>[0-9]+)"


def get_module(org: OrgSchema, name: str | None, *, path_index: int = 2, api_only: bool = True) -> ModuleDef:
    """The org's module for a path segment, or Zoho's INVALID_MODULE (HTTP 400)."""
    m = org.module(name or "")
    if m is None:
        raise invalid_module(path_index)
    if api_only and not m.api_supported:
        raise module_not_supported(m.api_name, resource_path_index=path_index)
    return m


def is_custom(m: ModuleDef) -> bool:
    return m.generated_type != "default"


def module_scopes_of(m: ModuleDef, op: str) -> list[str]:
    """Scopes for ``op`` on a module's records. Line items (the subform modules of standard modules) answer
    to their parent's scopes (ZohoCRM.modules.quotes.READ reads Quoted_Items); custom modules and
    their subform and linking modules to ZohoCRM.modules.custom.*."""
    parent = schema.MODULES_BY_NAME.get(m.parent_module or "")
    if m.generated_type == "subform" and parent is not None and not is_custom(parent):
        return module_scopes(parent.api_name, op, False)
    return module_scopes(m.api_name, op, is_custom(m))


def scopes_for(op: str, module_param: str = "module") -> Callable[[Request], list[str]]:
    """Scope function for a route whose module is a path parameter."""

    def needed(req: Request) -> list[str]:
        m = schema.module(req.path_params.get(module_param) or "")
        if m is None:
            return []  # let the handler answer INVALID_MODULE
        return module_scopes_of(m, op)

    return needed


def fixed_scopes(*scopes: str) -> Callable[[Request], list[str]]:
    def needed(req: Request) -> list[str]:
        return list(scopes)

    return needed


def parse_id(value: Any) -> int | None:
    """Accept ids as digit strings or JSON numbers (the SDK sends Long ids as numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def int_param(req: Request, name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = req.param(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": name, "expected_data_type": "integer"}
                        ) from None
    if v < low or (high is not None and v > high):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": name, "range": {"minimum": low, "maximum": high}})
    return v


def bool_param(req: Request, name: str, default: str, allowed: tuple[str, ...] = ("true", "false")) -> str:
    raw = (req.param(name) or default).lower()
    if raw not in allowed:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": name, "supported_values": list(allowed)})
    return raw


def split_fields(req: Request, m: ModuleDef, *, required: bool, max_fields: int = 50) -> list[str] | None:
    raw = req.param("fields")
    if raw is None or raw.strip() == "":
        if required:
            raise ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                            {"param_name": "fields", "param": "fields"})
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > max_fields:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"maximum of {max_fields} fields can be given in fields param",
                        {"limit": max_fields, "param_name": "fields"})
    out: list[str] = []
    for n in names:
        if n == "id":
            continue
        f = m.field(n)
        if f is None:
            raise ZohoError(400, "INVALID_DATA", "invalid field name given in fields param",
                            {"api_name": n, "param_name": "fields"})
        if f.api_name not in out:
            out.append(f.api_name)
    return out


def converted_filter(m: ModuleDef, converted: str) -> str:
    """SQL for the ``converted`` parameter (Leads: default shows only non-converted leads)."""
    if m.api_name != "Leads" or converted == "both":
        return ""
    if converted == "true":
        return "t.Converted__s"
    return "NOT coalesce(t.Converted__s, false)"
