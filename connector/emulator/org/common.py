"""Field groups and picklists shared by several module families."""

from __future__ import annotations

from .types import FieldDef


def system_fields(*, owner: bool = True, layout: bool = True) -> list[FieldDef]:
    out: list[FieldDef] = []
    if owner:
        out.append(FieldDef("Owner", "ownerlookup", "Owner", lookup="Users", gen="owner"))
    out += [
        FieldDef("Created_By", "userlookup", "Created By", lookup="Users", read_only=True, gen="user"),
        FieldDef("Modified_By", "userlookup", "Modified By", lookup="Users", read_only=True, gen="user"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
        FieldDef("Last_Activity_Time", "datetime", "Last Activity Time", read_only=True,
                 gen="activity", null_rate=0.3),
    ]
    if layout:
        out.append(FieldDef("Layout", "layout", "Layout", lookup="Layouts", gen="layout"))
    return out


PICK_LEAD_SOURCE = ("Advertisement", "Cold Call", "Employee Referral", "External Referral",
                    "Online Store", "Partner", "Public Relations", "Sales Email Alias",
                    "Seminar Partner", "Internal Seminar", "Trade Show", "Web Download",
                    "Web Research", "Chat")
PICK_INDUSTRY = ("ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)",
                 "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)",
                 "Network Equipment Enterprise", "Non-management ISV", "Optical Networking",
                 "Service Provider", "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider",
                 "Systems Integrator", "Wireless Industry")
PICK_RATING = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")

