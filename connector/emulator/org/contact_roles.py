"""Contact roles: which contacts take part in a deal, and as what.

Zoho keeps a picklist of contact roles (``GET /Contacts/roles``: "Purchasing", "Evaluator" ...)
and, per deal, the contacts linked with one role each: the ``Contact_Roles`` related list of a
deal, read with ``GET /Deals/{id}/Contact_Roles`` (``fields`` required), linked or re-roled with
``PUT /Deals/{id}/Contact_Roles/{contact_id}`` and ``{"data": [{"Contact_Role": {"id", "name"}}]}``
("relation updated"), delinked with ``DELETE`` ("relation removed"); see
``handlers/contact_roles.py``. The links are kept in a table that is no module of the org (like
campaign members): not in ``/settings/modules``, COQL or bulk. A contact has one role per deal.
"""

from __future__ import annotations

from .types import FieldDef, ModuleDef

#: (id, name): Zoho's default contact roles, in their picklist order
ROLES: tuple[tuple[int, str], ...] = tuple(
    (5843104000000006871 + 2 * i, name) for i, name in enumerate((
        "Purchasing", "Executive Sponsor", "Economic Decision Maker", "Technical Buyer", "Evaluator",
        "Developer/Evaluator", "Influencer", "Product Management", "Other")))
ROLES_BY_ID = dict(ROLES)
ROLES_BY_NAME = {name: rid for rid, name in ROLES}
LIST_NAME = "Contact_Roles"  # the related list of Deals

DEAL_CONTACT_ROLES = ModuleDef(
    "Deals_X_Contact_Roles", 5843104000000402701, "Contact Role", "Contact Roles", "id", generated_type="linking",
    share=0.02, id_slot=42, parent_module="Deals", api_supported=False, listed=False, creatable=False,
    bulk_read=False, bulk_write=False, coql=False, search=False,
    fields=(
        FieldDef("Deal", "lookup", lookup="Deals", mandatory=True, gen="deal_role_deal"),
        FieldDef("Contact", "lookup", lookup="Contacts", mandatory=True, gen="deal_role_contact"),
        FieldDef("Contact_Role", "bigint", "Contact Role", mandatory=True, gen="deal_role"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)
