"""The emulated org's metadata: modules, fields, users.

This is the single source of truth for the emulator. The metadata API answers
from it, the store derives its DuckDB columns from it, the generator fills it,
and the COQL/criteria compilers check field names and operators against it.

Every ``data_type`` listed in ``shared/zoho-api/metadata-and-types.md`` section
5 appears on at least one field (``ALL_DATA_TYPES`` lists them and a test checks
the claim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

ORG_PREFIX = 5843104  # the leading digits of every id in the org (Zoho ids are 18-19 digits)

# json_type per data_type (metadata-and-types.md section 5).
JSON_TYPES: dict[str, str] = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "multiselectpicklist": "jsonarray",
    "integer": "integer", "bigint": "string", "double": "double", "currency": "double",
    "percent": "double", "boolean": "boolean", "date": "string", "datetime": "string",
    "lookup": "jsonobject", "ownerlookup": "jsonobject", "userlookup": "jsonobject",
    "multiuserlookup": "jsonarray", "multiselectlookup": "jsonarray",
    "multi_module_lookup": "jsonobject", "autonumber": "string", "formula": "string",
    "rollup_summary": "double", "fileupload": "jsonarray", "imageupload": "jsonarray",
    "profileimage": "string", "subform": "jsonarray", "layout": "jsonobject",
    "territories": "jsonarray", "event_reminder": "string", "ALARM": "jsonobject",
    "RRULE": "jsonobject", "multireminder": "jsonarray", "consent_lookup": "jsonobject",
    "linetax": "jsonarray", "module": "jsonobject", "time_range": "jsonarray",
    "address": "jsonobject",
}
ALL_DATA_TYPES = frozenset(JSON_TYPES)

# Types whose value is kept as a JSON document in the store (shape as Zoho sends it).
JSON_DOCUMENT_TYPES = frozenset({
    "fileupload", "imageupload", "territories", "ALARM", "RRULE", "multireminder",
    "consent_lookup", "linetax", "module", "time_range", "address",
})
# Types never returned by the list APIs, only by GET /{module}/{id} (records.md section 1).
SINGLE_RECORD_ONLY_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup"})
# Types Bulk Read does not export (bulk-read.md section 4: subforms and multi-select lookups are
# exported through their own modules; file and image uploads are not exported). The reference
# leaves the JSON-shaped types unconfirmed; the emulator exports them as their JSON text.
NOT_EXPORTED_TYPES = frozenset({
    "subform", "multiselectlookup", "multiuserlookup", "fileupload", "imageupload",
})
USER_LOOKUP_TYPES = frozenset({"ownerlookup", "userlookup"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup", "layout"})


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    data_type: str
    label: str = ""
    length: int | None = None
    mandatory: bool = False
    custom: bool = False
    read_only: bool = False
    unique: bool = False
    #: target module api_name of a lookup; "Users" for owner/user lookups
    lookup: str | None = None
    #: allowed values of a picklist / multiselectpicklist
    picklist: tuple[str, ...] = ()
    decimal_place: int | None = None
    #: formula: (return_type, DuckDB SQL expression over the module's columns; ``{now}`` is the clock)
    formula: tuple[str, str] | None = None
    #: rollup_summary: (child module, child lookup field, child value field) summed per parent
    rollup: tuple[str, str, str] | None = None
    #: autonumber: (prefix, first number, zero padding)
    auto_number: tuple[str, int, int] | None = None
    #: subform: the subform storage module; multiselectlookup/multiuserlookup: the linking module
    related_module: str | None = None
    textarea_type: str | None = None
    searchable: bool = True
    #: hint for the generator ("first_name", "company", "zip", ...)
    gen: str = ""
    #: fraction of records left empty by the generator
    null_rate: float = 0.0
    #: polymorphic lookup targets (What_Id on Tasks)
    targets: tuple[str, ...] = ()
    #: external-ID field: "org" or "user" (metadata ``external.type``); ``X-EXTERNAL`` names it
    external: str | None = None

    @property
    def json_type(self) -> str:
        if self.data_type == "formula" and self.formula:
            return JSON_TYPES.get(self.formula[0], "string")
        return JSON_TYPES[self.data_type]

    @property
    def field_label(self) -> str:
        return self.label or self.api_name.replace("_", " ")

    @property
    def is_user_lookup(self) -> bool:
        return self.data_type in USER_LOOKUP_TYPES

    @property
    def writable(self) -> bool:
        return not self.read_only and self.data_type not in {
            "formula", "autonumber", "rollup_summary"}

    @property
    def value_type(self) -> str:
        """The data type values behave as (a formula behaves as its return type)."""
        if self.data_type == "formula" and self.formula:
            return self.formula[0]
        if self.data_type == "rollup_summary":
            return "currency"
        return self.data_type


@dataclass(frozen=True)
class ModuleDef:
    api_name: str
    module_id: int
    singular_label: str
    plural_label: str
    display_field: str
    fields: tuple[FieldDef, ...]
    generated_type: str = "default"
    #: share of ``--records`` this module gets
    share: float = 0.0
    #: two-digit slot inside generated ids, keeps ids unique across modules
    id_slot: int = 0
    duplicate_check_fields: tuple[str, ...] = ()
    api_supported: bool = True
    #: for subform / linking modules: the owning module
    parent_module: str | None = None
    creatable: bool = True
    #: expression for a computed display name (Full_Name)
    module_name: str = ""

    @cached_property
    def by_name(self) -> dict[str, FieldDef]:
        return {f.api_name: f for f in self.fields}

    def field(self, api_name: str) -> FieldDef | None:
        hit = self.by_name.get(api_name)
        if hit is None:
            # Zoho treats field api names case-insensitively in most places.
            low = api_name.lower()
            for f in self.fields:
                if f.api_name.lower() == low:
                    return f
        return hit

    @property
    def mandatory_fields(self) -> list[str]:
        return [f.api_name for f in self.fields if f.mandatory]


# --------------------------------------------------------------------------------------
# Shared field groups
# --------------------------------------------------------------------------------------

def _system_fields(*, owner: bool = True, layout: bool = True) -> list[FieldDef]:
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

# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------

ACCOUNTS = ModuleDef(
    "Accounts", 5843104000000002177, "Account", "Accounts", "Account_Name",
    share=0.08, id_slot=11, duplicate_check_fields=("Account_Name",),
    fields=tuple(_system_fields() + [
        FieldDef("Account_Name", "text", "Account Name", length=200, mandatory=True, unique=True,
                 gen="company_unique"),
        FieldDef("Account_Number", "bigint", "Account Number", gen="bigint", null_rate=0.2),
        FieldDef("Account_Site", "text", length=80, gen="city", null_rate=0.4),
        FieldDef("Parent_Account", "lookup", "Parent Account", lookup="Accounts", gen="parent_account",
                 null_rate=0.8),
        FieldDef("Account_Type", "picklist", "Account Type",
                 picklist=("Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
                           "Partner", "Press", "Prospect", "Reseller", "Other"), null_rate=0.1),
        FieldDef("Industry", "picklist", picklist=PICK_INDUSTRY, null_rate=0.15),
        FieldDef("Annual_Revenue", "currency", "Annual Revenue", decimal_place=2, gen="revenue",
                 null_rate=0.2),
        FieldDef("Employees", "integer", gen="employees", null_rate=0.2),
        FieldDef("Rating", "picklist", picklist=PICK_RATING, null_rate=0.3),
        FieldDef("Phone", "phone", length=30, gen="phone", null_rate=0.1),
        FieldDef("Fax", "phone", length=30, gen="phone", null_rate=0.7),
        FieldDef("Website", "website", length=255, gen="website", null_rate=0.2),
        FieldDef("Ownership", "picklist", picklist=("Other", "Private", "Public", "Subsidiary",
                                                    "Partnership", "Government", "Privately Held"),
                 null_rate=0.3),
        FieldDef("SIC_Code", "integer", "SIC Code", gen="sic", null_rate=0.5),
        FieldDef("Ticker_Symbol", "text", length=30, gen="ticker", null_rate=0.6),
        FieldDef("Billing_Street", "text", length=250, gen="street", null_rate=0.1),
        FieldDef("Billing_City", "text", length=30, gen="city", null_rate=0.1),
        FieldDef("Billing_State", "text", length=30, gen="state", null_rate=0.2),
        FieldDef("Billing_Code", "text", "Billing Code", length=30, gen="zip", null_rate=0.1),
        FieldDef("Billing_Country", "text", length=30, gen="country", null_rate=0.1),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.3),
        FieldDef("Record_Image", "profileimage", "Account Image", gen="image_id", null_rate=0.8),
        # custom fields on a standard module
        FieldDef("Customer_Since", "date", "Customer Since", custom=True, gen="past_date", null_rate=0.3),
        FieldDef("Credit_Limit", "currency", "Credit Limit", custom=True, decimal_place=2,
                 gen="money", null_rate=0.3),
        FieldDef("Total_Deal_Amount", "rollup_summary", "Total Deal Amount", custom=True,
                 read_only=True, rollup=("Deals", "Account_Name", "Amount")),
        FieldDef("Account_Code", "autonumber", "Account Code", custom=True, read_only=True,
                 auto_number=("ACC-", 1, 6)),
        FieldDef("Territories", "territories", custom=False, gen="territories", null_rate=0.5),
        FieldDef("Headquarters", "address", custom=True, gen="address", null_rate=0.4),
    ]),
)

_PERSON_NAME_FIELDS = [
    FieldDef("Salutation", "picklist", picklist=("Mr.", "Mrs.", "Ms.", "Dr.", "Prof."), null_rate=0.4),
    FieldDef("First_Name", "text", "First Name", length=40, gen="first_name", null_rate=0.05),
    FieldDef("Last_Name", "text", "Last Name", length=80, mandatory=True, gen="last_name"),
    FieldDef("Full_Name", "text", "Full Name", length=121, read_only=True, gen="full_name"),
]

CONTACTS = ModuleDef(
    "Contacts", 5843104000000002179, "Contact", "Contacts", "Full_Name",
    share=0.22, id_slot=12, duplicate_check_fields=("Email",),
    fields=tuple(_system_fields() + _PERSON_NAME_FIELDS + [
        FieldDef("Email", "email", length=100, unique=True, gen="email", null_rate=0.05),
        FieldDef("Secondary_Email", "email", "Secondary Email", length=100, gen="email2", null_rate=0.7),
        FieldDef("Phone", "phone", length=30, gen="phone", null_rate=0.1),
        FieldDef("Mobile", "phone", length=30, gen="phone", null_rate=0.3),
        FieldDef("Account_Name", "lookup", "Account Name", lookup="Accounts", gen="account", null_rate=0.1),
        FieldDef("Reporting_To", "lookup", "Reporting To", lookup="Contacts", gen="self_ref", null_rate=0.85),
        FieldDef("Lead_Source", "picklist", "Lead Source", picklist=PICK_LEAD_SOURCE, null_rate=0.2),
        FieldDef("Title", "text", length=100, gen="title", null_rate=0.2),
        FieldDef("Department", "text", length=30, gen="department", null_rate=0.4),
        FieldDef("Date_of_Birth", "date", "Date of Birth", gen="birth_date", null_rate=0.5),
        FieldDef("Email_Opt_Out", "boolean", "Email Opt Out", gen="bool10"),
        FieldDef("Mailing_Street", "text", length=250, gen="street", null_rate=0.2),
        FieldDef("Mailing_City", "text", length=30, gen="city", null_rate=0.2),
        FieldDef("Mailing_Zip", "text", "Mailing Zip", length=30, gen="zip", null_rate=0.2),
        FieldDef("Mailing_Country", "text", length=30, gen="country", null_rate=0.2),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.4),
        FieldDef("Preferred_Channels", "multiselectpicklist", "Preferred Channels", custom=True,
                 picklist=("Email", "Phone", "SMS", "WhatsApp", "Post", "In person"), gen="multi",
                 null_rate=0.3),
        FieldDef("Loyalty_Points", "integer", "Loyalty Points", custom=True, gen="points", null_rate=0.3),
        FieldDef("Customer_Tier", "picklist", "Customer Tier", custom=True,
                 picklist=("Bronze", "Silver", "Gold", "Platinum"), null_rate=0.2),
        FieldDef("Data_Processing_Basis_Details", "consent_lookup", "Data Processing Basis Details",
                 read_only=True, gen="consent", null_rate=0.6),
    ]),
)

LEADS = ModuleDef(
    "Leads", 5843104000000002175, "Lead", "Leads", "Full_Name",
    share=0.35, id_slot=13, duplicate_check_fields=("Email",),
    fields=tuple(_system_fields() + _PERSON_NAME_FIELDS + [
        FieldDef("Company", "text", length=200, gen="company", null_rate=0.05),
        FieldDef("Designation", "text", "Title", length=100, gen="title", null_rate=0.3),
        FieldDef("Email", "email", length=100, unique=True, gen="email", null_rate=0.05),
        FieldDef("Phone", "phone", length=30, gen="phone", null_rate=0.1),
        FieldDef("Mobile", "phone", length=30, gen="phone", null_rate=0.4),
        FieldDef("Website", "website", length=255, gen="website", null_rate=0.4),
        FieldDef("Lead_Source", "picklist", "Lead Source", picklist=PICK_LEAD_SOURCE, null_rate=0.1),
        FieldDef("Lead_Status", "picklist", "Lead Status",
                 picklist=("Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
                           "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"), null_rate=0.05),
        FieldDef("Industry", "picklist", picklist=PICK_INDUSTRY, null_rate=0.2),
        FieldDef("Annual_Revenue", "currency", "Annual Revenue", decimal_place=2, gen="revenue",
                 null_rate=0.3),
        FieldDef("No_of_Employees", "integer", "No. of Employees", gen="employees", null_rate=0.3),
        FieldDef("Rating", "picklist", picklist=PICK_RATING, null_rate=0.4),
        FieldDef("Street", "text", length=250, gen="street", null_rate=0.2),
        FieldDef("City", "text", length=100, gen="city", null_rate=0.15),
        FieldDef("State", "text", length=100, gen="state", null_rate=0.25),
        FieldDef("Zip_Code", "text", "Zip Code", length=30, gen="zip", null_rate=0.15),
        FieldDef("Country", "text", length=100, gen="country", null_rate=0.1),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.4),
        FieldDef("Email_Opt_Out", "boolean", "Email Opt Out", gen="bool10"),
        FieldDef("Converted__s", "boolean", "Is Converted", read_only=True, gen="converted"),
        FieldDef("Converted_Date_Time", "datetime", "Converted Date Time", read_only=True, gen="converted_at"),
        FieldDef("Converted_Account", "lookup", "Converted Account", lookup="Accounts", read_only=True,
                 gen="converted_account"),
        FieldDef("Converted_Contact", "lookup", "Converted Contact", lookup="Contacts", read_only=True,
                 gen="converted_contact"),
        FieldDef("Converted_Deal", "lookup", "Converted Deal", lookup="Deals", read_only=True,
                 gen="converted_deal"),
        FieldDef("Record_Image", "profileimage", "Lead Image", gen="image_id", null_rate=0.9),
        # custom fields on a standard module
        FieldDef("Lead_Score", "integer", "Lead Score", custom=True, gen="score", null_rate=0.1),
        FieldDef("Interests", "multiselectpicklist", custom=True,
                 picklist=("Analytics", "CRM", "Email, SMS & Chat", "Finance", "HR", "Migration",
                           "Support", "\u00c9quipe \u00e0 distance"), gen="multi", null_rate=0.3),
        FieldDef("External_Ref", "text", "External Ref", custom=True, length=20, unique=True,
                 gen="external_ref", external="org"),
        FieldDef("Visitor_Id", "bigint", "Visitor Id", custom=True, gen="bigint", null_rate=0.4),
        FieldDef("Last_Contacted_On", "date", "Last Contacted On", custom=True, gen="past_date",
                 null_rate=0.3),
        FieldDef("Discount_Rate", "percent", "Discount Rate", custom=True, gen="percent", null_rate=0.4),
        FieldDef("Budget", "currency", custom=True, decimal_place=2, gen="money", null_rate=0.3),
        FieldDef("Engagement_Ratio", "double", "Engagement Ratio", custom=True, decimal_place=4,
                 gen="ratio", null_rate=0.3),
        FieldDef("Lead_Code", "autonumber", "Lead Code", custom=True, read_only=True,
                 auto_number=("LD-", 1000, 7)),
        FieldDef("Days_Open", "formula", "Days Open", custom=True, read_only=True,
                 formula=("double", "round(epoch(({now}) - Created_Time) / 86400.0, 2)")),
        FieldDef("Notes_Long", "textarea", "Notes (long)", custom=True, length=2000, textarea_type="small",
                 searchable=False, gen="max_text", null_rate=0.7),
        # Real orgs carry far more than 50 fields on Leads; the list API takes 50 per call,
        # so readers must split the field list and join the pieces by id.
        FieldDef("Secondary_Email", "email", "Secondary Email", length=100, gen="email2", null_rate=0.8),
        FieldDef("Fax", "phone", length=30, gen="phone", null_rate=0.8),
        FieldDef("Skype_ID", "text", "Skype ID", length=50, gen="ticker", null_rate=0.8),
        FieldDef("Twitter", "text", length=50, gen="ticker", null_rate=0.8),
        FieldDef("Referrer", "lookup", custom=True, lookup="Contacts", gen="contact", null_rate=0.7),
        FieldDef("Campaign_Code", "text", "Campaign Code", custom=True, length=20, gen="zip", null_rate=0.5),
        FieldDef("Preferred_Language", "picklist", "Preferred Language", custom=True,
                 picklist=("English", "Deutsch", "Fran\u00e7ais", "Espa\u00f1ol", "\u65e5\u672c\u8a9e",
                           "\u0939\u093f\u0928\u094d\u0926\u0940"), null_rate=0.3),
        FieldDef("Trial_Start", "date", "Trial Start", custom=True, gen="past_date", null_rate=0.5),
        FieldDef("Trial_End", "date", "Trial End", custom=True, gen="future_date", null_rate=0.5),
        FieldDef("Seats_Requested", "integer", "Seats Requested", custom=True, gen="hours", null_rate=0.4),
        FieldDef("NPS_Score", "integer", "NPS Score", custom=True, gen="score", null_rate=0.6),
        FieldDef("Product_Interest", "multiselectpicklist", "Product Interest", custom=True,
                 picklist=("CRM", "Desk", "Books", "Analytics", "One"), gen="multi", null_rate=0.4),
        FieldDef("Churn_Risk", "double", "Churn Risk", custom=True, decimal_place=3, gen="ratio",
                 null_rate=0.4),
        FieldDef("Lifetime_Value", "currency", "Lifetime Value", custom=True, decimal_place=2, gen="money",
                 null_rate=0.4),
        FieldDef("Last_Webinar_At", "datetime", "Last Webinar At", custom=True, gen="future_datetime",
                 null_rate=0.6),
        FieldDef("GDPR_Consent", "boolean", "GDPR Consent", custom=True, gen="bool50"),
        FieldDef("Partner_Code", "text", "Partner Code", custom=True, length=12, gen="external_ref",
                 null_rate=0.7),
        FieldDef("Segment", "picklist", custom=True, picklist=("SMB", "Mid-Market", "Enterprise"),
                 null_rate=0.2),
    ]),
)

DEALS = ModuleDef(
    "Deals", 5843104000000002181, "Deal", "Deals", "Deal_Name",
    share=0.12, id_slot=14, duplicate_check_fields=("Deal_Name",),
    fields=tuple(_system_fields() + [
        FieldDef("Deal_Name", "text", "Deal Name", length=120, mandatory=True, gen="deal_name"),
        FieldDef("Account_Name", "lookup", "Account Name", lookup="Accounts", gen="account", null_rate=0.05),
        FieldDef("Contact_Name", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.2),
        FieldDef("Amount", "currency", decimal_place=2, gen="deal_amount", null_rate=0.05),
        FieldDef("Stage", "picklist", mandatory=True,
                 picklist=("Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers",
                           "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
                           "Closed Lost to Competition")),
        FieldDef("Probability", "percent", "Probability (%)", gen="probability"),
        FieldDef("Expected_Revenue", "formula", "Expected Revenue", read_only=True,
                 formula=("currency", "round(Amount * Probability / 100.0, 2)")),
        FieldDef("Closing_Date", "date", "Closing Date", gen="closing_date", null_rate=0.05),
        FieldDef("Type", "picklist", picklist=("Existing Business", "New Business"), null_rate=0.2),
        FieldDef("Lead_Source", "picklist", "Lead Source", picklist=PICK_LEAD_SOURCE, null_rate=0.2),
        FieldDef("Next_Step", "text", "Next Step", length=100, gen="next_step", null_rate=0.4),
        FieldDef("Pipeline", "picklist", picklist=("Standard (Standard)", "Renewals"), gen="pipeline"),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
        FieldDef("Competitors", "multiselectlookup", custom=True, lookup="Accounts",
                 related_module="Deals_X_Competitors", searchable=False),
        FieldDef("Line_Taxes", "linetax", "Line Taxes", custom=True, gen="linetax", null_rate=0.6,
                 searchable=False),
        FieldDef("Forecast_Quarter", "picklist", "Forecast Quarter", custom=True,
                 picklist=("Q1", "Q2", "Q3", "Q4"), null_rate=0.3),
    ]),
)

TASKS = ModuleDef(
    "Tasks", 5843104000000002183, "Task", "Tasks", "Subject",
    share=0.12, id_slot=15, duplicate_check_fields=(),
    fields=tuple(_system_fields() + [
        FieldDef("Subject", "text", length=300, mandatory=True, gen="task_subject"),
        FieldDef("Due_Date", "date", "Due Date", gen="future_date", null_rate=0.1),
        FieldDef("Status", "picklist", picklist=("Not Started", "Deferred", "In Progress", "Completed",
                                                 "Waiting for input")),
        FieldDef("Priority", "picklist", picklist=("High", "Highest", "Low", "Lowest", "Normal")),
        FieldDef("What_Id", "lookup", "Related To", lookup="Accounts", targets=("Accounts", "Deals"),
                 gen="what_id", null_rate=0.2),
        FieldDef("Who_Id", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.3),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
        FieldDef("Send_Notification_Email", "boolean", "Send Notification Email", gen="bool10"),
        FieldDef("Remind_At", "ALARM", "Reminder", gen="alarm", null_rate=0.6),
        FieldDef("Recurring_Activity", "RRULE", "Repeat", gen="rrule", null_rate=0.8),
        FieldDef("Closed_Time", "datetime", "Closed Time", read_only=True, gen="closed_time", null_rate=0.6),
        FieldDef("Related_Record", "multi_module_lookup", "Related Record", custom=True,
                 targets=("Leads", "Contacts"), gen="multi_module", null_rate=0.5),
    ]),
)

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

# Order matters: a module's lookups point at modules generated before it (parents first).
MODULES: tuple[ModuleDef, ...] = (
    ACCOUNTS, CONTACTS, DEALS, LEADS, TASKS, PROJECTS, PROJECT_MILESTONES,
    PROJECTS_X_CONTACTS, PROJECTS_X_USERS, DEALS_X_COMPETITORS,
)
MODULES_BY_NAME: dict[str, ModuleDef] = {m.api_name: m for m in MODULES}

# Modules /settings/modules lists but the API cannot use (api_supported: false).
UNSUPPORTED_MODULES = (
    ("Home", 5843104000000002171, "Home", "Home"),
    ("Reports", 5843104000000002185, "Report", "Reports"),
    ("Dashboards", 5843104000000002187, "Dashboard", "Dashboards"),
    ("Feeds", 5843104000000002189, "Feed", "Feeds"),
)


def module(api_name: str) -> ModuleDef | None:
    """Look a module up by its exact api name."""
    # Zoho wants the exact api name in paths; a near miss ("leads", "Lead") is INVALID_MODULE.
    return MODULES_BY_NAME.get(api_name)


# --------------------------------------------------------------------------------------
# Users, layouts
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserDef:
    id: int
    first_name: str
    last_name: str
    email: str
    role: str
    profile: str
    status: str = "active"
    zuid: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


USERS: tuple[UserDef, ...] = (
    UserDef(5843104000000424672, "Jane", "Admin", "jane.admin@acme.example", "CEO", "Administrator",
            zuid=665000101),
    UserDef(5843104000000424673, "Zo\u00eb", "\u00c5ngstr\u00f6m", "zoe.angstrom@acme.example", "Manager",
            "Standard", zuid=665000102),
    UserDef(5843104000000424674, "Rahul", "Sharma", "rahul.sharma@acme.example", "Manager", "Standard",
            zuid=665000103),
    UserDef(5843104000000424675, "Mar\u00eda Jos\u00e9", "O'Neil", "mj.oneil@acme.example", "Sales Rep",
            "Standard", zuid=665000104),
    UserDef(5843104000000424676, "\u674e", "\u96f7", "li.lei@acme.example", "Sales Rep", "Standard",
            zuid=665000105),
    UserDef(5843104000000424677, "Olu", "Adeyemi", "olu.adeyemi@acme.example", "Sales Rep", "Standard",
            zuid=665000106),
    UserDef(5843104000000424678, "Sam", "Retired", "sam.retired@acme.example", "Sales Rep", "Standard",
            status="disabled", zuid=665000107),
)
USERS_BY_ID = {u.id: u for u in USERS}
ADMIN_USER = USERS[0]
ACTIVE_USERS = tuple(u for u in USERS if u.status == "active")

LAYOUTS: dict[int, str] = {
    5843104000000091055: "Standard",
    5843104000000091057: "Partner Intake",
}
DEFAULT_LAYOUT_ID = 5843104000000091055

ROLES = {"CEO": 5843104000000026005, "Manager": 5843104000000026007, "Sales Rep": 5843104000000026009}
PROFILES = {"Administrator": 5843104000000026011, "Standard": 5843104000000026014}


@dataclass(frozen=True)
class OrgDef:
    id: int = 665000001
    zgid: int = 665000777
    company_name: str = "Acme Widgets GmbH & Co. KG"
    primary_email: str = "jane.admin@acme.example"
    time_zone: str = "Asia/Kolkata"
    iso_code: str = "USD"
    edition: str = "enterprise"
    users_licensed: int = 10
    domain_name: str = field(default="org665000001")


ORG = OrgDef()
