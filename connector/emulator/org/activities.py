"""Activities besides Tasks: Calls and Events ("Meetings" in the UI, ``Events`` in the API).

Both relate to a record through the polymorphic ``What_Id`` (its module in the record's
``$se_module``) and to a contact through ``Who_Id``. Events have ``Participants``
(``[{"type": "contact"|"lead"|"user"|"email", "participant": id-or-address, "name", "Email",
"invited", "status", "id"}]``), reminders and a recurrence rule. Mandatory fields as
records.md lists them: Calls ``Subject``, ``Call_Type``, ``Call_Start_Time``, ``Call_Duration``;
Events ``Event_Title``, ``Start_DateTime``, ``End_DateTime``.
"""

from __future__ import annotations

from .common import system_fields
from .types import FieldDef, ModuleDef

#: records an activity can be "related to" (What_Id); Leads, too, with $se_module = Leads
ACTIVITY_TARGETS = ("Accounts", "Deals", "Leads")
CALL_DURATION_SECONDS = ("integer", "CASE WHEN regexp_matches(Call_Duration, '^[0-9]+:[0-5][0-9]$') THEN "
                         "CAST(split_part(Call_Duration, ':', 1) AS INTEGER) * 60 + "
                         "CAST(split_part(Call_Duration, ':', 2) AS INTEGER) END")

CALLS = ModuleDef(
    "Calls", 5843104000000002193, "Call", "Calls", "Subject",
    share=0.10, id_slot=35,
    fields=tuple(system_fields() + [
        FieldDef("Subject", "text", length=255, mandatory=True, gen="call_subject"),
        FieldDef("Call_Type", "picklist", "Call Type", mandatory=True, picklist=("Outbound", "Inbound", "Missed")),
        FieldDef("Call_Purpose", "picklist", "Call Purpose", null_rate=0.3,
                 picklist=("Prospecting", "Administrative", "Negotiation", "Demo", "Project", "Desk")),
        FieldDef("Call_Start_Time", "datetime", "Call Start Time", mandatory=True, gen="activity_start"),
        FieldDef("Call_Duration", "text", "Call Duration", length=10, mandatory=True, gen="call_duration"),
        FieldDef("Call_Duration_in_seconds", "formula", "Call Duration (in seconds)", read_only=True,
                 formula=CALL_DURATION_SECONDS),
        FieldDef("Call_Result", "picklist", "Call Result", null_rate=0.4,
                 picklist=("Interested", "Not interested", "No response/Busy", "Requested more info",
                           "Requested call back", "Invalid number")),
        FieldDef("Outgoing_Call_Status", "picklist", "Outgoing Call Status", null_rate=0.5,
                 picklist=("Scheduled", "Completed", "Overdue", "Cancelled")),
        FieldDef("Call_Agenda", "textarea", "Call Agenda", length=2000, textarea_type="small", searchable=False,
                 gen="description", null_rate=0.6),
        FieldDef("Dialled_Number", "phone", "Dialled Number", length=30, gen="phone", null_rate=0.5),
        FieldDef("Reminder", "picklist", null_rate=0.5,
                 picklist=("None", "5 minutes before", "10 minutes before", "15 minutes before", "30 minutes before")),
        FieldDef("What_Id", "lookup", "Related To", lookup="Accounts", targets=ACTIVITY_TARGETS, gen="what_id"),
        FieldDef("Who_Id", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.4),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
    ]),
)

EVENTS = ModuleDef(
    "Events", 5843104000000002191, "Meeting", "Meetings", "Event_Title",
    share=0.08, id_slot=36,
    fields=tuple(system_fields() + [
        FieldDef("Event_Title", "text", "Title", length=255, mandatory=True, gen="event_title"),
        FieldDef("Start_DateTime", "datetime", "From", mandatory=True, gen="activity_start"),
        FieldDef("End_DateTime", "datetime", "To", mandatory=True, gen="activity_start"),
        FieldDef("All_day", "boolean", "All day", gen="bool10"),
        FieldDef("Venue", "text", length=255, gen="city", null_rate=0.4),
        FieldDef("What_Id", "lookup", "Related To", lookup="Accounts", targets=ACTIVITY_TARGETS, gen="what_id"),
        FieldDef("Who_Id", "lookup", "Contact Name", lookup="Contacts", gen="contact", null_rate=0.4),
        FieldDef("Participants", "participants", searchable=False, gen="participants"),
        FieldDef("Remind_At", "ALARM", "Reminder", gen="alarm", null_rate=0.6),
        FieldDef("Recurring_Activity", "RRULE", "Repeat", gen="rrule", null_rate=0.85),
        FieldDef("Description", "textarea", length=32000, textarea_type="large", searchable=False,
                 gen="description", null_rate=0.5),
    ]),
)
