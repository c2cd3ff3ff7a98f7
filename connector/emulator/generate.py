"""Deterministic org data, generated column-wise with numpy and Arrow.

The same ``seed`` and sizes give the same org, byte for byte (numpy's PCG64
streams are stable across versions). Generation is vectorized: values are
picked from pools with ``take`` and assembled with Arrow compute kernels, so a
1,000,000-record org takes seconds, not minutes.

The data is deliberately awkward: unicode names, quotes, commas and newlines
in text, leading-zero codes, max-length text, nulls, currency with cents,
multi-select values, lookups that point at real records, converted leads, and
Modified_Time clustered so many records share one second.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .schema import FieldDef, ModuleDef
from .store import Store, id_base, q, stored_columns

GEN_START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
GEN_END = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
CHUNK = 100_000

FIRST = ["Zo\u00eb", "Jos\u00e9", "\u0141ukasz", "Ng\u1ecdc", "Ahmed", "S\u00f8ren", "Anna", "John",
         "Mar\u00eda", "Li", "Priya", "Chlo\u00e9", "Ren\u00e9e", "\u00c6lfred", "Fran\u00e7ois",
         "Olu", "Hiroshi", "Siobh\u00e1n", "Mia", "Ana-Sof\u00eda", "Ji-woo", "Olga", "Tom\u00e1s",
         "Aarav", "Emma", "Noah", "Leilani", "Bj\u00f6rk", "\u0410\u043b\u0435\u043a\u0441\u0435\u0439",
         "\u674e\u534e"]
LAST = ["O'Brien", "M\u00fcller", "Nguy\u1ec5n", "D'Angelo", "van der Berg", "\u00d3 S\u00failleabh\u00e1in",
        "Smith", "Garc\u00eda", "Kowalski", "Tanaka", "Patel", "Johnson", "Okafor", "Dubois",
        "Smith, Jr.", "\u00c5str\u00f6m", "Rossi", "Kim", "Silva", "\u041f\u0435\u0442\u0440\u043e\u0432",
        "\u738b", "Hern\u00e1ndez", "Lef\u00e8vre", "Brown", "Wilson", "\"Doc\" Holliday", "Novak",
        "Yilmaz", "Haddad", "Andersen"]
ASCII_FIRST = ["zoe", "jose", "lukasz", "ngoc", "ahmed", "soren", "anna", "john", "maria", "li", "priya",
               "chloe", "renee", "aelfred", "francois", "olu", "hiroshi", "siobhan", "mia", "anasofia",
               "jiwoo", "olga", "tomas", "aarav", "emma", "noah", "leilani", "bjork", "aleksei", "lihua"]
COMPANIES = ["Acme, Inc.", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises",
             "M\u00fcller & S\u00f6hne GmbH", "Soylent", "Hooli", "Pied Piper", "Vandelay Industries",
             "The \"Best\" Company", "Tyrell Corp", "Cyberdyne Systems", "\u682a\u5f0f\u4f1a\u793e\u30c6\u30b9\u30c8",
             "Oceanic Airlines", "Nakatomi Trading", "Wonka Industries", "Gringotts", "Aperture Science",
             "Ol\u00e1 Ltda.", "Duff Beer, LLC", "Los Pollos Hermanos", "Prestige Worldwide",
             "Kr\u00e1sn\u00e1 s.r.o.", "Sirius Cybernetics", "Bluth Company", "Dunder Mifflin",
             "Zorg Industries", "Massive Dynamic"]
DOMAINS = ["example.com", "example.org", "acme.example", "mail.example", "corp.example.net"]
CITIES = ["S\u00e3o Paulo", "Z\u00fcrich", "M\u00fcnchen", "Krak\u00f3w", "Reykjav\u00edk",
          "\u6771\u4eac", "New York", "Chennai", "Lagos", "Paris", "Berlin", "Toronto", "Sydney",
          "Bengaluru", "Austin", "Dublin", "Montr\u00e9al", "Seoul", "Mexico City", "Cape Town"]
STATES = ["CA", "NY", "TX", "Bavaria", "\u00cele-de-France", "Karnataka", "Ontario", "NSW", "Tamil Nadu",
          "Z\u00fcrich", "WA", "MA"]
COUNTRIES = ["United States", "Germany", "India", "Brazil", "Japan", "France", "Canada", "Australia",
             "Switzerland", "Nigeria", "Ireland", "C\u00f4te d'Ivoire", "South Korea", "Mexico",
             "United Kingdom", "Poland"]
STREETS = ["12 Main St", "221B Baker Street", "Apt. 4, 17 Elm Road", "1600 Amphitheatre Pkwy",
           "Stra\u00dfe des 17. Juni 135", "Rua Augusta, 1500", "7 Chome-1 Nishishinjuku",
           "#42, 3rd Cross, Indiranagar", "350 Fifth Avenue; Floor 21", "Calle \"Mayor\" 3"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Data", "Data Engineer", "Procurement Manager",
          "Directeur g\u00e9n\u00e9ral", "Purchasing, EMEA", "Office Manager", "Analyst"]
DEPARTMENTS = ["Sales", "IT", "Finance", "Operations", "R&D", "Marketing", "Legal"]
PRODUCTS = ["CRM rollout", "Data migration", "Support plan", "Licenses (50 seats)", "Analytics add-on",
            "Renewal 2025", "Pilot, phase 2", "Onboarding \u00e9quipe"]
NEXT_STEPS = ["Send proposal", "Call back Monday", "Demo, then pricing", "Waiting on legal", "Follow up"]
TASK_SUBJECTS = ["Call back", "Send contract", "Prepare demo", "Email \"pricing\" sheet", "Review SOW",
                 "Follow up, again", "Kick-off meeting", "Renewal check"]
PROJECT_NAMES = ["Apollo", "Borealis", "Cobalt", "Delta Migration", "\u00c9clair", "Fjord", "Gemini",
                 "Helios, phase 2", "Ivy", "Juniper"]
MILESTONES = ["Design", "Build", "Test", "Go-live", "Hypercare", "Sign-off"]
DESCRIPTIONS = [
    "Met at the trade show.\nInterested in the \"Enterprise\" plan, wants a quote by Friday.",
    "Line one\nLine two, with a comma\nLine three; with a semicolon",
    "Prefers email. Do not call before 10:00 (CET).",
    "Caf\u00e9 owner \u2014 na\u00efve questions welcome \u2615",
    "=SUM(A1:A3) looks like a formula but is text",
    "Tab\tseparated\tnotes",
    "Quotes: 'single' and \"double\" and \u201ccurly\u201d",
    "\u8cc7\u6599\u79fb\u884c\u306e\u4ef6\u3067\u9023\u7d61\u3002",
]
RICH_TEXT = ["<p>Kick-off <b>done</b>.</p>", "<div>Risks:<ul><li>scope</li><li>data, quality</li></ul></div>",
             "<p>Budget &amp; timeline agreed</p>"]
PHONES = ["+1 555 0100", "(555) 010-1234", "+44 20 7946 0958", "+91 98765 43210", "+49 30 901820",
          "555.010.9999", "+55 11 91234-5678", "+81 3-1234-5678"]
WEBSITES = ["https://www.acme.example", "http://globex.example.com", "https://initech.example/about",
            "https://xn--mller-kva.example", "www.hooli.example"]


@dataclass
class GenContext:
    rng: np.random.Generator
    n: int
    offset: int  # index of the first row of this chunk inside the module
    module: ModuleDef
    sizes: dict[str, int]
    created: np.ndarray  # epoch seconds
    modified: np.ndarray


def module_sizes(records: int, overrides: dict[str, int] | None = None) -> dict[str, int]:
    sizes = {m.api_name: max(3, int(round(records * m.share))) for m in schema.MODULES}
    if overrides:
        unknown = set(overrides) - set(sizes)
        if unknown:
            raise ValueError(f"unknown module(s) in sizes: {sorted(unknown)}")
        sizes.update(overrides)
    # An empty module (a new org has no Deals yet) leaves the subform and linking rows that must
    # point at one of its records with nothing to point at: they are empty too.
    changed = True
    while changed:
        changed = False
        for m in schema.MODULES:
            needs = [f.lookup for f in m.fields if f.mandatory and f.lookup in sizes and f.lookup != m.api_name]
            empty = [t for t in needs if t is not None and sizes[t] == 0]
            if empty and sizes[m.api_name] > 0:
                if overrides and overrides.get(m.api_name):
                    raise ValueError(f"{m.api_name} records need {empty[0]} records (a mandatory lookup); "
                                     f"give {empty[0]} a size above 0 or {m.api_name} a size of 0")
                sizes[m.api_name] = 0
                changed = True
    return sizes


def _pool(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(ctx: GenContext, pool: list[str]) -> pa.Array:
    return _pool(pool).take(pa.array(ctx.rng.integers(0, len(pool), ctx.n)))


def _ids(target: str, ctx: GenContext, k: np.ndarray | None = None) -> pa.Array:
    size = ctx.sizes[target]
    if size == 0 and k is None:
        return pa.nulls(ctx.n, pa.int64())  # an empty module: the lookup stays empty
    idx = ctx.rng.integers(1, size + 1, ctx.n) if k is None else k
    return pa.array(id_base(schema.MODULES_BY_NAME[target]) + idx, pa.int64())


def _row_index(ctx: GenContext) -> np.ndarray:
    return np.arange(ctx.offset, ctx.offset + ctx.n, dtype=np.int64)


def _str_index(ctx: GenContext, width: int = 0) -> pa.Array:
    s = pc.cast(pa.array(_row_index(ctx) + 1), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64"), pa.timestamp("s")).cast(pa.timestamp("us"))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.date32())


def _json_pool(ctx: GenContext, docs: list[object]) -> pa.Array:
    return _pick(ctx, [json.dumps(d, ensure_ascii=False) for d in docs])


def _multi(ctx: GenContext, values: tuple[str, ...]) -> pa.Array:
    p = len(values)
    masks = ctx.rng.integers(1, 2 ** min(p, 4), ctx.n)  # 1-4 of the first values, realistic spread
    shift = ctx.rng.integers(0, max(1, p - 3), ctx.n)
    bits = ((masks[:, None] >> np.arange(4)) & 1).astype(bool)
    rows, cols = np.nonzero(bits)
    cols = (cols + shift[rows]) % p
    counts = bits.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype("int32")
    return pa.ListArray.from_arrays(pa.array(offsets), _pool(list(values)).take(pa.array(cols)))


def _money(ctx: GenContext, low: int, high: int) -> pa.Array:
    cents = ctx.rng.integers(low * 100, high * 100, ctx.n)
    return pa.array(np.round(cents / 100.0, 2))


def _gen_created(ctx: GenContext) -> tuple[np.ndarray, np.ndarray]:
    rng = ctx.rng
    created = rng.integers(GEN_START, GEN_END - 86_400, ctx.n)
    # Many records share one Modified_Time second (imports, mass updates): the boundary case
    # every incremental sync must get right.
    burst_pool = rng.integers(GEN_START + 86_400 * 30, GEN_END, max(5, ctx.n // 40))
    modified = created + rng.integers(0, 86_400 * 90, ctx.n)
    burst = rng.random(ctx.n) < 0.35
    modified = np.where(burst, np.maximum(created, burst_pool[rng.integers(0, len(burst_pool), ctx.n)]),
                        modified)
    return created, np.minimum(modified, GEN_END)


Gen = Callable[[GenContext, FieldDef], pa.Array]


def _full_name(ctx: GenContext, cols: dict[str, pa.Array]) -> pa.Array:
    first = cols.get("First_Name")
    last = cols["Last_Name"]
    if first is None:
        return last
    joined = pc.binary_join_element_wise(first, last, " ")
    return pc.if_else(pc.is_null(first), last, joined)


def _email(ctx: GenContext, f: FieldDef) -> pa.Array:
    first = _pick(ctx, ASCII_FIRST)
    dom = _pick(ctx, DOMAINS)
    tag = "" if f.api_name == "Email" else "alt."
    local = pc.binary_join_element_wise(first, pa.scalar(ctx.module.api_name[:1].lower() + tag),
                                        _str_index(ctx), "")
    return pc.binary_join_element_wise(local, dom, "@")


def _max_text(ctx: GenContext, f: FieldDef) -> pa.Array:
    length = f.length or 255
    unit = "\u00e9t\u00e9 \u2014 long note, with commas; \"quotes\"\nand lines. "
    full = (unit * (length // len(unit) + 1))[:length]
    half = full[: length // 2]
    return _pick(ctx, [full, half, "short"])


GENERATORS: dict[str, Gen] = {
    "first_name": lambda c, f: _pick(c, FIRST),
    "last_name": lambda c, f: _pick(c, LAST),
    "company": lambda c, f: _pick(c, COMPANIES),
    "company_unique": lambda c, f: pc.binary_join_element_wise(_pick(c, COMPANIES), _str_index(c, 5), " "),
    "email": _email,
    "email2": _email,
    "phone": lambda c, f: _pick(c, PHONES),
    "website": lambda c, f: _pick(c, WEBSITES),
    "zip": lambda c, f: pc.utf8_lpad(pc.cast(pa.array(c.rng.integers(0, 99_999, c.n)), pa.string()), 5, "0"),
    "city": lambda c, f: _pick(c, CITIES),
    "state": lambda c, f: _pick(c, STATES),
    "country": lambda c, f: _pick(c, COUNTRIES),
    "street": lambda c, f: _pick(c, STREETS),
    "title": lambda c, f: _pick(c, TITLES),
    "department": lambda c, f: _pick(c, DEPARTMENTS),
    "description": lambda c, f: _pick(c, DESCRIPTIONS),
    "rich_text": lambda c, f: _pick(c, RICH_TEXT),
    "max_text": _max_text,
    "ticker": lambda c, f: _pick(c, ["ACME", "GLBX", "INIT", "HOOL", "TYRL"]),
    "deal_name": lambda c, f: pc.binary_join_element_wise(_pick(c, COMPANIES), _pick(c, PRODUCTS), " \u2013 "),
    "next_step": lambda c, f: _pick(c, NEXT_STEPS),
    "task_subject": lambda c, f: _pick(c, TASK_SUBJECTS),
    "project_name": lambda c, f: pc.binary_join_element_wise(_pick(c, PROJECT_NAMES), _str_index(c), " #"),
    "milestone": lambda c, f: _pick(c, MILESTONES),
    "external_ref": lambda c, f: _str_index(c, 10),
    "revenue": lambda c, f: _money(c, 10_000, 500_000_000),
    "money": lambda c, f: _money(c, 0, 2_000_000),
    "deal_amount": lambda c, f: _money(c, 500, 3_000_000),
    "employees": lambda c, f: pa.array(c.rng.integers(1, 250_000, c.n).astype("int32")),
    "sic": lambda c, f: pa.array(c.rng.integers(100, 9999, c.n).astype("int32")),
    "score": lambda c, f: pa.array(c.rng.integers(-50, 500, c.n).astype("int32")),
    "points": lambda c, f: pa.array(c.rng.integers(0, 100_000, c.n).astype("int32")),
    "hours": lambda c, f: pa.array(c.rng.integers(1, 5_000, c.n).astype("int32")),
    "bigint": lambda c, f: pa.array(c.rng.integers(10**17, 9 * 10**17, c.n), pa.int64()),
    "percent": lambda c, f: pa.array(np.round(c.rng.random(c.n) * 100, 2)),
    "probability": lambda c, f: pa.array(c.rng.choice([10.0, 20.0, 40.0, 60.0, 75.0, 90.0, 100.0, 0.0], c.n)),
    "ratio": lambda c, f: pa.array(np.round(c.rng.random(c.n) * 10, f.decimal_place or 2)),
    "bool10": lambda c, f: pa.array(c.rng.random(c.n) < 0.1),
    "bool50": lambda c, f: pa.array(c.rng.random(c.n) < 0.5),
    "birth_date": lambda c, f: _dates(c.rng.integers(-15_000, 8_000, c.n)),
    "past_date": lambda c, f: _dates(c.rng.integers(GEN_START // 86_400 - 2_000, GEN_END // 86_400, c.n)),
    "future_date": lambda c, f: _dates(c.rng.integers(GEN_START // 86_400, GEN_END // 86_400 + 400, c.n)),
    "closing_date": lambda c, f: _dates(c.rng.integers(GEN_START // 86_400, GEN_END // 86_400 + 200, c.n)),
    "future_datetime": lambda c, f: _ts(c.rng.integers(GEN_START, GEN_END + 86_400 * 365, c.n)),
    "activity": lambda c, f: _ts(np.maximum(c.created, c.modified - c.rng.integers(0, 86_400 * 20, c.n))),
    "closed_time": lambda c, f: _ts(c.modified),
    "owner": lambda c, f: pa.array(c.rng.choice([u.id for u in schema.ACTIVE_USERS], c.n,
                                                p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1]), pa.int64()),
    "user": lambda c, f: pa.array(c.rng.choice([u.id for u in schema.USERS], c.n), pa.int64()),
    "layout": lambda c, f: pa.array(np.where(c.rng.random(c.n) < 0.9, schema.DEFAULT_LAYOUT_ID,
                                             max(schema.LAYOUTS)), pa.int64()),
    "image_id": lambda c, f: pc.binary_join_element_wise(pa.scalar("ph_"), _str_index(c, 8), ""),
    "account": lambda c, f: _ids("Accounts", c),
    "contact": lambda c, f: _ids("Contacts", c),
    "alarm": lambda c, f: _json_pool(c, [
        {"ALARM": "FREQ=NONE;ACTION=EMAILANDPOPUP;TRIGGER=DATE-TIME:2025-05-02T09:00:00+05:30"},
        {"ALARM": "FREQ=NONE;ACTION=POPUP;TRIGGER=DATE-TIME:2025-03-10T15:30:00+05:30"}]),
    "rrule": lambda c, f: _json_pool(c, [
        {"RRULE": "FREQ=DAILY;INTERVAL=1;UNTIL=2025-06-01;DTSTART=2025-05-02"},
        {"RRULE": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=10;DTSTART=2025-01-06"}]),
    "territories": lambda c, f: _json_pool(c, [
        [{"name": "EMEA", "id": "5843104000000501001"}], [{"name": "APAC", "id": "5843104000000501003"}],
        [{"name": "North America", "id": "5843104000000501005"}, {"name": "EMEA", "id": "5843104000000501001"}]]),
    "address": lambda c, f: _json_pool(c, [
        {"country": "Germany", "city": "M\u00fcnchen", "street": "Leopoldstra\u00dfe 1", "zip": "80802"},
        {"country": "United States", "city": "Boston", "street": "1 Main St, Suite 5", "zip": "02134"}]),
    "consent": lambda c, f: _json_pool(c, [
        {"name": "Legitimate Interests", "id": "5843104000000601001"},
        {"name": "Contract", "id": "5843104000000601003"}]),
    "linetax": lambda c, f: _json_pool(c, [
        [{"percentage": 5.0, "name": "Vat", "id": "5843104000000701001", "value": 12.5}],
        [{"percentage": 18.0, "name": "GST", "id": "5843104000000701003", "value": 90.0}]]),
    "module_ref": lambda c, f: _json_pool(c, [
        {"api_name": "Leads", "id": str(schema.LEADS.module_id)},
        {"api_name": "Deals", "id": str(schema.DEALS.module_id)}]),
    "time_range": lambda c, f: _json_pool(c, [
        [{"start": "09:00", "end": "17:30"}], [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "16:00"}]]),
    "multireminder": lambda c, f: _json_pool(c, [
        [{"period": "minutes", "unit": 15}], [{"period": "days", "unit": 1, "time": "09:00"}]]),
    "event_reminder": lambda c, f: _pick(c, ["15 minutes before", "1 day before", "at start"]),
    "files": lambda c, f: _json_pool(c, [[{
        "File_Name__s": "contract, signed.pdf", "File_Id__s": "f1a2b3c4d5", "Size__s": "48213",
        "id": "5843104000000801001"}]]),
    "images": lambda c, f: _json_pool(c, [[{
        "File_Name__s": "site.jpg", "File_Id__s": "i9h8g7f6", "Size__s": "102400",
        "Preview_Id__s": "p1", "State__s": "active", "Description__s": None,
        "Sequence_Number__s": 1, "Attachment_Source__s": "Local", "id": "5843104000000802001"}]]),
}


def _generate_field(ctx: GenContext, f: FieldDef, cols: dict[str, pa.Array]) -> pa.Array | None:
    rng = ctx.rng
    gen = f.gen
    if gen == "created":
        return _ts(ctx.created)
    if gen == "modified":
        return _ts(ctx.modified)
    if gen == "full_name":
        return _full_name(ctx, cols)
    if gen in ("parent_account", "self_ref"):
        idx = _row_index(ctx)
        k = np.maximum(1, (rng.random(ctx.n) * np.maximum(idx, 1)).astype("int64"))
        arr = pa.array(id_base(ctx.module) + k, pa.int64())
    elif gen == "parent":
        assert ctx.module.parent_module is not None
        arr = _ids(ctx.module.parent_module, ctx)
    elif gen in GENERATORS:
        arr = GENERATORS[gen](ctx, f)
    elif f.data_type == "picklist":
        arr = _pick(ctx, list(f.picklist))
    elif f.data_type == "multiselectpicklist":
        arr = _multi(ctx, f.picklist)
    elif gen in ("converted", "converted_at", "converted_account", "converted_contact", "converted_deal",
                 "what_id", "multi_module", "pipeline"):
        return None  # filled by _module_specific
    else:
        return None
    if f.null_rate > 0:
        mask = pa.array(rng.random(ctx.n) < f.null_rate)
        arr = pc.if_else(mask, pa.nulls(ctx.n, arr.type), arr)
    return arr


def _module_specific(ctx: GenContext, cols: dict[str, pa.Array]) -> None:
    rng = ctx.rng
    name = ctx.module.api_name
    if name == "Leads":
        # converting makes an account and a contact (the deal is optional): not possible without them
        can_convert = ctx.sizes["Accounts"] > 0 and ctx.sizes["Contacts"] > 0
        converted = (rng.random(ctx.n) < 0.08) & can_convert
        cols["Converted__s"] = pa.array(converted)
        at = np.minimum(ctx.modified, ctx.created + rng.integers(3_600, 86_400 * 30, ctx.n))
        none = pa.nulls(ctx.n, pa.timestamp("us"))
        cols["Converted_Date_Time"] = pc.if_else(pa.array(converted), _ts(at), none)
        for fld, target in (("Converted_Account", "Accounts"), ("Converted_Contact", "Contacts"),
                            ("Converted_Deal", "Deals")):
            ids = _ids(target, ctx)
            cols[fld] = pc.if_else(pa.array(converted), ids, pa.nulls(ctx.n, pa.int64()))
    if name == "Deals":
        cols["Pipeline"] = pa.array(np.where(rng.random(ctx.n) < 0.85, "Standard (Standard)", "Renewals"))
    if name == "Tasks":
        to_deal, empty = _either(ctx, "Deals", "Accounts", 0.4, 0.2)
        ids = np.where(to_deal, id_base(schema.DEALS) + _index(ctx, "Deals"),
                       id_base(schema.ACCOUNTS) + _index(ctx, "Accounts"))
        mods = np.where(to_deal, "Deals", "Accounts")
        mask = pa.array(empty)
        cols["What_Id"] = pc.if_else(mask, pa.nulls(ctx.n, pa.int64()), pa.array(ids, pa.int64()))
        cols["What_Id$module"] = pc.if_else(mask, pa.nulls(ctx.n, pa.string()), pa.array(mods))
        to_lead, empty = _either(ctx, "Leads", "Contacts", 0.5, 0.5)
        ids = np.where(to_lead, id_base(schema.LEADS) + _index(ctx, "Leads"),
                       id_base(schema.CONTACTS) + _index(ctx, "Contacts"))
        mods = np.where(to_lead, "Leads", "Contacts")
        mask = pa.array(empty)
        cols["Related_Record"] = pc.if_else(mask, pa.nulls(ctx.n, pa.int64()), pa.array(ids, pa.int64()))
        cols["Related_Record$module"] = pc.if_else(mask, pa.nulls(ctx.n, pa.string()), pa.array(mods))


def _index(ctx: GenContext, target: str) -> np.ndarray:
    """Random 1-based record numbers of ``target`` (all 1 when it is empty; the caller masks those)."""
    return ctx.rng.integers(1, max(ctx.sizes[target], 1) + 1, ctx.n)


def _either(ctx: GenContext, first: str, second: str, share_first: float,
            share_empty: float) -> tuple[np.ndarray, np.ndarray]:
    """For a lookup to one of two modules: (points at ``first``, stays empty), empty modules avoided."""
    to_first = ctx.rng.random(ctx.n) < share_first
    empty = ctx.rng.random(ctx.n) < share_empty
    has_first, has_second = ctx.sizes[first] > 0, ctx.sizes[second] > 0
    if not has_first:
        to_first[:] = False
    if not has_second:
        to_first[:] = has_first
    if not (has_first or has_second):
        empty[:] = True
    return to_first, empty


def _max_length_row(m: ModuleDef, cols: dict[str, pa.Array], n: int) -> None:
    """Row 2 of every module carries max-length values in its short text fields."""
    if n < 3:
        return
    for f in m.fields:
        if f.data_type == "text" and f.length and f.api_name in cols and f.writable and not f.unique:
            value = ("\u00c5" + "x" * (f.length - 2) + "\u00e9")[: f.length]
            arr = cols[f.api_name]
            py = arr.to_pylist()
            py[2] = value
            cols[f.api_name] = pa.array(py, pa.string())


def generate_chunk(m: ModuleDef, seed: int, sizes: dict[str, int], offset: int, n: int) -> pa.Table:
    rng = np.random.default_rng([seed, m.id_slot, offset // CHUNK])
    created, modified = _gen_created(GenContext(rng, n, offset, m, sizes, np.empty(0), np.empty(0)))
    ctx = GenContext(rng, n, offset, m, sizes, created, modified)
    cols: dict[str, pa.Array] = {"id": pa.array(id_base(m) + 1 + _row_index(ctx), pa.int64())}
    for f in m.fields:
        arr = _generate_field(ctx, f, cols)
        if arr is not None:
            cols[f.api_name] = arr
    _module_specific(ctx, cols)
    if offset == 0:
        _max_length_row(m, cols, n)
    for f in m.fields:
        if f.auto_number:
            prefix, start, pad = f.auto_number
            num = pc.cast(pa.array(start + _row_index(ctx)), pa.string())
            cols[f.api_name] = pc.binary_join_element_wise(pa.scalar(prefix), pc.utf8_lpad(num, pad, "0"), "")
        if f.gen == "full_name":
            cols[f.api_name] = _full_name(ctx, cols)
    names = [c for c, _ in stored_columns(m) if c in cols]
    return pa.table({c: cols[c] for c in names})


def populate(store: Store, seed: int, sizes: dict[str, int]) -> dict[str, int]:
    """Fill an empty store; returns the number of records per module."""
    store.create_schema()
    for m in schema.MODULES:
        n_total = sizes[m.api_name]
        for offset in range(0, n_total, CHUNK):
            tbl = generate_chunk(m, seed, sizes, offset, min(CHUNK, n_total - offset))
            cols = ", ".join(q(c) for c in tbl.column_names)
            with store.write_lock:
                cur = store.cursor()
                cur.register("_gen_chunk", tbl)
                cur.execute(f"INSERT INTO {q(m.api_name)} ({cols}) SELECT {cols} FROM _gen_chunk")
                cur.unregister("_gen_chunk")
        store.set_counter(f"id:{m.api_name}", id_base(m) + n_total)
        for f in m.fields:
            if f.auto_number:
                store.set_counter(f"autonumber:{m.api_name}.{f.api_name}", f.auto_number[1] + n_total - 1)
    return dict(sizes)
