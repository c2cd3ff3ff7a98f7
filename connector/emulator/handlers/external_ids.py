"""``X-EXTERNAL``: an external-ID field stands in for the record id (records.md section 1, headers).

``X-EXTERNAL: Leads.External_Ref`` makes the records API read the value of that
field where it would read a record id: the path segment of ``GET/PUT/DELETE
/{module}/{value}``, ``ids=`` of a bulk delete, and the key of each element of a
bulk update (``{"External_Ref": "...", ...}`` instead of ``{"id": ...}``). Upsert
matches on the external field first. An external-ID field is a field whose
metadata ``external`` is non-null (metadata-and-types.md section 3).

Choices where the reference is silent (unconfirmed):

* Values match the way Zoho's unique check compares text: case-insensitively
  (external fields are unique, so at most one record matches).
* A header naming another module, an unknown field or a field that is not an
  external ID is a request-level ``INVALID_DATA`` with ``{"header_name":
  "X-EXTERNAL"}``. The lookup form (``Contacts.Account_Name.External_Id``) is
  refused the same way: no lookup target in this org has an external field.
* Without the header nothing changes: ids are read as ids.
"""

from __future__ import annotations

from typing import Any

from ..app import App
from ..http import Request
from ..schema import FieldDef, ModuleDef
from ..value_types import as_id
from ..writes import find_matches
from ..zoho_errors import ZohoError

HEADER = "X-EXTERNAL"


def external_field(req: Request, m: ModuleDef) -> FieldDef | None:
    """The external-ID field ``X-EXTERNAL`` names for module ``m``; None without the header."""
    raw = (req.headers.get(HEADER.lower()) or "").strip()
    if not raw:
        return None
    module_name, _, field_name = raw.partition(".")
    f = m.field(field_name) if module_name == m.api_name and "." not in field_name else None
    if f is None or f.external is None:
        supported = [f"{m.api_name}.{x.api_name}" for x in m.fields if x.external]
        raise ZohoError(400, "INVALID_DATA", "the external field given in X-EXTERNAL seems to be invalid",
                        {"header_name": HEADER, "supported_values": supported})
    return f


def ids_for(app: App, m: ModuleDef, ext: FieldDef | None, raw: list[Any]) -> list[int | None]:
    """Record id per given key: ``raw`` holds ids, or external values when ``ext`` is given."""
    if ext is None:
        return [as_id(r) for r in raw]
    found = find_matches(app, m, ext.api_name, [r for r in raw if isinstance(r, (str, int)) and r != ""])
    return [found.get(r) if isinstance(r, (str, int)) else None for r in raw]


def path_record_id(app: App, req: Request, m: ModuleDef) -> int | None:
    """The record the ``{id}`` path segment names (an external value under ``X-EXTERNAL``), or None."""
    return ids_for(app, m, external_field(req, m), [req.path_params["id"]])[0]
