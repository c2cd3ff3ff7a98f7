"""The emulated org's metadata: modules, fields, users (one name for the families in :mod:`.org`).

This is the single source of truth for the emulator. The metadata API answers
from it, the store derives its DuckDB columns from it, the generator fills it,
and the COQL/criteria compilers check field names and operators against it.
The definitions live in :mod:`.org`, one file per module family; this module
gathers them in load order and re-exports the vocabulary.
"""

from __future__ import annotations

import dataclasses

from .org.activities import CALLS, EVENTS
from .org.classic import ACCOUNTS, CONTACTS, DEALS, LEADS, TASKS
from .org.common import PICK_INDUSTRY, PICK_LEAD_SOURCE, PICK_RATING
from .org.contact_roles import DEAL_CONTACT_ROLES
from .org.custom import (
    DEALS_X_COMPETITORS,
    PROJECT_MILESTONES,
    PROJECTS,
    PROJECTS_X_CONTACTS,
    PROJECTS_X_USERS,
)
from .org.inventory import INVENTORY
from .org.marketing import MARKETING_AND_SERVICE
from .org.notes import ATTACHMENTS, NOTES
from .org.people import (
    ACTIVE_USERS,
    ADMIN_USER,
    DEFAULT_LAYOUT_ID,
    LAYOUTS,
    ORG,
    PROFILES,
    ROLES,
    USERS,
    USERS_BY_ID,
    OrgDef,
    UserDef,
)
from .org.registry import ORG_KINDS, OrgSchema
from .org.stage_history import STAGE_HISTORY
from .org.types import (
    ALL_DATA_TYPES,
    JSON_DOCUMENT_TYPES,
    JSON_TYPES,
    LOOKUP_TYPES,
    NOT_EXPORTED_TYPES,
    ORG_PREFIX,
    SINGLE_RECORD_ONLY_TYPES,
    USER_LOOKUP_TYPES,
    FieldDef,
    ModuleDef,
)

__all__ = [
    "ACCOUNTS", "ACTIVE_USERS", "ALL_MODULES", "ENTERPRISE_ONLY", "ORGS", "ORG_KINDS", "OrgSchema", "org_schema", "ADMIN_USER", "ALL_DATA_TYPES", "CONTACTS", "DEALS", "DEALS_X_COMPETITORS",
    "DEFAULT_LAYOUT_ID", "JSON_DOCUMENT_TYPES", "JSON_TYPES", "LAYOUTS", "LEADS", "LOOKUP_TYPES", "MODULES",
    "MODULES_BY_NAME", "NOTES", "ATTACHMENTS", "CALLS", "EVENTS", "NOT_EXPORTED_TYPES", "ORG", "ORG_PREFIX", "PICK_INDUSTRY", "PICK_LEAD_SOURCE",
    "PICK_RATING", "PROFILES", "PROJECTS", "PROJECTS_X_CONTACTS", "PROJECTS_X_USERS", "PROJECT_MILESTONES",
    "ROLES", "SINGLE_RECORD_ONLY_TYPES", "TASKS", "UNSUPPORTED_MODULES", "USERS", "USERS_BY_ID",
    "USER_LOOKUP_TYPES", "FieldDef", "ModuleDef", "OrgDef", "UserDef", "module",
]

# Order matters: a module's lookups point at modules generated before it (parents first).
#: the classic org's modules (Settings.org == "classic"), as the emulator served them before issue 13
MODULES: tuple[ModuleDef, ...] = (
    ACCOUNTS, CONTACTS, DEALS, LEADS, TASKS, PROJECTS, PROJECT_MILESTONES,
    PROJECTS_X_CONTACTS, PROJECTS_X_USERS, DEALS_X_COMPETITORS,
)
#: the modules only a whole standard org has (Settings.org == "enterprise"; issue 13)
ENTERPRISE_ONLY: tuple[ModuleDef, ...] = (
    *INVENTORY, *MARKETING_AND_SERVICE, CALLS, EVENTS,
    NOTES, ATTACHMENTS, STAGE_HISTORY, DEAL_CONTACT_ROLES,
)
#: every module definition, in load order: what the store creates and the generator fills
ALL_MODULES: tuple[ModuleDef, ...] = MODULES + ENTERPRISE_ONLY
#: global lookup by name (joins, subforms, lookup targets); requests go through an OrgSchema
MODULES_BY_NAME: dict[str, ModuleDef] = {m.api_name: m for m in ALL_MODULES}

#: the field a whole org adds to its record modules: the record's tags (tags.py; read-only in the metadata,
#: yet ``Tag: [{"name": ...}]`` may be sent on insert and update, records.md section 9)
TAG = FieldDef("Tag", "text", "Tag", read_only=True, searchable=False, virtual="tags")


def with_tag(m: ModuleDef) -> ModuleDef:
    """``m`` as an enterprise org shows it: with a ``Tag`` field when its records take tags."""
    if not m.listed or not m.api_supported or m.generated_type not in ("default", "custom") or m.api_name == "Notes":
        return m
    return dataclasses.replace(m, fields=m.fields + (TAG,))


ORGS: dict[str, OrgSchema] = {
    "classic": OrgSchema("classic", MODULES),
    "enterprise": OrgSchema("enterprise", tuple(with_tag(m) for m in MODULES + ENTERPRISE_ONLY)),
}


def org_schema(kind: str) -> OrgSchema:
    """The modules an org of that kind shows (``classic`` or ``enterprise``)."""
    if kind not in ORGS:
        raise ValueError(f"org must be one of {ORG_KINDS}")
    return ORGS[kind]


# Modules /settings/modules lists but the API cannot use (api_supported: false).
UNSUPPORTED_MODULES = (
    ("Home", 5843104000000002171, "Home", "Home"),
    ("Reports", 5843104000000002185, "Report", "Reports"),
    ("Dashboards", 5843104000000002187, "Dashboard", "Dashboards"),
    ("Feeds", 5843104000000002189, "Feed", "Feeds"),
)


def module(api_name: str) -> ModuleDef | None:
    """Look a module definition up by its exact api name (any org kind; requests use ``app.org``)."""
    # Zoho wants the exact api name in paths; a near miss ("leads", "Lead") is INVALID_MODULE.
    return MODULES_BY_NAME.get(api_name)
