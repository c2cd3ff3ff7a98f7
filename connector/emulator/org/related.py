"""Related lists: what ``/settings/related_lists?module=X`` lists and ``/{module}/{id}/{list}`` serves.

Kinds:

* ``child``: records of another module whose lookup points at the record (Contacts of an
  Account, Notes of a Lead through the polymorphic ``Parent_Id``). Read-only through the
  related-records API: they are linked by writing the child's lookup.
* ``linking``: a many-to-many relation kept in a linking module (a multi-select lookup's
  ``*_X_*`` module). Linked (``PUT``) and delinked (``DELETE``) here.
* ``attachments``: the Attachments API (its own shapes, see ``handlers/attachments.py``).
* ``contact_roles``: the contacts of a deal, each with its role (``handlers/contact_roles.py``).

A related list's ``id`` is stable: derived from the parent module's id and the list's place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache

from .contact_roles import DEAL_CONTACT_ROLES, LIST_NAME
from .registry import OrgSchema
from .types import ModuleDef


@dataclass(frozen=True)
class RelatedList:
    api_name: str
    display_label: str
    #: the module whose records the list shows
    module: str
    kind: str
    #: child: the lookup of ``module`` that points at the parent; linking: the linking module's
    #: lookup to the parent
    field: str | None = None
    #: linking: the linking module, and its lookup to the records shown
    linking: str | None = None
    connected_field: str | None = None
    #: linking: the relation's own fields (a campaign member's Member_Status), read and written with it
    data_fields: tuple[str, ...] = ()
    id: int = 0
    sequence_number: int = 0


def _children(parent: ModuleDef, modules: tuple[ModuleDef, ...]) -> list[RelatedList]:
    out: list[RelatedList] = []
    seen: set[str] = set()
    for m in modules:
        if m.related_list_of == parent.api_name:
            f = next(x for x in m.fields if x.lookup == parent.api_name)
            out.append(RelatedList(m.api_name, m.plural_label, m.api_name, "child", field=f.api_name))
            continue
        if m.generated_type in ("subform", "linking") or not m.listed or \
                (not m.api_supported and m.api_name != "Attachments"):
            continue
        for f in m.fields:
            if f.data_type != "lookup" or parent.api_name not in (f.targets or (f.lookup,)):
                continue
            if f.read_only and m.api_name != "Attachments":  # Leads.Converted_Account is no related list
                continue
            kind = "attachments" if m.api_name == "Attachments" else "child"
            if m.api_name in seen:
                continue  # one list per module (the first lookup: Contacts.Account_Name, not Reporting_To)
            seen.add(m.api_name)
            out.append(RelatedList(m.api_name, m.plural_label, m.api_name, kind, field=f.api_name))
    return out


def _linked(parent: ModuleDef, modules: tuple[ModuleDef, ...]) -> list[RelatedList]:
    """Many-to-many lists: a multi-select lookup's (one way, named after the field) and those of the
    linking tables that are no field (campaign members: both ways, named after the other module)."""
    out: list[RelatedList] = []
    by_name = {m.api_name: m for m in modules}
    via_field = {f.related_module for m in modules for f in m.fields
                 if f.data_type in ("multiselectlookup", "multiuserlookup")}
    for f in parent.fields:
        if f.data_type != "multiselectlookup" or f.related_module not in by_name:
            continue
        linking = by_name[f.related_module or ""]
        link = next(x for x in linking.fields if x.data_type == "lookup" and x.lookup == parent.api_name)
        other = next(x for x in linking.fields if x.data_type == "lookup" and x is not link)
        out.append(RelatedList(f.api_name, f.field_label, other.lookup or "", "linking", field=link.api_name,
                               linking=linking.api_name, connected_field=other.api_name))
    for linking in modules:
        if linking.generated_type != "linking" or linking.api_name in via_field:
            continue
        if linking.api_name == DEAL_CONTACT_ROLES.api_name:
            # Zoho's own list, not one named after the other module: Deals' Contact_Roles
            if parent.api_name == "Deals":
                out.append(RelatedList(LIST_NAME, "Contact Roles", "Contacts", "contact_roles", field="Deal",
                                       linking=linking.api_name, connected_field="Contact",
                                       data_fields=("Contact_Role",)))
            continue
        ends = [x for x in linking.fields if x.data_type == "lookup"]
        if len(ends) != 2:
            continue
        data = tuple(x.api_name for x in linking.fields if x.data_type != "lookup" and not x.read_only)
        for near, far in ((ends[0], ends[1]), (ends[1], ends[0])):
            if near.lookup == parent.api_name and far.lookup in by_name:
                shown = by_name[far.lookup or ""]
                out.append(RelatedList(shown.api_name, shown.plural_label, shown.api_name, "linking",
                                       field=near.api_name, linking=linking.api_name, connected_field=far.api_name,
                                       data_fields=data))
    return out


@cache
def related_lists(org: OrgSchema, module_name: str) -> tuple[RelatedList, ...]:
    """The related lists of one of the org's modules, in display order (none for subform and linking
    modules); only modules the org has are listed."""
    parent = org.by_name[module_name]
    if parent.generated_type in ("subform", "linking"):
        return ()
    found = _children(parent, org.modules) + _linked(parent, org.modules)
    return tuple(dataclasses.replace(r, id=parent.module_id + 20_000 + i * 2, sequence_number=i + 1)
                 for i, r in enumerate(found))


def related_list(org: OrgSchema, module_name: str, api_name: str) -> RelatedList | None:
    return next((r for r in related_lists(org, module_name) if r.api_name == api_name), None)
