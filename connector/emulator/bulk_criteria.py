"""Bulk Read's criteria object -> the shared filter tree (bulk-read.md section 1 "Criteria object").

A Bulk Read job filters with a JSON tree of ``{"field", "comparator", "value"}``
conditions and ``{"group_operator", "group"}`` groups. :func:`parse_bulk_criteria`
checks it against the type table of bulk-read.md (comparators per field type,
25 conditions, one lookup hop) and returns a :mod:`.filters` tree, which
:func:`.filters.compile_filter` turns into SQL like every other filter.
"""

from __future__ import annotations

from typing import Any

from .filters import (
    EMPTY,
    LOOKUP_TYPES,
    NUMBER_TYPES,
    BadValue,
    Condition,
    Group,
    Node,
    coerce_condition,
    filter_type,
)
from .query import UnknownField
from .schema import ModuleDef
from .zoho_errors import ZohoError

BULK_CRITERIA_LIMIT = 25
#: VALUE_LIMIT_EXCEEDED_IN_CRITERIA exists but its number is unconfirmed; Search and COQL allow 100
BULK_VALUE_LIMIT = 100
_BULK_TEXT = ("equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with")
_BULK_NUMBER = ("equal", "not_equal", "in", "not_in", "less_than", "less_equal", "greater_than", "greater_equal")
_BULK_DATE = _BULK_NUMBER + ("between", "not_between")
_BULK_LOOKUP = ("equal", "not_equal", "in", "not_in")
_BULK_TEXT_TYPES = frozenset({"text", "email", "phone", "website", "picklist", "autonumber",
                              # not in Zoho's table; treated like picklists (element-wise; unconfirmed)
                              "multiselectpicklist"})


def bulk_comparators(vtype: str) -> tuple[str, ...]:
    """Comparators Bulk Read allows for a filter type (the type table of bulk-read.md section 1)."""
    if vtype in _BULK_TEXT_TYPES:
        return _BULK_TEXT
    if vtype in NUMBER_TYPES or vtype == "id":  # record ids compare as numbers (keyset paging; unconfirmed)
        return _BULK_NUMBER
    if vtype in ("date", "datetime"):
        return _BULK_DATE
    if vtype == "boolean":
        return ("equal",)
    if vtype in LOOKUP_TYPES:
        return _BULK_LOOKUP
    return ()  # textarea, JSON-document types ...: not usable in criteria


def _bulk_error(code: str, message: str, **details: Any) -> ZohoError:
    return ZohoError(400, code, message, details)


def parse_bulk_criteria(obj: Any, module: ModuleDef) -> Node:
    """A Bulk Read ``query.criteria`` object -> filter tree, or ZohoError with Zoho's criteria codes.

    Codes chosen per problem (the doc lists the codes without saying which fires when):
    malformed object ``INVALID_CRITERIA``; both condition and group keys
    ``AMBIGUOUS_CRITERIA``; operator other than and/or ``GROUP_OPERATOR_NOT_SUPPORTED``;
    unknown field ``FIELD_IN_CRITERIA_NOT_AVAILABLE``; field type not usable (textarea,
    deeper than one lookup hop) ``FIELD_IN_CRITERIA_NOT_SUPPORTED``; comparator not allowed
    for the type ``FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED``; value shape wrong for the
    comparator ``COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE``; value not of the field's
    type ``FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE``; more than 25 conditions
    ``CRITERIA_LIMIT_EXCEEDED``; more than 100 ``in`` values ``VALUE_LIMIT_EXCEEDED_IN_CRITERIA``.
    """
    return _bulk_node(obj, module, [0])


def _bulk_node(obj: Any, module: ModuleDef, counter: list[int]) -> Node:
    if not isinstance(obj, dict) or not obj:
        raise _bulk_error("INVALID_CRITERIA", "invalid criteria specified")
    is_group = "group" in obj or "group_operator" in obj
    if is_group and ("field" in obj or "comparator" in obj or "value" in obj):
        raise _bulk_error("AMBIGUOUS_CRITERIA", "criteria has both a condition and a group")
    if is_group:
        op = obj.get("group_operator")
        if not isinstance(op, str) or op.lower() not in ("and", "or"):
            raise _bulk_error("GROUP_OPERATOR_NOT_SUPPORTED", "the group operator is not supported",
                              group_operator=op, supported=["and", "or"])
        items = obj.get("group")
        if not isinstance(items, list) or not items:
            raise _bulk_error("INVALID_CRITERIA", "invalid criteria specified", key="group")
        return Group(op.lower(), [_bulk_node(i, module, counter) for i in items])
    return _bulk_condition(obj, module, counter)


def _bulk_condition(obj: dict[str, Any], module: ModuleDef, counter: list[int]) -> Condition:
    field = obj.get("field")
    name = field.get("api_name") if isinstance(field, dict) else None
    comparator = obj.get("comparator")
    if not isinstance(name, str) or not name or not isinstance(comparator, str) or "value" not in obj:
        raise _bulk_error("INVALID_CRITERIA", "invalid criteria specified")
    counter[0] += 1
    if counter[0] > BULK_CRITERIA_LIMIT:
        raise _bulk_error("CRITERIA_LIMIT_EXCEEDED", f"criteria can have at most {BULK_CRITERIA_LIMIT} conditions",
                          limit=BULK_CRITERIA_LIMIT)
    path = name.split(".")
    where = {"api_name": name, "module": module.api_name}
    if len(path) > 2 or not all(path):
        raise _bulk_error("FIELD_IN_CRITERIA_NOT_SUPPORTED", "the field given in criteria is not supported", **where)
    try:
        vtype, _ = filter_type(module, path)
    except UnknownField:
        raise _bulk_error("FIELD_IN_CRITERIA_NOT_AVAILABLE", "the field given in criteria is not available",
                          **where) from None
    supported = bulk_comparators(vtype)
    if not supported:
        raise _bulk_error("FIELD_IN_CRITERIA_NOT_SUPPORTED", "the field given in criteria is not supported", **where)
    if comparator not in supported:
        raise _bulk_error("FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
                          "the comparator is not supported for the field", api_name=name, comparator=comparator,
                          supported=list(supported))
    value = obj["value"]
    mismatch = _bulk_error("COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
                           "the value does not suit the comparator", api_name=name, comparator=comparator)
    if value == EMPTY:
        if comparator not in ("equal", "not_equal"):
            raise mismatch
        return Condition(path, comparator, EMPTY)
    if comparator in ("in", "not_in", "between", "not_between"):
        if not isinstance(value, list) or not value:
            raise mismatch
        if comparator.endswith("between") and len(value) != 2:
            raise mismatch
        if len(value) > BULK_VALUE_LIMIT:
            raise _bulk_error("VALUE_LIMIT_EXCEEDED_IN_CRITERIA", f"at most {BULK_VALUE_LIMIT} values are allowed",
                              api_name=name, limit=BULK_VALUE_LIMIT)
        values = [_bulk_scalar(v, name) for v in value]
        cond = Condition(path, comparator, values)
    else:
        cond = Condition(path, comparator, _bulk_scalar(value, name))
    try:
        coerce_condition(cond, vtype)
    except BadValue as e:
        raise _bulk_error("FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", "the value does not suit the field",
                          api_name=name, expected_data_type=e.expected) from None
    return cond


def _bulk_scalar(value: Any, name: str) -> Any:
    if isinstance(value, dict) and "id" in value:  # a lookup written the way records are written
        value = value["id"]
    if value is None or isinstance(value, (list, dict)):
        raise _bulk_error("VALUE_TYPE_NOT_SUPPORTED", "the value type is not supported", api_name=name)
    return value
