"""Notes and Attachments: records that belong to another record through a polymorphic ``Parent_Id``.

Notes are a module of their own (``GET/POST/PUT/DELETE /Notes``) and a related list of
every module that takes notes (``/{module}/{id}/Notes``). Their ``Parent_Id`` reads
``{"module": {"api_name", "id"}, "name", "id"}`` and the record carries ``$se_module``;
a note is written with ``"Parent_Id": {"module": {"api_name": "Leads"}, "id": "..."}``
(v8) or the older ``"Parent_Id": "...", "$se_module": "Leads"``. Notes are not served
by Bulk Read/Write, COQL or the Search API (bulk-read.md section 4; the COQL and
search module lists leave Notes out). Deleting a record deletes its notes.
"""

from __future__ import annotations

from .types import FieldDef, ModuleDef

#: modules whose records take notes and attachments (Zoho's "supported modules" lists), with the
#: share of generated notes each gets (modules without records are skipped)
NOTE_PARENTS: dict[str, float] = {
    "Leads": 0.30, "Contacts": 0.22, "Accounts": 0.14, "Deals": 0.16, "Tasks": 0.01, "Events": 0.02,
    "Calls": 0.02, "Projects": 0.02, "Products": 0.01, "Vendors": 0.005, "Price_Books": 0.002, "Quotes": 0.02,
    "Sales_Orders": 0.01, "Purchase_Orders": 0.005, "Invoices": 0.01, "Campaigns": 0.01, "Cases": 0.04,
    "Solutions": 0.005,
}


def _owned_fields() -> list[FieldDef]:
    return [
        FieldDef("Owner", "ownerlookup", "Owner", lookup="Users", gen="owner"),
        FieldDef("Created_By", "userlookup", "Created By", lookup="Users", read_only=True, gen="user"),
        FieldDef("Modified_By", "userlookup", "Modified By", lookup="Users", read_only=True, gen="user"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True, gen="created"),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True, gen="modified"),
    ]


NOTES = ModuleDef(
    "Notes", 5843104000000002195, "Note", "Notes", "Note_Title",
    share=0.15, id_slot=37, bulk_read=False, bulk_write=False, coql=False, search=False,
    fields=tuple(_owned_fields() + [
        FieldDef("Note_Title", "text", "Note Title", length=120, gen="note_title", null_rate=0.25),
        FieldDef("Note_Content", "textarea", "Note Content", length=32000, textarea_type="large", mandatory=True,
                 searchable=False, gen="note_content"),
        FieldDef("Parent_Id", "lookup", "Parent ID", mandatory=True, targets=tuple(NOTE_PARENTS),
                 lookup=next(iter(NOTE_PARENTS)), module_in_value=True, cascade=True, create_only=True,
                 gen="note_parent"),
    ]),
)

#: attachments hang off the same records as notes, and off notes themselves
ATTACHMENT_PARENTS: dict[str, float] = {**NOTE_PARENTS, "Notes": 0.05}

# Attachments are not a records module: no /Attachments list, no COQL, search or bulk; they are
# read, uploaded, downloaded and deleted through /{module}/{id}/Attachments (attachments.json).
# Fields as /settings/fields?module=Attachments lists them; $file_id, $link_url are kept beside.
ATTACHMENTS = ModuleDef(
    "Attachments", 5843104000000002197, "Attachment", "Attachments", "File_Name",
    share=0.05, id_slot=38, api_supported=False, creatable=False, bulk_read=False, bulk_write=False,
    coql=False, search=False, extra_columns=(("$file_id", "VARCHAR"), ("$link_url", "VARCHAR")),
    fields=tuple(_owned_fields() + [
        FieldDef("File_Name", "text", "File Name", length=255, read_only=True, gen="attachment_name"),
        FieldDef("Size", "bigint", read_only=True, gen="attachment_size"),
        FieldDef("Parent_Id", "lookup", "Parent ID", mandatory=True, read_only=True,
                 targets=tuple(ATTACHMENT_PARENTS), lookup=next(iter(ATTACHMENT_PARENTS)), cascade=True,
                 gen="note_parent"),
    ]),
)
