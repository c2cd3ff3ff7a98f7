"""Campaigns with their members, and the service modules Cases and Solutions.

Campaign members are Leads and Contacts linked to a campaign with a ``Member_Status``:
the related lists ``Leads``/``Contacts`` of a campaign (and ``Campaigns`` of a lead or a
contact), linked and delinked through the related records API
(``PUT/DELETE /Campaigns/{id}/Leads[/{lead_id}]``, "relation added"/"relation removed").
They are kept in two linking tables that are no module of the org (not in
``/settings/modules``, not in COQL or bulk).
"""

from __future__ import annotations

from .common import system_fields
from .types import FieldDef, ModuleDef

MEMBER_STATUSES = ("Planned", "Invited", "Sent", "Received", "Opened", "Responded", "Bounced", "Opted Out")

CAMPAIGNS = ModuleDef(
    "Campaigns", 5843104000000002213, "Campaign", "Campaigns", "Campaign_Name", share=0.004, id_slot=32,
    duplicate_check_fields=("Campaign_Name",),
    fields=tuple(system_fields() + [
        FieldDef("Campaign_Name", "text", "Campaign Name", length=120, mandatory=True, gen="campaign_name"),
        FieldDef("Type", "picklist", null_rate=0.1,
                 picklist=("Advertisement", "Banner Ads", "Conference", "Direct mail", "Email", "Partner",
                           "Public Relations", "Referral Program", "Telemarketing", "Trade Show", "Webinar", "Others")),
        FieldDef("Status", "picklist", picklist=("Planning", "Active", "Inactive", "Complete")),
        FieldDef("Start_Date", "date", "Start Date", gen="past_date", null_rate=0.1),
        FieldDef("End_Date", "date", "End Date", gen="future_date", null_rate=0.2),
        FieldDef("Expected_Revenue", "currency", "Expected Revenue", decimal_place=2, gen="money", null_rate=0.3),
        FieldDef("Budgeted_Cost", "currency", "Budgeted Cost", decimal_place=2, gen="money", null_rate=0.3),
        FieldDef("Actual_Cost", "currency", "Actual Cost", decimal_place=2, gen="money", null_rate=0.4),
        FieldDef("Expected_Response", "integer", "Expected Response", gen="points", null_rate=0.4),
        FieldDef("Num_sent", "bigint", "Numbers sent", gen="sent", null_rate=0.4),
        FieldDef("Parent_Campaign", "lookup", "Parent Campaign", lookup="Campaigns", gen="self_ref", null_rate=0.8),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
    ]),
)


def _members(api: str, other: str, field: str, module_id: int, slot: int, share: float) -> ModuleDef:
    return ModuleDef(
        api, module_id, "Campaign Member", "Campaign Members", "id", generated_type="linking", share=share,
        id_slot=slot, parent_module="Campaigns", api_supported=False, listed=False, creatable=False,
        bulk_read=False, bulk_write=False, coql=False, search=False,
        fields=(
            FieldDef("Campaign", "lookup", lookup="Campaigns", mandatory=True, gen="member_campaign"),
            FieldDef(field, "lookup", lookup=other, mandatory=True, gen="member_record"),
            FieldDef("Member_Status", "picklist", "Member Status", picklist=MEMBER_STATUSES),
            FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
            FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
        ),
    )


CAMPAIGN_LEADS = _members("Campaigns_X_Leads", "Leads", "Lead", 5843104000000402501, 39, 0.03)
CAMPAIGN_CONTACTS = _members("Campaigns_X_Contacts", "Contacts", "Contact", 5843104000000402601, 40, 0.02)

CASES = ModuleDef(
    "Cases", 5843104000000002215, "Case", "Cases", "Subject", share=0.03, id_slot=33,
    duplicate_check_fields=("Subject",),
    fields=tuple(system_fields() + [
        FieldDef("Case_Number", "autonumber", "Case Number", read_only=True, auto_number=("", 1, 0)),
        FieldDef("Subject", "text", length=255, mandatory=True, gen="case_subject"),
        FieldDef("Status", "picklist", mandatory=True, picklist=("New", "On Hold", "Escalated", "Closed")),
        FieldDef("Case_Origin", "picklist", "Case Origin", mandatory=True, picklist=("Email", "Phone", "Web")),
        FieldDef("Type", "picklist", null_rate=0.2, picklist=("Problem", "Feature Request", "Question")),
        FieldDef("Priority", "picklist", null_rate=0.1, picklist=("High", "Medium", "Low")),
        FieldDef("Case_Reason", "picklist", "Case Reason", null_rate=0.4,
                 picklist=("User did not attend any training", "Complex functionality", "Existing problem",
                           "Instructions not clear", "New problem")),
        FieldDef("Account_Name", "lookup", "Account Name", lookup="Accounts", gen="account", null_rate=0.2),
        FieldDef("Related_To", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.3),
        FieldDef("Deal_Name", "lookup", "Deal Name", lookup="Deals", gen="deal", null_rate=0.7),
        FieldDef("Product_Name", "lookup", "Product Name", lookup="Products", gen="product", null_rate=0.5),
        FieldDef("Email", "email", length=100, gen="email", null_rate=0.3),
        FieldDef("Phone", "phone", length=30, gen="phone", null_rate=0.4),
        FieldDef("Reported_By", "text", "Reported By", length=120, gen="last_name", null_rate=0.5),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.3),
        FieldDef("Solution", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.7),
    ]),
)

SOLUTIONS = ModuleDef(
    "Solutions", 5843104000000002217, "Solution", "Solutions", "Solution_Title", share=0.005, id_slot=34,
    duplicate_check_fields=("Solution_Title",),
    fields=tuple(system_fields() + [
        FieldDef("Solution_Number", "autonumber", "Solution Number", read_only=True, auto_number=("", 1, 0)),
        FieldDef("Solution_Title", "text", "Solution Title", length=255, mandatory=True, gen="solution_title"),
        FieldDef("Status", "picklist", picklist=("Draft", "Reviewed", "Published", "Duplicate")),
        FieldDef("Published", "boolean", gen="bool50"),
        FieldDef("Product_Name", "lookup", "Product Name", lookup="Products", gen="product", null_rate=0.4),
        FieldDef("Question", "textarea", length=32000, textarea_type="large", searchable=False, gen="description"),
        FieldDef("Answer", "textarea", length=32000, textarea_type="large", searchable=False, gen="description",
                 null_rate=0.2),
    ]),
)

#: in load order (campaign members after the campaigns and the records they link)
MARKETING_AND_SERVICE = (CAMPAIGNS, CASES, SOLUTIONS, CAMPAIGN_LEADS, CAMPAIGN_CONTACTS)
