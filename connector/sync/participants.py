"""Meeting participants into Zoho: the people an event invites, re-pointed to the target's records.

An Events row carries ``Participants`` as Zoho answers it: ``[{"type": "contact"|"lead"|"user"|
"email", "participant": <id or address>, "invited": bool, "status": ..., "name": ..., "Email": ...,
"id": ...}]``. Zoho takes ``type``, ``participant`` and ``invited`` on a write and fills in the rest
(the entry's id, the name, the invitee's answer). So each entry is written with:

* a contact or lead: its id in the target, through the id map (Contacts and Leads load before
  Events); one that is not in the target (not migrated, or its write failed) is left out and
  counted — an event is worth more with the participants it can have than not written at all;
* a user: the target user the owners map to (by email, then name); one with no active match is
  invited by the address the source gave (``Email``), as Zoho invites anyone by address;
* an address: as it is.

The invitee's answer (``status``) is theirs to give again: Zoho starts it at ``not_known``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

#: participant type -> the module its ids are records of
RECORD_TYPES = {"contact": "Contacts", "lead": "Leads"}


def entries(raw: Any) -> list[dict[str, Any]]:
    """A Participants value (JSON text or a list) as a list of entries; anything else is none."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


def record_refs(values: Iterable[Any]) -> dict[str, set[str]]:
    """Module -> the source record ids these Participants values name (to resolve in one go)."""
    out: dict[str, set[str]] = {}
    for raw in values:
        for e in entries(raw):
            module = RECORD_TYPES.get(str(e.get("type")))
            if module and e.get("participant") is not None:
                out.setdefault(module, set()).add(str(e["participant"]))
    return out


def rewrite(raw: Any, maps: dict[str, dict[str, str]], user: Callable[[str], str | None]) -> tuple[str | None, int]:
    """The value to write (JSON text; None for none) and how many entries were left out.

    ``maps``: module -> {source id: target id}; ``user``: source user id -> active target user id.
    """
    if raw is None:
        return None, 0
    out: list[dict[str, Any]] = []
    dropped = 0
    for e in entries(raw):
        kind, who = str(e.get("type")), e.get("participant")
        invited = e.get("invited") if isinstance(e.get("invited"), bool) else True
        if who is None:
            dropped += 1
            continue
        if kind in RECORD_TYPES:
            hit = maps.get(RECORD_TYPES[kind], {}).get(str(who))
            if hit is None:
                dropped += 1
                continue
            out.append({"type": kind, "participant": hit, "invited": invited})
        elif kind == "user":
            hit = user(str(who))
            address = e.get("Email") or e.get("email")
            if hit is not None:
                out.append({"type": "user", "participant": hit, "invited": invited})
            elif address:
                out.append({"type": "email", "participant": str(address), "invited": invited})
            else:
                dropped += 1
        elif kind == "email":
            out.append({"type": "email", "participant": str(who), "invited": invited})
        else:
            dropped += 1
    return json.dumps(out, separators=(",", ":")), dropped
