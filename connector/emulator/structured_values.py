"""Writing the structured values of standard modules: meeting participants and price book tiers.

* ``Participants`` (Events): ``[{"type": "contact"|"lead"|"user"|"email", "participant": "<id or
  address>", "invited": bool}]``; contacts, leads and users must exist, addresses must look like
  one. The list sent replaces the meeting's list; each entry gets an ``id`` and the status
  ``not_known`` (names and addresses are read from the records, as lookups are).
* ``Pricing_Details`` (Price_Books): ``[{"from_range": n, "to_range": n, "discount": n}]``,
  ranges positive and ordered, tiers not overlapping, discount 0-100 (percent).

Problems raise :class:`.value_types.FieldError` naming the entry's json path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import schema
from .org.types import ORG_PREFIX, FieldDef
from .value_types import EMAIL_RE, as_id, invalid, mandatory

if TYPE_CHECKING:
    from .app import App

PARTICIPANT_TYPES = {"contact": "Contacts", "lead": "Leads", "user": None, "email": None}
#: ids of participant and pricing entries the API adds (own id ranges, outside every module's)
PARTICIPANT_SLOT = 64
PRICING_SLOT = 65


def _new_ids(app: App, counter: str, slot: int, n: int) -> list[str]:
    base = ORG_PREFIX * 10**12 + slot * 10**10
    return [str(base + k) for k in app.store.next_values(counter, n, 1)] if n else []


def participants(app: App, f: FieldDef, raw: Any, path: str) -> str | None:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    entries: list[dict[str, Any]] = []
    for j, item in enumerate(raw):
        ipath = f"{path}[{j}]"
        if not isinstance(item, dict):
            raise invalid(f.api_name, ipath, expected_data_type="jsonobject")
        kind = item.get("type")
        if kind not in PARTICIPANT_TYPES:
            raise invalid("type", f"{ipath}.type", supported_values=list(PARTICIPANT_TYPES))
        who = item.get("participant")
        if who is None or who == "":
            raise mandatory("participant", f"{ipath}.participant")
        module = PARTICIPANT_TYPES[kind]
        if kind == "email":
            if not isinstance(who, str) or not EMAIL_RE.match(who):
                raise invalid("participant", f"{ipath}.participant")
            key = who
        else:
            rid = as_id(who)
            ok = rid is not None and (rid in schema.USERS_BY_ID if module is None else
                                      bool(app.store.exists(schema.MODULES_BY_NAME[module], [rid])))
            if not ok:
                raise invalid("participant", f"{ipath}.participant", id=str(who))
            key = str(rid)
        invited = item.get("invited", True)
        if not isinstance(invited, bool):
            raise invalid("invited", f"{ipath}.invited", expected_data_type="boolean")
        entries.append({"type": kind, "participant": key, "invited": invited, "status": "not_known"})
    for entry, new_id in zip(entries, _new_ids(app, "participants:added", PARTICIPANT_SLOT, len(entries)),
                             strict=True):
        entry["id"] = new_id
    return json.dumps(entries) if entries else None


def _number(item: dict[str, Any], key: str, path: str) -> float:
    v = item.get(key)
    if v is None:
        raise mandatory(key, f"{path}.{key}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise invalid(key, f"{path}.{key}", expected_data_type="double")
    return float(v)


def pricing_details(app: App, f: FieldDef, raw: Any, path: str) -> str | None:
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    tiers: list[dict[str, Any]] = []
    for j, item in enumerate(raw):
        ipath = f"{path}[{j}]"
        if not isinstance(item, dict):
            raise invalid(f.api_name, ipath, expected_data_type="jsonobject")
        low, high, discount = (_number(item, k, ipath) for k in ("from_range", "to_range", "discount"))
        if low < 0 or high < low:
            raise invalid("to_range", f"{ipath}.to_range")
        if not 0 <= discount <= 100:
            raise invalid("discount", f"{ipath}.discount")
        if tiers and low <= tiers[-1]["to_range"]:
            raise invalid("from_range", f"{ipath}.from_range")  # tiers must not overlap
        tiers.append({"from_range": low, "to_range": high, "discount": discount})
    for tier, new_id in zip(tiers, _new_ids(app, "pricing:added", PRICING_SLOT, len(tiers)), strict=True):
        tier["id"] = new_id
    return json.dumps(tiers) if tiers else None
