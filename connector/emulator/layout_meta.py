"""One layout the way ``GET /settings/layouts`` answers it (v8 ``layouts.json``; issue 17).

Each module has the org's two layouts: ``Standard`` (the default, every field) and ``Partner Intake``
(a custom layout without the custom fields a partner does not fill, :func:`.field_meta.in_layout`).
A layout's fields are grouped in sections the way Zoho's standard layouts group them — the record's
information, its address, the custom fields, the description, one section per subform — and every
section field carries the whole field metadata of ``/settings/fields`` plus its place in the layout
(``required``, ``sequence_number``, ``section_id``...).

Sample over spec: Zoho publishes no sample answer for this endpoint, so the keys and types are the
spec's; ``_delete`` (a key of the update request) is ``null`` and a section's ``properties.tooltip`` is
``null`` where the section has none, as the other v8 samples answer objects that are absent.
"""

from __future__ import annotations

from typing import Any

from . import schema
from .field_meta import field_json, in_layout
from .schema import FieldDef, ModuleDef

CREATED = "2023-01-01T10:00:00+05:30"
MODIFIED = "2024-03-01T09:00:00+05:30"
ADDRESS_WORDS = ("Street", "City", "State", "Code", "Country", "Zip")
#: the layouts a converted lead's records use, per target module (Leads' convert_mapping)
CONVERTS_TO = {"Leads": ("Contacts", "Deals", "Accounts"), "Quotes": ("Invoices", "SalesOrders"),
               "Sales_Orders": ("Invoices",)}


def _admin() -> dict[str, str]:
    u = schema.ADMIN_USER
    return {"name": u.full_name, "id": str(u.id)}


def section_of(f: FieldDef) -> str:
    """The section a field sits in on Zoho's standard layouts."""
    if f.data_type == "subform":
        return f.field_label
    if f.data_type == "textarea" and f.textarea_type == "large":
        return "Description Information"
    if f.custom:
        return "Additional Information"
    if f.data_type in ("text", "address") and any(w in f.api_name for w in ADDRESS_WORDS):
        return "Address Information"
    return "Information"


def section_id(m: ModuleDef, lid: int, k: int) -> int:
    """Unique in the org: the module's id slot, the layout and the section's place."""
    return schema.ORG_PREFIX * 10**12 + 52 * 10**10 + m.id_slot * 10**5 + (lid % 100) * 100 + k


def sections(m: ModuleDef, lid: int) -> list[dict[str, Any]]:
    order: dict[str, list[tuple[int, FieldDef]]] = {}
    for i, f in enumerate(m.fields):
        if in_layout(m, f, lid):
            order.setdefault(section_of(f), []).append((i, f))
    out = []
    for k, (name, members) in enumerate(order.items()):
        label = f"{m.singular_label} Information" if name == "Information" else name
        sid = section_id(m, lid, k + 1)
        subform = any(f.data_type == "subform" for _, f in members)
        fields = []
        for n, (i, f) in enumerate(members):
            meta = field_json(m, f, i)
            meta.update({"required": f.mandatory, "validation_rule": None, "default_value": None,
                         "sequence_number": n + 1, "section_id": sid, "static_values": [], "_delete": None})
            fields.append(meta)
        out.append({
            "id": str(sid), "name": label, "display_label": label, "api_name": label.replace(" ", "_"),
            "sequence_number": k + 1, "column_count": 1 if subform or name == "Description Information" else 2,
            "tab_traversal": "left_to_right", "isSubformSection": subform,
            "generated_type": "custom" if name == "Additional Information" or subform and m.generated_type == "custom"
            else "default", "type": "used",
            "properties": {"reorder_rows": subform or None, "maximum_rows": 200 if subform else None, "tooltip": None},
            "_delete": None, "fields": fields,
        })
    return out


def convert_mapping(m: ModuleDef) -> dict[str, Any]:
    """Which layout each conversion target uses (Leads to Contacts/Deals/Accounts, Quotes to orders...)."""
    default = {"name": "Standard", "id": str(schema.DEFAULT_LAYOUT_ID)}
    targets = CONVERTS_TO.get(m.api_name, ())
    return {t: (dict(default) if t in targets else None)
            for t in ("Contacts", "Deals", "Accounts", "Invoices", "SalesOrders")}


def layout_json(m: ModuleDef, lid: int, name: str) -> dict[str, Any]:
    standard = lid == schema.DEFAULT_LAYOUT_ID
    return {
        "id": str(lid), "name": name, "display_label": name, "api_name": name.replace(" ", "_") + "__s",
        "status": "active", "visible": True, "source": "crm", "mode": "standard" if standard else "custom",
        "generated_type": "default" if standard else "custom", "display_type": -1, "show_business_card": True,
        "has_more_profiles": False, "created_for": None,
        "created_time": CREATED, "modified_time": MODIFIED, "created_by": _admin(), "modified_by": _admin(),
        "subform_properties": {"pinned_column": False},
        "convert_mapping": convert_mapping(m),
        "profiles": [{"name": p, "id": str(pid), "default": standard,
                      # the list view a profile opens the module on: its "All ..." view (handlers/custom_views.py)
                      "_default_view": {"name": f"All {m.plural_label}", "id": str(m.module_id + 30_000),
                                        "type": "custom_view"}}
                     for p, pid in schema.PROFILES.items()],
        "actions_allowed": {"edit": True, "rename": not standard, "clone": True, "downgrade": False,
                            "delete": not standard, "deactivate": not standard, "set_layout_permissions": True},
        "sections": sections(m, lid),
    }
