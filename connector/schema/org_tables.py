"""Tables that are not Zoho modules: the org's metadata, its deletions and Deals' stage history.

Every name starts with ``_``. Zoho api names start with a letter, so none of
these can collide with a module (``Users`` is Zoho's own api name for users,
hence ``_Users``); SQL reads them like modules (``SELECT * FROM _Fields WHERE
module = 'Leads'``, ``zoho._Users`` once attached to DuckDB) and they are
read-only. Each is read from its endpoint whole (one call, or one per module
or parent record) and converted to a fixed schema; DuckDB filters the rows,
except that an equality or ``IN`` on a table's key column (``module``,
``Deal_Id``) limits the calls to those modules or deals.

| table | endpoint | one row per |
|---|---|---|
| ``_Users`` | ``GET /users?type=AllUsers`` | user |
| ``_Roles`` / ``_Profiles`` / ``_Territories`` | ``/settings/roles`` ... | role, profile, territory |
| ``_Currencies`` | ``GET /org/currencies`` | currency |
| ``_Modules`` | ``GET /settings/modules`` | module (with the APIs that read it) |
| ``_Fields`` | ``GET /settings/fields?module=`` per module | field (with the columns it becomes) |
| ``_Layouts`` / ``_Custom_Views`` / ``_Related_Lists`` / ``_Tags`` | ``/settings/...?module=`` | one per module |
| ``_Deleted_Records`` | ``GET /{module}/deleted?type=all`` per module | recycle-bin or permanently deleted record |
| ``_Stage_History`` | ``GET /Deals/{id}/Stage_History`` per deal | stage a deal went through |
| ``_Campaign_Members`` | ``GET /Campaigns/{id}/Leads`` and ``/Contacts`` per campaign | member, with its status |
| ``_Contact_Roles`` | ``GET /Deals/{id}/Contact_Roles`` per deal | contact of a deal, with its role |
| ``_Price_Book_Products`` | ``GET /Price_Books/{id}/Products`` per price book | product of a price book, with its list price |
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .access import METADATA, PER_PARENT, PER_PARENT_MODULES
from .types import TIMESTAMP, Column, TableSchema

S, B, INT, TS = pa.string(), pa.bool_(), pa.int64(), TIMESTAMP
LIST = pa.list_(pa.string())


@dataclass(frozen=True)
class OrgColumn:
    name: str
    arrow: pa.DataType
    #: where the value is in one answer object: keys, ``*`` for "each item of a list" (list columns);
    #: ``@module`` is the module the object was read for
    path: tuple[str, ...]


def col(name: str, arrow: pa.DataType = S, path: str | None = None) -> OrgColumn:
    return OrgColumn(name, arrow, tuple((path or name).split(".")))


USER_REF = ("created_by", "modified_by")


def stamps(created: str = "created_time", modified: str = "modified_time") -> list[OrgColumn]:
    return [col("created_time", TS, created), col("modified_time", TS, modified)]


@dataclass(frozen=True)
class OrgTable:
    name: str
    #: the endpoint (``{module}``/``{id}`` filled in per module or parent) and the answer's list key
    path: str
    key: str
    columns: tuple[OrgColumn, ...]
    #: "org" (one call), "module" (one per module), "parent" (one per record of ``parent``)
    scope: str = "org"
    params: tuple[tuple[str, str], ...] = ()
    parent: str | None = None
    #: the column whose equality/IN limits the calls (a module name, a parent id)
    key_column: str | None = None
    doc: str = ""
    paged: bool = False
    #: which modules a per-module table asks: "all", "records" (not Attachments), "tagged" (top-level
    #: modules COQL reads: Zoho keeps no tags for Notes, line items or linking modules)
    modules: str = "all"
    #: per-parent tables: the parent's related lists read (``{related}`` in ``path``)
    related: tuple[str, ...] = ()
    #: record data rather than settings: part of a whole-org migration (no ``--modules``)
    migrated: bool = False
    #: what to do instead of writing to the table (settings tables: change them in Zoho's setup)
    instead: str = ""

    def schema(self) -> TableSchema:
        cols = [Column(c.name, c.name, "value", "org", c.arrow) for c in self.columns]
        return TableSchema(self.name, {}, cols, None, "metadata", [], METADATA)


def _module() -> OrgColumn:
    return col("module", S, "@module")


TABLES: tuple[OrgTable, ...] = (
    OrgTable("_Users", "/users", "users", (
        col("id"), col("zuid"), col("full_name"), col("first_name"), col("last_name"), col("email"), col("status"),
        col("confirm", B), col("category"), col("role_id", S, "role.id"), col("role_name", S, "role.name"),
        col("profile_id", S, "profile.id"), col("profile_name", S, "profile.name"),
        col("reporting_to_id", S, "Reporting_To.id"), col("time_zone"), col("locale"), col("language"),
        col("country_locale"), *stamps("created_time", "Modified_Time")),
        params=(("type", "AllUsers"),), paged=True, doc="every user, active or not"),
    OrgTable("_Roles", "/settings/roles", "roles", (
        col("id"), col("name"), col("display_label"), col("description"),
        col("reporting_to_id", S, "reporting_to.id"), col("reporting_to_name", S, "reporting_to.name"),
        col("share_with_peers", B), col("admin_user", B), *stamps("created_time__s", "modified_time__s")),
        doc="the role hierarchy"),
    OrgTable("_Profiles", "/settings/profiles", "profiles", (
        col("id"), col("name"), col("display_label"), col("description"), col("type"), col("permission_type"),
        col("default", B), col("custom", B), *stamps()), doc="permission profiles"),
    OrgTable("_Territories", "/settings/territories", "territories", (
        col("id"), col("name"), col("description"), col("parent_id", S, "parent_id.id"),
        col("manager_id", S, "manager.id"), col("manager_name", S, "manager.name"), col("permission_type"),
        col("account_rule_criteria"), col("deal_rule_criteria"), *stamps()), paged=True, doc="sales territories"),
    OrgTable("_Currencies", "/org/currencies", "currencies", (
        col("id"), col("iso_code"), col("name"), col("symbol"), col("exchange_rate", pa.decimal128(18, 9)),
        col("is_base", B), col("is_active", B), col("prefix_symbol", B),
        col("decimal_places", INT, "format.decimal_places"), col("decimal_separator", S, "format.decimal_separator"),
        col("thousand_separator", S, "format.thousand_separator"), *stamps()), doc="the home and other currencies"),
    OrgTable("_Modules", "/settings/modules", "modules", (
        col("id"), col("api_name"), col("module_name"), col("singular_label"), col("plural_label"),
        col("generated_type"), col("parent_module", S, "parent_module.api_name"),
        col("display_field", S, "display_field.api_name"), col("api_supported", B), col("creatable", B),
        col("editable", B), col("deletable", B), col("viewable", B), col("visible", B), col("status"),
        col("read_apis", LIST, "@read_apis"), col("modified_time", TS)),
        doc="every module, with the APIs the connector reads it through"),
    OrgTable("_Fields", "/settings/fields", "fields", (
        _module(), col("id"), col("api_name"), col("field_label"), col("data_type"), col("json_type"),
        col("length", INT), col("decimal_place", INT), col("read_only", B), col("system_mandatory", B),
        col("custom_field", B), col("visible", B), col("searchable", B),
        col("lookup_module", S, "lookup.module.api_name"), col("lookup_modules", LIST, "lookup.modules.*.api_name"),
        col("picklist_values", LIST, "pick_list_values.*.actual_value"),
        col("formula_return_type", S, "formula.return_type"), col("columns", LIST, "@columns")),
        scope="module", key_column="module", doc="every field of every module, with the columns it becomes"),
    OrgTable("_Layouts", "/settings/layouts", "layouts", (
        _module(), col("id"), col("name"), col("display_label"), col("api_name"), col("status"), col("visible", B),
        col("source"), col("mode"), col("profiles", LIST, "profiles.*.name"), col("sections"), *stamps()),
        scope="module", key_column="module", modules="records", doc="layouts per module, sections as JSON text"),
    OrgTable("_Custom_Views", "/settings/custom_views", "custom_views", (
        _module(), col("id"), col("name"), col("display_value"), col("system_name"), col("category"),
        col("default", B), col("system_defined", B), col("locked", B), col("access_type"), col("sort_by"),
        col("sort_order"), col("criteria"), col("fields", LIST, "fields.*.api_name"), *stamps()),
        scope="module", key_column="module", paged=True, doc="custom views per module, criteria as JSON text"),
    OrgTable("_Related_Lists", "/settings/related_lists", "related_lists", (
        _module(), col("id"), col("api_name"), col("display_label"), col("name"),
        col("related_module", S, "module.api_name"), col("type"), col("href"), col("linking_module", S, "linkingmodule"),
        col("status"), col("sequence_number", INT)),
        scope="module", key_column="module", doc="related lists per module"),
    OrgTable("_Tags", "/settings/tags", "tags", (
        _module(), col("id"), col("name"), col("color_code"), col("created_by_id", S, "created_by.id"),
        col("created_by_name", S, "created_by.name"), *stamps()),
        scope="module", key_column="module", modules="tagged", doc="tags per module"),
    OrgTable("_Deleted_Records", "/{module}/deleted", "data", (
        _module(), col("id"), col("display_name"), col("type"), col("deleted_time", TS),
        col("deleted_by_id", S, "deleted_by.id"), col("deleted_by_name", S, "deleted_by.name"),
        col("created_by_id", S, "created_by.id"), col("created_by_name", S, "created_by.name")),
        scope="module", params=(("type", "all"),), key_column="module", paged=True, modules="records",
        instead="DELETE FROM <module> moves records to the recycle bin; restoring them is done in Zoho",
        doc="the recycle bin and permanently deleted records, with when and by whom"),
    OrgTable("_Stage_History", "/Deals/{id}/Stage_History", "data", (
        col("id"), col("Deal_Id", S, "Deal_Name.id"), col("Deal_Name", S, "Deal_Name.name"), col("Stage"),
        col("Moved_To", S, "Moved_To__s"), col("Amount", pa.decimal128(18, 2)), col("Probability", INT),
        col("Expected_Revenue", pa.decimal128(18, 2)), col("Closing_Date", pa.date32()),
        col("Stage_Duration", INT), col("Modified_By_Id", S, "Modified_By.id"),
        col("Modified_By_Name", S, "Modified_By.name"), col("Modified_Time", TS)),
        scope="parent", parent="Deals", key_column="Deal_Id", paged=True,
        instead="Zoho writes a deal's stage history itself when its Stage changes (UPDATE Deals SET Stage = ...)",
        doc="every stage each deal went through (Zoho's Stage_History related list)"),
    OrgTable("_Campaign_Members", "/Campaigns/{id}/{related}", "data", (
        col("id", S, "@link_key"), col("Campaign_Id", S, "@parent_id"), col("Member_Module", S, "@related"),
        col("Member_Id", S, "id"), col("Member_Name", S, "Full_Name"), col("Email"), col("Member_Status")),
        scope="parent", parent="Campaigns", related=("Leads", "Contacts"), key_column="Campaign_Id", paged=True,
        params=(("fields", "id,Full_Name,Email"),), migrated=True,
        instead="link, re-status or delink members with Zoho's related records API "
                "(PUT/DELETE /Campaigns/{id}/Leads/{lead id})",
        doc="the leads and contacts of each campaign, with their member status (id: campaign id:record id)"),
    OrgTable("_Contact_Roles", "/Deals/{id}/{related}", "data", (
        col("id", S, "@link_key"), col("Deal_Id", S, "@parent_id"), col("Contact_Id", S, "id"),
        col("Contact_Name", S, "Full_Name"), col("Email"), col("Contact_Role", S, "Contact_Role.name"),
        col("Contact_Role_Id", S, "Contact_Role.id")),
        scope="parent", parent="Deals", related=("Contact_Roles",), key_column="Deal_Id", paged=True,
        params=(("fields", "Full_Name,Email"),), migrated=True,
        instead="give a contact a role on a deal, or take it off, with Zoho's contact roles API "
                "(PUT/DELETE /Deals/{id}/Contact_Roles/{contact id})",
        doc="the contacts of each deal with their contact role (id: deal id:contact id)"),
    OrgTable("_Price_Book_Products", "/Price_Books/{id}/{related}", "data", (
        col("id", S, "@link_key"), col("Price_Book_Id", S, "@parent_id"), col("Product_Id", S, "id"),
        col("Product_Name"), col("Product_Code"), col("List_Price", pa.decimal128(18, 2), "list_price")),
        scope="parent", parent="Price_Books", related=("Products",), key_column="Price_Book_Id", paged=True,
        params=(("fields", "Product_Name,Product_Code"),), migrated=True,
        instead="add a product to a price book, re-price it or take it out with Zoho's related records API "
                "(PUT/DELETE /Price_Books/{id}/Products/{product id}, with list_price)",
        doc="the products of each price book with their list price in it (id: price book id:product id)"),
)
BY_NAME = {t.name: t for t in TABLES}

#: the related list each per-parent module is read through, and its parent id / module columns
PER_PARENT_KEYS = {"Attachments": ("Parent_Id_Id", "Parent_Id_Module")}


def org_table(name: str) -> OrgTable | None:
    return BY_NAME.get(name)


def read_only(name: str) -> bool:
    """Whether nothing writes to the table ``name`` (:func:`read_only_reason` says why): known from its name."""
    return name in BY_NAME or name in PER_PARENT_MODULES


def key_columns(ts: TableSchema) -> tuple[str, ...]:
    """The columns whose ``=``/``IN`` values limit a read of this table to fewer calls (none: a module)."""
    spec = BY_NAME.get(ts.module)
    if spec is not None:
        return (spec.key_column,) if spec.key_column else ()
    return PER_PARENT_KEYS.get(ts.module, ())


def read_only_reason(ts: TableSchema) -> tuple[str, str] | None:
    """Why SQL cannot write to this table, and what to do instead (None: a module SQL writes to).

    Metadata, deletions and stage history are the org's settings and history, changed in Zoho's
    setup or by the records themselves; Attachments are files, uploaded through the Attachments API.
    """
    spec = BY_NAME.get(ts.module)
    if spec is not None:
        return (f"{spec.doc}, read from GET {spec.path}",
                spec.instead or "change the org's settings in Zoho (Setup); INSERT, UPDATE and DELETE write to "
                                "record modules (SHOW TABLES lists them; the tables named _X are read-only)")
    if ts.read_apis == PER_PARENT:
        return (f"files listed per record by GET /{{module}}/{{id}}/{ts.module}",
                f"upload or delete {ts.module.lower()} with Zoho's Attachments API "
                f"(POST/DELETE /{{module}}/{{id}}/{ts.module}); notes are written to the Notes table")
    return None


#: what the Attachments API adds to each row beside its fields (``$file_id`` names the bytes to download)
ATTACHMENT_KEYS = (("File_Id", "$file_id"), ("Link_URL", "$link_url"), ("Attachment_Type", "$type"))


def with_attachment_keys(ts: TableSchema) -> TableSchema:
    """The Attachments table: its fields plus the file id, link and kind the Attachments API sends."""
    extra = [Column(name, key, "value", "text", pa.string()) for name, key in ATTACHMENT_KEYS]
    return TableSchema(ts.module, ts.fields, ts.columns + extra, ts.display_field, ts.generated_type, ts.excluded,
                       ts.read_apis)
