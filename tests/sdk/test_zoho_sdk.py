"""Zoho's Python SDK (zohocrmsdk8-0 7.0.0, unmodified) against the emulator's enterprise org.

One case per operation the SDK offers for the modules and endpoints of issue 13;
each runs the SDK call and checks the SDK parsed Zoho's answer into its success
class (an ``APIException`` object is a failure) with the values expected. The
operations and what each returns:

| operation | SDK call | result |
|---|---|---|
| records.list | RecordOperations(Leads).get_records | ResponseWrapper, a page of 50, more records |
| records.get | RecordOperations(Calls).get_record | ResponseWrapper, the call with its What_Id |
| records.create | RecordOperations(Products).create_records | ActionWrapper, SUCCESS with the new id |
| records.update | RecordOperations(Cases).update_record | ActionWrapper, SUCCESS; the subject reads back |
| records.upsert | RecordOperations(Vendors).upsert_records | ActionWrapper, SUCCESS (insert, then update) |
| records.delete | RecordOperations(Solutions).delete_record | ActionWrapper, SUCCESS; the record is gone |
| records.search | RecordOperations(Leads).search_records | ResponseWrapper, every match has the word |
| records.deleted | RecordOperations(Solutions).get_deleted_records | DeletedRecordsWrapper, the deleted id |
| records.count | RecordOperations(Invoices).record_count | CountWrapper, the org's invoice count |
| records.line_items | RecordOperations(Quotes).get_record | ResponseWrapper, Quoted_Items with products |
| related_records.get | RelatedRecordsOperations(Notes, Leads).get_related_records | ResponseWrapper, the lead's notes |
| related_records.link | RelatedRecordsOperations(Leads, Campaigns).update_related_record | ActionWrapper, SUCCESS |
| related_records.delink | RelatedRecordsOperations(Leads, Campaigns).delink_record | ActionWrapper, SUCCESS |
| notes.list | NotesOperations.get_notes | ResponseWrapper, notes with their parents |
| notes.create | NotesOperations.create_notes | ActionWrapper, SUCCESS on a contact |
| notes.update | NotesOperations.update_note | ActionWrapper, SUCCESS; the title reads back |
| notes.delete | NotesOperations.delete_note | ActionWrapper, SUCCESS |
| attachments.upload | AttachmentsOperations.upload_attachments | ActionWrapper, SUCCESS with the id |
| attachments.list | AttachmentsOperations.get_attachments | ResponseWrapper, the uploaded file by name |
| attachments.download | AttachmentsOperations.get_attachment | FileBodyWrapper, the bytes uploaded |
| attachments.link | AttachmentsOperations.upload_url_attachments | ActionWrapper, SUCCESS |
| attachments.delete | AttachmentsOperations.delete_attachment | ActionWrapper, SUCCESS |
| photos.upload | RecordOperations(Accounts).upload_photo | SuccessResponse, SUCCESS; Record_Image set |
| photos.download | RecordOperations(Accounts).get_photo | FileBodyWrapper, the PNG uploaded |
| photos.delete | RecordOperations(Accounts).delete_photo | SuccessResponse, SUCCESS; then 204 |
| files.upload | FilesOperations.upload_files | ActionWrapper, SUCCESS with the file id |
| files.download | FilesOperations.get_file | FileBodyWrapper, the bytes uploaded |
| file_field.download | FieldAttachmentsOperations(Projects).get_field_attachments | FileBodyWrapper, a contract file |
| tags.list | TagsOperations.get_tags | ResponseWrapper, the org's Leads tags |
| tags.create | TagsOperations.create_tags | ActionWrapper, SUCCESS |
| tags.add | TagsOperations.add_tags | RecordActionWrapper, the tag on the record |
| tags.remove | TagsOperations.remove_tags | RecordActionWrapper, SUCCESS |
| tags.count | TagsOperations.get_record_count_for_tag | CountResponseWrapper, 1 record |
| users.list | UsersOperations.get_users | ResponseWrapper, the org's users |
| users.count | UsersOperations.users_count | CountWrapper, as many as listed |
| fields.list | FieldsOperations.get_fields | ResponseWrapper, Notes' fields with the Parent_Id lookup |
| fields.get | FieldsOperations.get_field | ResponseWrapper, that one field |
| roles.list | RolesOperations.get_roles | ResponseWrapper, roles |
| roles.get | RolesOperations.get_role | ResponseWrapper, that role |
| profiles.list | ProfilesOperations.get_profiles | ResponseWrapper, profiles |
| profiles.get | ProfilesOperations.get_profile | ResponseWrapper, that profile |
| territories.list | TerritoriesOperations.get_territories | ResponseWrapper, territories |
| currencies.list | CurrenciesOperations.get_currencies | ResponseWrapper, the home currency |
| custom_views.list | CustomViewsOperations.get_custom_views | ResponseWrapper, Leads' views |
| custom_views.get | CustomViewsOperations.get_custom_view | ResponseWrapper, that view |
| layouts.list | LayoutsOperations.get_layouts | ResponseWrapper, Invoices' layouts |
| layouts.get | LayoutsOperations.get_layout | ResponseWrapper, that layout |
| modules.list | ModulesOperations.get_modules | ResponseWrapper, Notes and the line items |
| modules.get | ModulesOperations.get_module_by_api_name | ResponseWrapper, Price_Books |
| related_lists.list | RelatedListsOperations.get_related_lists | ResponseWrapper, Deals' Stage_History |
| stage_history.get | RelatedRecordsOperations(Stage_History, Deals).get_related_records | ResponseWrapper |
| bulk_read.run | BulkReadOperations create / details / download_result | FileBodyWrapper, a zip of Calls |
| bulk_write.run | BulkWriteOperations upload_file / create / details / download | the result CSV, 2 rows added |
| coql.query | CoqlOperations.get_records | ResponseWrapper, Sales_Orders by COQL |
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import attachments as att
from zohocrmsdk.src.com.zoho.crm.api import bulk_read as br
from zohocrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zohocrmsdk.src.com.zoho.crm.api import coql as cq
from zohocrmsdk.src.com.zoho.crm.api import currencies as cur
from zohocrmsdk.src.com.zoho.crm.api import custom_views as cv
from zohocrmsdk.src.com.zoho.crm.api import field_attachments as fa
from zohocrmsdk.src.com.zoho.crm.api import fields as fl
from zohocrmsdk.src.com.zoho.crm.api import files as fi
from zohocrmsdk.src.com.zoho.crm.api import layouts as ly
from zohocrmsdk.src.com.zoho.crm.api import modules as md
from zohocrmsdk.src.com.zoho.crm.api import notes as nt
from zohocrmsdk.src.com.zoho.crm.api import profiles as pf
from zohocrmsdk.src.com.zoho.crm.api import record as rc
from zohocrmsdk.src.com.zoho.crm.api import related_lists as rl
from zohocrmsdk.src.com.zoho.crm.api import related_records as rr
from zohocrmsdk.src.com.zoho.crm.api import roles as ro
from zohocrmsdk.src.com.zoho.crm.api import tags as tg
from zohocrmsdk.src.com.zoho.crm.api import territories as te
from zohocrmsdk.src.com.zoho.crm.api import users as us
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from connector.emulator import Emulator
from tests.conftest import ZohoClient


def ok(response: Any, cls: type) -> Any:
    """The SDK's parsed answer, which must be ``cls`` (not its APIException)."""
    assert response is not None, "the SDK returned no response"
    obj = response.get_object()
    if not isinstance(obj, cls):
        detail = obj.get_details() if hasattr(obj, "get_details") else None
        code = obj.get_code().get_value() if hasattr(obj, "get_code") and obj.get_code() else None
        message = obj.get_message().get_value() if hasattr(obj, "get_message") and obj.get_message() else None
        raise AssertionError(f"{response.get_status_code()}: {type(obj).__name__} {code} {message} {detail}")
    return obj


def success(response: Any, cls: type, n: int = 1, key: str = "data") -> list[Any]:
    """An action answer: ``n`` per-record results (under ``key``), each SUCCESS; their details."""
    out = []
    for item in getattr(ok(response, cls), f"get_{key}")():
        status = item.get_status().get_value() if item.get_status() else None
        assert status == "success", (type(item).__name__, item.get_code().get_value() if item.get_code() else None,
                                     item.get_message().get_value() if item.get_message() else None,
                                     item.get_details() if hasattr(item, "get_details") else None)
        out.append(item.get_details())
    assert len(out) == n
    return out


def params(**values: Any) -> ParameterMap:
    pm = ParameterMap()
    for key, value in values.items():
        cls_name, _, name = key.partition("__")
        pm.add(getattr(PARAMS[cls_name], name), value)
    return pm


PARAMS: dict[str, Any] = {
    "records": rc.GetRecordsParam, "record": rc.GetRecordParam, "search": rc.SearchRecordsParam,
    "deleted": rc.GetDeletedRecordsParam, "notes": nt.GetNotesParam, "att": att.GetAttachmentsParam,
    "att_url": att.UploadUrlAttachmentsParam, "file": fi.GetFileParam, "tags": tg.GetTagsParam,
    "create_tags": tg.CreateTagsParam, "tag_count": tg.GetRecordCountForTagParam, "users": us.GetUsersParam,
    "users_count": us.UsersCountParam, "fields": fl.GetFieldsParam, "field": fl.GetFieldParam,
    "cvs": cv.GetCustomViewsParam, "cv": cv.GetCustomViewParam, "layouts": ly.GetLayoutsParam,
    "layout": ly.GetLayoutParam, "rls": rl.GetRelatedListsParam, "related": rr.GetRelatedRecordsParam,
    "count": rc.RecordCountParam,
}


class Org:
    """What the cases share: the emulator, a plain client for ground truth, a folder for files to upload."""

    def __init__(self, emu: Emulator, folder: Path) -> None:
        self.emu = emu
        self.z = ZohoClient(emu)
        self.folder = folder

    def file(self, name: str, data: bytes) -> StreamWrapper:
        """A file on disk, as the SDK's samples upload: requests names the part after the file."""
        path = self.folder / name
        path.write_bytes(data)
        return StreamWrapper(file_path=str(path))

    def first_id(self, module: str, where: str = "id is not null") -> int:
        rows = self.z.post("/coql", json={"select_query": f"select id from {module} where {where} limit 1"})
        return int(rows.json()["data"][0]["id"])

    def record(self, module: str, **values: Any) -> rc.Record:
        r = rc.Record()
        for k, v in values.items():
            r.add_key_value(k, v)
        return r

    def create(self, module: str, **values: Any) -> int:
        body = rc.BodyWrapper()
        body.set_data([self.record(module, **values)])
        details = success(rc.RecordOperations(module).create_records(body), rc.ActionWrapper)
        return int(details[0]["id"])


Case = Callable[[Org], str]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def add(fn: Case) -> Case:
        CASES[name] = fn
        return fn
    return add


# ---- records ---------------------------------------------------------------------------------------


@case("records.list")
def _records_list(o: Org) -> str:
    got = ok(rc.RecordOperations("Leads").get_records(params(records__fields="Last_Name,Email,Tag",
                                                                 records__per_page=50)), rc.ResponseWrapper)
    assert len(got.get_data()) == 50 and got.get_info().get_more_records()
    return f"{len(got.get_data())} records"


@case("records.get")
def _records_get(o: Org) -> str:
    rid = o.first_id("Calls", "What_Id is not null")
    got = ok(rc.RecordOperations("Calls").get_record(rid), rc.ResponseWrapper).get_data()[0]
    assert got.get_id() == rid and got.get_key_value("What_Id") is not None
    return "the call with its What_Id"


@case("records.create")
def _records_create(o: Org) -> str:
    rid = o.create("Products", Product_Name="SDK widget", Unit_Price=12.5)
    assert o.z.get(f"/Products/{rid}").json()["data"][0]["Product_Name"] == "SDK widget"
    return f"SUCCESS, id {rid}"


@case("records.update")
def _records_update(o: Org) -> str:
    rid = o.create("Cases", Subject="SDK case", Case_Origin=Choice("Email"), Status=Choice("New"))
    body = rc.BodyWrapper()
    body.set_data([o.record("Cases", Subject="SDK case, renamed")])
    success(rc.RecordOperations("Cases").update_record(rid, body), rc.ActionWrapper)
    assert o.z.get(f"/Cases/{rid}").json()["data"][0]["Subject"] == "SDK case, renamed"
    return "SUCCESS"


@case("records.upsert")
def _records_upsert(o: Org) -> str:
    body = rc.BodyWrapper()
    body.set_data([o.record("Vendors", Vendor_Name="SDK Vendor GmbH", Email="sdk.vendor@example.com")])
    body.set_duplicate_check_fields(["Vendor_Name"])
    first = success(rc.RecordOperations("Vendors").upsert_records(body), rc.ActionWrapper)[0]
    again = success(rc.RecordOperations("Vendors").upsert_records(body), rc.ActionWrapper)[0]
    assert first["id"] == again["id"]
    return "SUCCESS, inserted then updated"


@case("records.delete")
def _records_delete(o: Org) -> str:
    rid = o.first_id("Solutions")
    success(rc.RecordOperations("Solutions").delete_record(rid, ParameterMap()), rc.ActionWrapper)
    assert o.z.get(f"/Solutions/{rid}").status_code == 204
    return "SUCCESS"


@case("records.search")
def _records_search(o: Org) -> str:
    got = ok(rc.RecordOperations("Leads").search_records(params(search__criteria="(Lead_Source:equals:Web Download)")),
             rc.ResponseWrapper)
    sources = {r.get_key_value("Lead_Source").get_value() for r in got.get_data()}
    assert sources == {"Web Download"}, sources
    return f"{len(got.get_data())} matches"


@case("records.deleted")
def _records_deleted(o: Org) -> str:
    rid = o.create("Solutions", Solution_Title="SDK solution to delete")
    success(rc.RecordOperations("Solutions").delete_record(rid, ParameterMap()), rc.ActionWrapper)
    got = ok(rc.RecordOperations("Solutions").get_deleted_records(params(deleted__type="recycle")),
             rc.DeletedRecordsWrapper)
    assert rid in {d.get_id() for d in got.get_data()}
    return "the deleted id listed"


@case("records.count")
def _records_count(o: Org) -> str:
    got = ok(rc.RecordOperations("Invoices").record_count(ParameterMap()), rc.CountWrapper)
    assert got.get_count() == len(o.z.export("Invoices")) > 0
    return f"{got.get_count()} invoices"


@case("records.line_items")
def _records_line_items(o: Org) -> str:
    rid = o.first_id("Quotes")
    quote = ok(rc.RecordOperations("Quotes").get_record(rid), rc.ResponseWrapper).get_data()[0]
    items = quote.get_key_value("Quoted_Items")
    assert items, "a generated quote has line items"
    product = items[0].get_key_value("Product_Name")
    product_id = product.get("id") if isinstance(product, dict) else product.get_id()  # the SDK keeps it a dict
    assert product_id
    return f"{len(items)} line items"


# ---- related records ---------------------------------------------------------------------------------


@case("related_records.get")
def _related_get(o: Org) -> str:
    notes = [n for n in o.z.export("Notes") if n["$se_module"] == "Leads"]
    lead = int(notes[0]["Parent_Id"]["id"])
    got = ok(rr.RelatedRecordsOperations("Notes", "Leads").get_related_records(
        lead, params(related__fields="Note_Title,Note_Content")), rr.ResponseWrapper)
    want = {int(n["id"]) for n in notes if int(n["Parent_Id"]["id"]) == lead}
    assert {r.get_id() for r in got.get_data()} == want
    return f"{len(want)} notes of the lead"


@case("related_records.link")
def _related_link(o: Org) -> str:
    campaign, lead = o.first_id("Campaigns"), o.first_id("Leads")
    body = rr.BodyWrapper()
    body.set_data([o.record("Campaigns", Member_Status="Sent")])
    success(rr.RelatedRecordsOperations("Leads", "Campaigns").update_related_record(lead, campaign, body),
            rr.ActionWrapper)
    listed = o.z.get(f"/Campaigns/{campaign}/Leads", params={"fields": "Last_Name"}).json()["data"]
    assert lead in {int(r["id"]) for r in listed}
    return "SUCCESS, the lead is a member"


@case("related_records.delink")
def _related_delink(o: Org) -> str:
    campaign, lead = o.first_id("Campaigns"), o.first_id("Leads", "Last_Name is not null")
    body = rr.BodyWrapper()
    body.set_data([o.record("Campaigns", Member_Status="Sent")])
    success(rr.RelatedRecordsOperations("Leads", "Campaigns").update_related_record(lead, campaign, body),
            rr.ActionWrapper)
    success(rr.RelatedRecordsOperations("Leads", "Campaigns").delink_record(lead, campaign), rr.ActionWrapper)
    r = o.z.get(f"/Campaigns/{campaign}/Leads", params={"fields": "Last_Name"})
    assert lead not in {int(x["id"]) for x in (r.json()["data"] if r.status_code == 200 else [])}
    return "SUCCESS, no longer a member"


# ---- notes -------------------------------------------------------------------------------------------


@case("notes.list")
def _notes_list(o: Org) -> str:
    got = ok(nt.NotesOperations().get_notes(params(notes__fields="Note_Title,Note_Content,Parent_Id")),
             nt.ResponseWrapper)
    assert got.get_data() and all(n.get_parent_id() is not None for n in got.get_data())
    return f"{len(got.get_data())} notes"


def _new_note(o: Org, title: str) -> int:
    contact = o.first_id("Contacts")
    note = nt.Note()
    note.set_note_title(title)
    note.set_note_content("Written by Zoho's SDK.")
    parent = nt.ParentId()
    parent.set_id(contact)
    minified = md.MinifiedModule()
    minified.set_api_name("Contacts")
    parent.set_module(minified)
    note.set_parent_id(parent)
    body = nt.BodyWrapper()
    body.set_data([note])
    details = success(nt.NotesOperations().create_notes(body), nt.ActionWrapper)
    return int(details[0]["id"])


@case("notes.create")
def _notes_create(o: Org) -> str:
    nid = _new_note(o, "SDK note")
    got = o.z.get(f"/Notes/{nid}").json()["data"][0]
    assert got["Note_Title"] == "SDK note" and got["$se_module"] == "Contacts"
    return "SUCCESS on a contact"


@case("notes.update")
def _notes_update(o: Org) -> str:
    nid = _new_note(o, "SDK note to edit")
    note = nt.Note()
    note.set_note_title("SDK note, edited")
    body = nt.BodyWrapper()
    body.set_data([note])
    success(nt.NotesOperations().update_note(nid, body), nt.ActionWrapper)
    assert o.z.get(f"/Notes/{nid}").json()["data"][0]["Note_Title"] == "SDK note, edited"
    return "SUCCESS"


@case("notes.delete")
def _notes_delete(o: Org) -> str:
    nid = _new_note(o, "SDK note to delete")
    success(nt.NotesOperations().delete_note(nid), nt.ActionWrapper)
    assert o.z.get(f"/Notes/{nid}").status_code == 204
    return "SUCCESS"


# ---- attachments and files ------------------------------------------------------------------------------

PAYLOAD = b"%PDF-1.4 attachment written by Zoho's SDK\n" + bytes(range(256)) * 8


def _upload(o: Org, name: str) -> tuple[int, int]:
    lead = o.first_id("Leads")
    body = att.FileBodyWrapper()
    body.set_file(o.file(name, PAYLOAD))
    details = success(att.AttachmentsOperations().upload_attachments(lead, "Leads", body), att.ActionWrapper)
    return lead, int(details[0]["id"])


@case("attachments.upload")
def _attachments_upload(o: Org) -> str:
    lead, aid = _upload(o, "sdk upload.pdf")
    return f"SUCCESS, id {aid}"


@case("attachments.list")
def _attachments_list(o: Org) -> str:
    lead, aid = _upload(o, "sdk listed.pdf")
    got = ok(att.AttachmentsOperations().get_attachments(lead, "Leads", params(att__fields="File_Name,Size")),
             att.ResponseWrapper)
    names = {a.get_id(): a.get_file_name() for a in got.get_data()}
    assert names.get(aid) == "sdk listed.pdf", names
    return f"{len(names)} attachments"


@case("attachments.download")
def _attachments_download(o: Org) -> str:
    lead, aid = _upload(o, "sdk download.pdf")
    got = ok(att.AttachmentsOperations().get_attachment(aid, lead, "Leads"), att.FileBodyWrapper)
    stream = got.get_file()
    assert stream.get_name() == "sdk download.pdf"
    assert b"".join(stream.get_stream()) == PAYLOAD
    return f"{len(PAYLOAD)} bytes, byte-exact"


@case("attachments.link")
def _attachments_link(o: Org) -> str:
    lead = o.first_id("Leads")
    success(att.AttachmentsOperations().upload_url_attachments(
        lead, "Leads", params(att_url__attachmenturl="https://example.com/spec.pdf", att_url__title="Spec")),
        att.ActionWrapper)
    return "SUCCESS"


@case("attachments.delete")
def _attachments_delete(o: Org) -> str:
    lead, aid = _upload(o, "sdk delete.pdf")
    success(att.AttachmentsOperations().delete_attachment(aid, lead, "Leads"), att.ActionWrapper)
    r = o.z.get(f"/Leads/{lead}/Attachments", params={"fields": "File_Name"})
    assert aid not in {int(a["id"]) for a in (r.json()["data"] if r.status_code == 200 else [])}
    return "SUCCESS"


# A 1x1 PNG: Zoho's Photo API takes images only (its first bytes say which).
PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
         b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
         b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _upload_photo(o: Org, name: str) -> int:
    account = o.first_id("Accounts")
    body = rc.FileBodyWrapper()
    body.set_file(o.file(name, PHOTO))
    got = ok(rc.RecordOperations("Accounts").upload_photo(account, body), rc.SuccessResponse)
    assert got.get_status().get_value() == "success" and got.get_code().get_value() == "SUCCESS"
    return account


@case("photos.upload")
def _photos_upload(o: Org) -> str:
    account = _upload_photo(o, "sdk photo.png")
    image = o.z.get(f"/Accounts/{account}", params={"fields": "Record_Image"}).json()["data"][0]["Record_Image"]
    assert image, "Record_Image names no photo after the upload"
    return "SUCCESS; Record_Image names the photo"


@case("photos.download")
def _photos_download(o: Org) -> str:
    account = _upload_photo(o, "sdk photo down.png")
    got = ok(rc.RecordOperations("Accounts").get_photo(account), rc.FileBodyWrapper)
    assert b"".join(got.get_file().get_stream()) == PHOTO
    return f"{len(PHOTO)} bytes, byte-exact"


@case("photos.delete")
def _photos_delete(o: Org) -> str:
    account = _upload_photo(o, "sdk photo gone.png")
    got = ok(rc.RecordOperations("Accounts").delete_photo(account), rc.SuccessResponse)
    assert got.get_status().get_value() == "success"
    assert o.z.get(f"/Accounts/{account}/photo").status_code == 204
    return "SUCCESS; the record has no photo"


def _upload_file(o: Org) -> str:
    body = fi.BodyWrapper()
    body.set_file([o.file("sdk file.bin", PAYLOAD)])
    details = success(fi.FilesOperations().upload_files(body, ParameterMap()), fi.ActionWrapper)
    return str(details[0]["id"])


@case("files.upload")
def _files_upload(o: Org) -> str:
    return f"SUCCESS, file id {_upload_file(o)[:12]}..."


@case("files.download")
def _files_download(o: Org) -> str:
    file_id = _upload_file(o)
    got = ok(fi.FilesOperations().get_file(params(file__id=file_id)), fi.FileBodyWrapper)
    assert b"".join(got.get_file().get_stream()) == PAYLOAD
    return "byte-exact"


@case("file_field.download")
def _file_field_download(o: Org) -> str:
    project = next(p for p in o.z.export("Projects") if p.get("Contract"))
    entry = project["Contract"][0]
    got = ok(fa.FieldAttachmentsOperations("Projects", int(project["id"]), int(entry["id"])).get_field_attachments(),
             fa.FileBodyWrapper)
    data = b"".join(got.get_file().get_stream())
    assert len(data) == int(entry["Size__s"])
    return f"{len(data)} bytes"


# ---- tags --------------------------------------------------------------------------------------------


@case("tags.list")
def _tags_list(o: Org) -> str:
    got = ok(tg.TagsOperations().get_tags(params(tags__module="Leads")), tg.ResponseWrapper)
    assert got.get_tags()
    return f"{len(got.get_tags())} tags"


def _new_tag(o: Org, name: str) -> int:
    tag = tg.Tag()
    tag.set_name(name)
    body = tg.BodyWrapper()
    body.set_tags([tag])
    details = success(tg.TagsOperations().create_tags(body, params(create_tags__module="Deals")), tg.ActionWrapper,
                      key="tags")
    return int(details[0]["id"])


@case("tags.create")
def _tags_create(o: Org) -> str:
    _new_tag(o, "SDK created")
    return "SUCCESS"


def _tag_deal(o: Org, name: str) -> int:
    deal = o.first_id("Deals")
    tag = tg.Tag()
    tag.set_name(name)
    body = tg.NewTagRequestWrapper()
    body.set_tags([tag])
    success(tg.TagsOperations().add_tags("Deals", deal, body, ParameterMap()), tg.RecordActionWrapper)
    return deal


@case("tags.add")
def _tags_add(o: Org) -> str:
    deal = _tag_deal(o, "SDK added")
    tags = o.z.get(f"/Deals/{deal}").json()["data"][0]["Tag"]
    assert "SDK added" in {t["name"] for t in tags}
    return "the tag on the record"


@case("tags.remove")
def _tags_remove(o: Org) -> str:
    deal = _tag_deal(o, "SDK removed")
    tag = tg.ExistingTag()
    tag.set_name("SDK removed")
    body = tg.ExistingTagRequestWrapper()
    body.set_tags([tag])
    success(tg.TagsOperations().remove_tags("Deals", deal, body), tg.RecordActionWrapper)
    tags = o.z.get(f"/Deals/{deal}").json()["data"][0]["Tag"]
    assert "SDK removed" not in {t["name"] for t in tags}
    return "SUCCESS"


@case("tags.count")
def _tags_count(o: Org) -> str:
    tag_id = _new_tag(o, "SDK counted")
    deal = o.first_id("Deals")
    tag = tg.Tag()
    tag.set_name("SDK counted")
    body = tg.NewTagRequestWrapper()
    body.set_tags([tag])
    success(tg.TagsOperations().add_tags("Deals", deal, body, ParameterMap()), tg.RecordActionWrapper)
    got = ok(tg.TagsOperations().get_record_count_for_tag(tag_id, params(tag_count__module="Deals")),
             tg.CountResponseWrapper)
    assert got.get_count() == "1"  # Zoho sends the count as text; the SDK's class types it str
    return "1 record"


# ---- users, org settings, metadata ----------------------------------------------------------------------


@case("users.list")
def _users_list(o: Org) -> str:
    got = ok(us.UsersOperations().get_users(params(users__type="AllUsers")), us.ResponseWrapper)
    return f"{len(got.get_users())} users"


@case("users.count")
def _users_count(o: Org) -> str:
    listed = ok(us.UsersOperations().get_users(params(users__type="AllUsers")), us.ResponseWrapper).get_users()
    got = ok(us.UsersOperations().users_count(params(users_count__type="AllUsers")), us.CountWrapper)
    assert got.get_count() == len(listed)
    return f"{got.get_count()} users"


@case("fields.list")
def _fields_list(o: Org) -> str:
    got = ok(fl.FieldsOperations().get_fields(params(fields__module="Notes")), fl.ResponseWrapper)
    parent = next(f for f in got.get_fields() if f.get_api_name() == "Parent_Id")
    assert parent.get_data_type() == "lookup" and parent.get_lookup().get_module() is not None
    return f"{len(got.get_fields())} fields"


@case("fields.get")
def _fields_get(o: Org) -> str:
    fields = ok(fl.FieldsOperations().get_fields(params(fields__module="Calls")), fl.ResponseWrapper).get_fields()
    want = next(f for f in fields if f.get_api_name() == "Call_Start_Time")
    got = ok(fl.FieldsOperations().get_field(want.get_id(), params(field__module="Calls")), fl.ResponseWrapper)
    assert [f.get_api_name() for f in got.get_fields()] == ["Call_Start_Time"]
    return "that one field"


@case("roles.list")
def _roles_list(o: Org) -> str:
    got = ok(ro.RolesOperations().get_roles(), ro.ResponseWrapper)
    return f"{len(got.get_roles())} roles"


@case("roles.get")
def _roles_get(o: Org) -> str:
    first = ok(ro.RolesOperations().get_roles(), ro.ResponseWrapper).get_roles()[0]
    got = ok(ro.RolesOperations().get_role(first.get_id()), ro.ResponseWrapper)
    assert [r.get_id() for r in got.get_roles()] == [first.get_id()]
    return first.get_name()


@case("profiles.list")
def _profiles_list(o: Org) -> str:
    got = ok(pf.ProfilesOperations().get_profiles(ParameterMap()), pf.ResponseWrapper)
    return f"{len(got.get_profiles())} profiles"


@case("profiles.get")
def _profiles_get(o: Org) -> str:
    first = ok(pf.ProfilesOperations().get_profiles(ParameterMap()), pf.ResponseWrapper).get_profiles()[0]
    got = ok(pf.ProfilesOperations().get_profile(first.get_id()), pf.ResponseWrapper)
    assert [p.get_id() for p in got.get_profiles()] == [first.get_id()]
    return first.get_name()


@case("territories.list")
def _territories_list(o: Org) -> str:
    got = ok(te.TerritoriesOperations().get_territories(ParameterMap()), te.ResponseWrapper)
    return f"{len(got.get_territories())} territories"


@case("currencies.list")
def _currencies_list(o: Org) -> str:
    got = ok(cur.CurrenciesOperations().get_currencies(), cur.ResponseWrapper)
    home = [c for c in got.get_currencies() if c.get_is_base()]
    assert len(home) == 1
    return f"home currency {home[0].get_iso_code()}"


@case("custom_views.list")
def _custom_views_list(o: Org) -> str:
    got = ok(cv.CustomViewsOperations().get_custom_views(params(cvs__module="Leads")), cv.ResponseWrapper)
    return f"{len(got.get_custom_views())} views"


@case("custom_views.get")
def _custom_views_get(o: Org) -> str:
    first = ok(cv.CustomViewsOperations().get_custom_views(params(cvs__module="Leads")),
               cv.ResponseWrapper).get_custom_views()[0]
    got = ok(cv.CustomViewsOperations().get_custom_view(first.get_id(), params(cv__module="Leads")),
             cv.ResponseWrapper)
    assert [v.get_id() for v in got.get_custom_views()] == [first.get_id()]
    return first.get_name()


@case("layouts.list")
def _layouts_list(o: Org) -> str:
    got = ok(ly.LayoutsOperations().get_layouts(params(layouts__module="Invoices")), ly.ResponseWrapper)
    return f"{len(got.get_layouts())} layouts"


@case("layouts.get")
def _layouts_get(o: Org) -> str:
    first = ok(ly.LayoutsOperations().get_layouts(params(layouts__module="Invoices")),
               ly.ResponseWrapper).get_layouts()[0]
    got = ok(ly.LayoutsOperations().get_layout(first.get_id(), params(layout__module="Invoices")),
             ly.ResponseWrapper)
    assert [x.get_id() for x in got.get_layouts()] == [first.get_id()]
    return first.get_name()


@case("modules.list")
def _modules_list(o: Org) -> str:
    got = ok(md.ModulesOperations().get_modules(ParameterMap(), HeaderMap()), md.ResponseWrapper)
    names = {m.get_api_name() for m in got.get_modules()}
    assert {"Notes", "Quoted_Items", "Invoices", "Campaigns"} <= names
    return f"{len(names)} modules"


@case("modules.get")
def _modules_get(o: Org) -> str:
    got = ok(md.ModulesOperations().get_module_by_api_name("Price_Books"), md.ResponseWrapper)
    assert [m.get_api_name() for m in got.get_modules()] == ["Price_Books"]
    return "Price_Books"


@case("related_lists.list")
def _related_lists_list(o: Org) -> str:
    got = ok(rl.RelatedListsOperations().get_related_lists(params(rls__module="Deals")), rl.ResponseWrapper)
    names = {r.get_api_name() for r in got.get_related_lists()}
    assert "Stage_History" in names, names
    return f"{len(names)} related lists"


@case("stage_history.get")
def _stage_history(o: Org) -> str:
    deal = o.first_id("Deals")
    got = ok(rr.RelatedRecordsOperations("Stage_History", "Deals").get_related_records(
        deal, params(related__fields="Stage,Amount,Modified_Time")), rr.ResponseWrapper)
    assert got.get_data()
    return f"{len(got.get_data())} stages"


# ---- bulk and COQL -----------------------------------------------------------------------------------


def _wait(poll: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    for _ in range(200):
        got = poll()
        if done(got):
            return got
        time.sleep(0.05)
    raise AssertionError("the bulk job did not finish")


@case("bulk_read.run")
def _bulk_read(o: Org) -> str:
    module = md.MinifiedModule()
    module.set_api_name("Calls")
    query = br.Query()
    query.set_module(module)
    query.set_fields(["Subject", "Call_Type", "Call_Start_Time"])
    body = br.BodyWrapper()
    body.set_query(query)
    body.set_file_type("csv")
    job = success(br.BulkReadOperations().create_bulk_read_job(body), br.ActionWrapper)[0]
    job_id = int(job["id"])
    ops = br.BulkReadOperations()
    _wait(lambda: ok(ops.get_bulk_read_job_details(job_id), br.ResponseWrapper).get_data()[0],
          lambda d: d.get_state().get_value() == "COMPLETED")
    got = ok(ops.download_result(job_id), br.FileBodyWrapper)
    with zipfile.ZipFile(io.BytesIO(b"".join(got.get_file().get_stream()))) as z:
        text = z.read(z.namelist()[0]).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "Subject", "Call_Type", "Call_Start_Time"], rows[0]
    assert {r[0] for r in rows[1:]} == {c["id"] for c in o.z.export("Calls")}
    return f"{len(rows) - 1} calls in the zip"


@case("bulk_write.run")
def _bulk_write(o: Org) -> str:
    csv_text = "Product_Name,Unit_Price\nSDK bulk one,1.50\nSDK bulk two,2.50\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("products.csv", csv_text)
    upload = bw.FileBodyWrapper()
    upload.set_file(o.file("products.zip", buf.getvalue()))
    headers = HeaderMap()
    headers.add(bw.UploadFileHeader.feature, "bulk-write")
    headers.add(bw.UploadFileHeader.x_crm_org, str(o.z.get("/org").json()["org"][0]["zgid"]))
    uploaded = ok(bw.BulkWriteOperations().upload_file(upload, headers), bw.SuccessResponse)
    file_id = str(uploaded.get_details()["file_id"])
    mappings = []
    for i, name in enumerate(["Product_Name", "Unit_Price"]):
        m = bw.FieldMapping()
        m.set_api_name(name)
        m.set_index(i)
        mappings.append(m)
    module = md.MinifiedModule()
    module.set_api_name("Products")
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module(module)
    resource.set_file_id(file_id)
    resource.set_field_mappings(mappings)
    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    request.set_resource([resource])
    created = ok(bw.BulkWriteOperations().create_bulk_write_job(request), bw.SuccessResponse)
    job_id = str(created.get_details()["id"])
    ops = bw.BulkWriteOperations()
    job = _wait(lambda: ok(ops.get_bulk_write_job_details(job_id), bw.BulkWriteResponse),
                lambda d: d.get_status() == "COMPLETED")
    url = job.get_result().get_download_url()
    got = ok(ops.download_bulk_write_result(url), bw.FileBodyWrapper)
    with zipfile.ZipFile(io.BytesIO(b"".join(got.get_file().get_stream()))) as z:
        result = z.read(z.namelist()[0]).decode()
    assert len(re.findall(r"ADDED", result)) == 2, result
    return "2 rows ADDED"


@case("coql.query")
def _coql(o: Org) -> str:
    body = cq.BodyWrapper()
    body.set_select_query("select Subject, Grand_Total from Sales_Orders where Grand_Total > 0 limit 5")
    got = ok(cq.CoqlOperations().get_records(body), cq.ResponseWrapper)
    assert 0 < len(got.get_data()) <= 5
    return f"{len(got.get_data())} sales orders"


# ---- the table ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org(sdk_org: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Org:
    return Org(sdk_org, tmp_path_factory.mktemp("sdk-uploads"))  # one plain client (one token) for the module: Zoho mints 10 tokens per 10 minutes


@pytest.mark.parametrize("operation", list(CASES))
def test_sdk_operation(org: Org, operation: str) -> None:
    result = CASES[operation](org)
    assert result


def test_the_docstring_lists_every_case() -> None:
    listed = re.findall(r"^\| ([a-z_]+\.[a-z_]+) \|", __doc__ or "", re.MULTILINE)
    assert listed == list(CASES)

