"""Comparing a whole org's export with the export of its copy in another org (test_whole_org_roundtrip).

Each side is read through the connector's own source for its URL (``parquet:`` or ``duckdb:``),
so the check sees what a user of either export sees. First the tally the acceptance counts —
records, attachments, file-field files, record photos, campaign members, contact roles and price
books' products lost or duplicated —
then every exact comparison: rows through :func:`assert_copied`, what it leaves aside (tags,
meeting participants, each line item's order, the totals Zoho computes), and every file on disk
hashed again against the SHA-256 its table records.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.schema.org_tables import read_only_reason
from connector.schema.types import TableSchema
from connector.sync import open_source

from .roundtrip import assert_copied

ORDERS = {"Quoted_Items": "Quotes", "Ordered_Items": "Sales_Orders", "Purchase_Items": "Purchase_Orders",
          "Invoiced_Items": "Invoices"}
#: what Zoho computes on an order from its lines (read-only, so assert_copied leaves them aside)
ORDER_TOTALS = ("Sub_Total", "Tax", "Grand_Total")
FILE_TYPES = ("fileupload", "imageupload")
Key = tuple[Any, ...]
Maps = dict[str, dict[str, str]]


class Export:
    """One org's export: its tables (read once) and its files."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.source = open_source(url)
        self._tables: dict[str, pa.Table] = {}

    def modules(self) -> list[str]:
        return sorted(self.source.modules())

    def read(self, module: str) -> pa.Table:
        if module not in self._tables:
            schema = self.source.schema(module)
            self._tables[module] = pa.Table.from_batches(list(self.source.read(module)), schema=schema)
        return self._tables[module]

    def ids(self, module: str) -> set[str]:
        return set(self.read(module).column("id").to_pylist())

    def hashed(self, path: str) -> tuple[int, str]:
        """Size and SHA-256 of a file the export wrote, by the path its table gives."""
        digest, size = hashlib.sha256(), 0
        with self.source.open_file(path) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def close(self) -> None:
        self.source.close()


def _file_columns(ts: TableSchema) -> list[str]:
    return [c.name for c in ts.columns if (f := ts.fields.get(c.field)) is not None and f.data_type in FILE_TYPES
            and c.part == "value"]


def _photo_column(ts: TableSchema) -> str | None:
    """The record photo column (``Record_Image``), whose file the export describes in ``<it>_Path/_Size/_SHA256``."""
    return next((c.name for c in ts.columns if (f := ts.fields.get(c.field)) is not None
                 and f.data_type == "profileimage" and c.part == "value"), None)


def _parent(maps: Maps, module: Any, source_id: Any) -> str | None:
    return maps.get(str(module), {}).get(str(source_id)) if source_id else None


def children(a: Export, b: Export, maps: Maps, schemas: dict[str, TableSchema],
             samples: dict[str, set[str]]) -> dict[str, tuple[Counter[Key], Counter[Key]]]:
    """Per kind of child: A's (re-pointed through the map) and B's, each a multiset of what must travel."""
    def attachments(side: Export, remap: bool) -> Counter[Key]:
        out: Counter[Key] = Counter()
        for r in side.read("Attachments").to_pylist():
            parent = _parent(maps, r["Parent_Id_Module"], r["Parent_Id_Id"]) if remap else r["Parent_Id_Id"]
            out[(parent, r["File_Name"], r["File_SHA256"] or r["Link_URL"], r["File_Size"])] += 1
        return out

    def files(side: Export, remap: bool) -> Counter[Key]:
        out: Counter[Key] = Counter()
        for module, ts in schemas.items():
            cols = _file_columns(ts)
            for r in side.read(module).to_pylist() if cols else []:
                owner = maps.get(module, {}).get(r["id"]) if remap else r["id"]
                if not remap and r["id"] in samples[module]:
                    continue
                for col in cols:
                    for e in json.loads(r[col] or "[]"):
                        out[(module, owner, col, e["File_Name__s"], e["$sha256"], e["$size"])] += 1
        return out

    def photos(side: Export, remap: bool) -> Counter[Key]:
        out: Counter[Key] = Counter()
        for module, ts in schemas.items():
            col = _photo_column(ts)
            for r in side.read(module).to_pylist() if col else []:
                if not remap and r["id"] in samples[module]:
                    continue
                if r.get(f"{col}_SHA256"):
                    owner = maps.get(module, {}).get(r["id"]) if remap else r["id"]
                    out[(module, owner, r[f"{col}_SHA256"], r[f"{col}_Size"])] += 1
        return out

    members = [Counter((_parent(maps, "Campaigns", r["Campaign_Id"]), r["Member_Module"],
                        _parent(maps, r["Member_Module"], r["Member_Id"]), r["Member_Status"])
                       for r in a.read("_Campaign_Members").to_pylist()),
               Counter((r["Campaign_Id"], r["Member_Module"], r["Member_Id"], r["Member_Status"])
                       for r in b.read("_Campaign_Members").to_pylist())]
    roles = [Counter((_parent(maps, "Deals", r["Deal_Id"]), _parent(maps, "Contacts", r["Contact_Id"]),
                      r["Contact_Role"]) for r in a.read("_Contact_Roles").to_pylist()),
             Counter((r["Deal_Id"], r["Contact_Id"], r["Contact_Role"]) for r in b.read("_Contact_Roles").to_pylist())]
    prices = [Counter((_parent(maps, "Price_Books", r["Price_Book_Id"]), _parent(maps, "Products", r["Product_Id"]),
                       r["List_Price"]) for r in a.read("_Price_Book_Products").to_pylist()),
              Counter((r["Price_Book_Id"], r["Product_Id"], r["List_Price"])
                      for r in b.read("_Price_Book_Products").to_pylist())]
    return {"attachments": (attachments(a, True), attachments(b, False)),
            "file_field_files": (files(a, True), files(b, False)), "photos": (photos(a, True), photos(b, False)),
            "members": (members[0], members[1]), "roles": (roles[0], roles[1]), "prices": (prices[0], prices[1])}


def tally(a: Export, b: Export, maps: Maps, samples: dict[str, set[str]],
          kids: dict[str, tuple[Counter[Key], Counter[Key]]]) -> tuple[int, int]:
    """Records and children lost (in A, not once in B) and duplicated (in B more than once, or unexplained)."""
    lost = duplicated = 0
    for module, sample in samples.items():
        pairs = maps.get(module, {})
        ids_b = b.read(module).column("id").to_pylist()
        copies = set(ids_b) - sample
        targets = {pairs[s] for s in a.ids(module) if s in pairs}
        lost += len(a.ids(module) - pairs.keys()) + len(targets - copies)
        duplicated += len(copies - targets) + len(pairs) - len(set(pairs.values())) + len(ids_b) - len(set(ids_b))
    for want, got in kids.values():
        lost += sum((want - got).values())
        duplicated += sum((got - want).values())
    return lost, duplicated


def _totals(module: str, ts: TableSchema) -> list[str]:
    if module in ORDERS.values():
        return [n for n in ORDER_TOTALS if n in ts.by_name]
    if module in ORDERS:  # Total, Total_After_Discount, Net_Total
        return [c.name for c in ts.columns if c.part == "value" and (f := ts.fields.get(c.field)) is not None
                and f.data_type == "formula"]
    return []


def assert_followed(a: Export, b: Export, maps: Maps, schemas: dict[str, TableSchema], checked: Counter[str]) -> None:
    """What assert_copied leaves aside: tags (read-only in the metadata, written with the record),
    meeting participants (records by id, re-pointed), each line item's order, and the totals Zoho
    computes (line totals are formulas; an order's sums come from its lines)."""
    for module, ts in schemas.items():
        b_rows = {r["id"]: r for r in b.read(module).to_pylist()}
        pairs = maps.get(module, {})
        tag = next((c.name for c in ts.columns if c.value_type == "tag"), None)
        people = [c.name for c in ts.columns if (f := ts.fields.get(c.field)) is not None
                  and f.data_type == "participants"]
        totals = _totals(module, ts)
        for ar in a.read(module).to_pylist():
            if ar["id"] not in pairs:
                continue
            br = b_rows[pairs[ar["id"]]]
            if tag:
                assert sorted(ar[tag] or []) == sorted(br[tag] or []), (module, ar["id"], ar[tag], br[tag])
                checked["tags"] += len(ar[tag] or [])
            for name in people:
                want = sorted((e["type"], maps.get({"contact": "Contacts", "lead": "Leads"}.get(e["type"], ""), {})
                               .get(e["participant"], e["participant"]), e["invited"])
                              for e in json.loads(ar[name] or "[]"))
                got = sorted((e["type"], e["participant"], e["invited"]) for e in json.loads(br[name] or "[]"))
                assert got == want, (module, ar["id"], name)
                checked["participants"] += len(want)
            for name in totals:
                assert ar[name] == br[name], f"{module}.{name} of {ar['id']}: {ar[name]!r} != {br[name]!r}"
                checked["totals"] += 1
            if module in ORDERS:
                assert br["Parent_Id_Id"] == maps[ORDERS[module]][ar["Parent_Id_Id"]], (module, ar["id"])
                checked["lines"] += 1


def verify_files(side: Export, schemas: dict[str, TableSchema]) -> int:
    """Every file the export's tables name is on disk with the size and SHA-256 they record."""
    n = 0
    for r in side.read("Attachments").to_pylist():
        if r["File_Path"]:
            assert side.hashed(r["File_Path"]) == (r["File_Size"], r["File_SHA256"]), (side.url, r["File_Path"])
            n += 1
    for module, ts in schemas.items():
        cols = _file_columns(ts)
        photo = _photo_column(ts)
        for r in side.read(module).to_pylist() if cols or photo else []:
            for e in (e for col in cols for e in json.loads(r[col] or "[]")):
                assert side.hashed(e["$path"]) == (e["$size"], e["$sha256"]), (side.url, e["$path"])
                n += 1
            if photo and r.get(f"{photo}_Path"):
                want = (r[f"{photo}_Size"], r[f"{photo}_SHA256"])
                assert side.hashed(r[f"{photo}_Path"]) == want, (side.url, r[f"{photo}_Path"])
                n += 1
    return n


def compare(a: Export, b: Export, maps: Maps, samples: dict[str, set[str]], schemas: dict[str, TableSchema],
            report: dict[str, Any]) -> dict[str, Any]:
    """The tally into ``report`` (lost, duplicated), then every exact check; what was checked, counted."""
    kids = children(a, b, maps, schemas, samples)
    report["lost"], report["duplicated"] = tally(a, b, maps, samples, kids)
    checked: Counter[str] = Counter()
    live_a = {m: a.ids(m) for m in samples}
    live_b = {m: b.ids(m) for m in samples}
    for module, ts in schemas.items():
        if read_only_reason(ts) is not None:
            continue
        copy = b.read(module)
        made = pa.array(sorted(live_b[module] - samples[module]), pa.string())
        # B's sample records are still there, untouched; everything else is a copy of one of A's
        assert samples[module] <= live_b[module], module
        assert_copied(ts, a.read(module), copy.filter(pc.is_in(copy.column("id"), made)), maps, live_a, live_b)
        checked["records"] += len(live_a[module])
    assert_followed(a, b, maps, schemas, checked)
    for name, (want, got) in kids.items():
        assert None not in {k[0] for k in want} and \
            None not in {k[1] for k in want if name in ("file_field_files", "photos")}, \
            f"{name}: a parent was not migrated"
        assert got == want, f"{name}: {sum((want - got).values())} lost, {sum((got - want).values())} duplicated"
        checked[name] = sum(want.values())
    checked["files_hashed"] = verify_files(a, schemas) + verify_files(b, schemas)
    report["checked"] = dict(checked)
    return {"records_compared": checked["records"], "files_hashed": checked["files_hashed"]}
