"""The org's custom module (Projects) with its subform and multi-select lookups' linking modules.

Projects carries one field of every exotic data type (file and image uploads,
subform, multi-user lookup, time ranges, reminders...), so every type has a
home. ``Deals_X_Competitors`` links Deals to competitor Accounts.
"""

from __future__ import annotations

from .common import system_fields as _system_fields
from .types import FieldDef, ModuleDef

PROJECTS = ModuleDef(
    "Projects", 5843104000000402001, "Project", "Projects", "Name",
    generated_type="custom", share=0.04, id_slot=16, duplicate_check_fields=("Name",),
    fields=tuple(_system_fields() + [
        FieldDef("Name", "text", "Project Name", length=120, mandatory=True, custom=False, gen="project_name"),
        FieldDef("Account", "lookup", lookup="Accounts", custom=True, gen="account", null_rate=0.1),
        FieldDef("Project_Code", "autonumber", "Project Code", custom=True, read_only=True,
                 auto_number=("PRJ-", 1, 5)),
        FieldDef("Status", "picklist", custom=True,
                 picklist=("Planned", "Active", "On Hold", "Done", "Cancelled")),
        FieldDef("Budget", "currency", custom=True, decimal_place=2, gen="money", null_rate=0.1),
        FieldDef("Start_Date", "date", "Start Date", custom=True, gen="past_date", null_rate=0.1),
        FieldDef("Go_Live", "datetime", "Go Live", custom=True, gen="future_datetime", null_rate=0.3),
        FieldDef("Health_Score", "double", "Health Score", custom=True, decimal_place=3, gen="ratio",
                 null_rate=0.2),
        FieldDef("Estimated_Hours", "integer", "Estimated Hours", custom=True, gen="hours", null_rate=0.2),
        FieldDef("Ledger_Number", "bigint", "Ledger Number", custom=True, gen="bigint", null_rate=0.2),
        FieldDef("Is_Billable", "boolean", "Is Billable", custom=True, gen="bool50"),
        FieldDef("Margin", "percent", custom=True, gen="percent", null_rate=0.3),
        FieldDef("Labels", "multiselectpicklist", custom=True,
                 picklist=("Internal", "Customer", "Fixed price", "T&M", "Urgent"), gen="multi",
                 null_rate=0.3),
        FieldDef("Portal", "website", custom=True, length=255, gen="website", null_rate=0.5),
        FieldDef("Contract", "fileupload", custom=True, gen="files", null_rate=0.6, searchable=False),
        FieldDef("Photos", "imageupload", custom=True, gen="images", null_rate=0.7, searchable=False),
        FieldDef("Milestones", "subform", custom=True, related_module="Project_Milestones",
                 searchable=False),
        FieldDef("Members", "multiuserlookup", custom=True, lookup="Users", related_module="Projects_X_Users",
                 searchable=False),
        FieldDef("Related_Contacts", "multiselectlookup", "Related Contacts", custom=True, lookup="Contacts",
                 related_module="Projects_X_Contacts", searchable=False),
        FieldDef("Source_Module", "module", "Source Module", custom=True, gen="module_ref", null_rate=0.5),
        FieldDef("Working_Hours", "time_range", "Working Hours", custom=True, gen="time_range",
                 null_rate=0.5, searchable=False),
        FieldDef("Site_Address", "address", "Site Address", custom=True, gen="address", null_rate=0.4),
        FieldDef("Reminders", "multireminder", custom=True, gen="multireminder", null_rate=0.6,
                 searchable=False),
        FieldDef("Kickoff_Reminder", "event_reminder", "Kickoff Reminder", custom=True,
                 gen="event_reminder", null_rate=0.5),
        FieldDef("Completion", "formula", custom=True, read_only=True,
                 formula=("percent", "CASE WHEN Status = 'Done' THEN 100.0 WHEN Status = 'Active' THEN 50.0 "
                          "ELSE 0.0 END")),
        FieldDef("Milestone_Total", "rollup_summary", "Milestone Total", custom=True, read_only=True,
                 rollup=("Project_Milestones", "Parent_Id", "Amount")),
        FieldDef("Description", "textarea", custom=True, length=50000, textarea_type="rich_text",
                 searchable=False, gen="rich_text", null_rate=0.5),
    ]),
)

PROJECT_MILESTONES = ModuleDef(
    "Project_Milestones", 5843104000000402101, "Milestone", "Milestones", "Milestone",
    generated_type="subform", share=0.04, id_slot=17, parent_module="Projects",
    fields=(
        FieldDef("Parent_Id", "lookup", "Parent Id", lookup="Projects", mandatory=True, gen="parent"),
        FieldDef("Milestone", "text", length=120, mandatory=True, gen="milestone"),
        FieldDef("Due_On", "date", "Due On", gen="future_date", null_rate=0.1),
        FieldDef("Amount", "currency", decimal_place=2, gen="money", null_rate=0.1),
        FieldDef("Done", "boolean", gen="bool50"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)

PROJECTS_X_CONTACTS = ModuleDef(
    "Projects_X_Contacts", 5843104000000402201, "Project Contact", "Project Contacts", "id",
    generated_type="linking", share=0.015, id_slot=18, parent_module="Projects",
    fields=(
        FieldDef("Related_Contacts", "lookup", "Project", lookup="Projects", mandatory=True, gen="parent"),
        FieldDef("Contacts", "lookup", "Contact", lookup="Contacts", mandatory=True, gen="contact"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)

PROJECTS_X_USERS = ModuleDef(
    "Projects_X_Users", 5843104000000402301, "Project Member", "Project Members", "id",
    generated_type="linking", share=0.01, id_slot=19, parent_module="Projects",
    fields=(
        FieldDef("Members", "lookup", "Project", lookup="Projects", mandatory=True, gen="parent"),
        FieldDef("User", "userlookup", "User", lookup="Users", mandatory=True, gen="user"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)

DEALS_X_COMPETITORS = ModuleDef(
    "Deals_X_Competitors", 5843104000000402401, "Deal Competitor", "Deal Competitors", "id",
    generated_type="linking", share=0.015, id_slot=20, parent_module="Deals",
    fields=(
        FieldDef("Competitors", "lookup", "Deal", lookup="Deals", mandatory=True, gen="parent"),
        FieldDef("Competitor", "lookup", "Competitor", lookup="Accounts", mandatory=True, gen="account"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ),
)
