"""Value generators by ``FieldDef.gen`` hint: ``GENERATORS[hint](ctx, field) -> Arrow array``.

Fields without a hint get values by their type (picklists, multi-select
picklists) in :func:`..generate.generate_field`; module families add their own
hints by updating this table from their generator module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import people
from .gen_base import (
    GEN_END,
    GEN_START,
    GenContext,
    dates,
    ids,
    json_pool,
    module_def,
    money,
    owners,
    pick,
    str_index,
    ts,
)
from .gen_pools import (
    ASCII_FIRST,
    CITIES,
    COMPANIES,
    COUNTRIES,
    DEPARTMENTS,
    DESCRIPTIONS,
    DOMAINS,
    FIRST,
    LAST,
    MILESTONES,
    NEXT_STEPS,
    PHONES,
    PRODUCTS,
    PROJECT_NAMES,
    RICH_TEXT,
    STATES,
    STREETS,
    TASK_SUBJECTS,
    TITLES,
    WEBSITES,
)
from .types import FieldDef

Gen = Callable[[GenContext, FieldDef], pa.Array]


def full_name(ctx: GenContext, cols: dict[str, pa.Array]) -> pa.Array:
    first = cols.get("First_Name")
    last = cols["Last_Name"]
    if first is None:
        return last
    joined = pc.binary_join_element_wise(first, last, " ")
    return pc.if_else(pc.is_null(first), last, joined)


def email_address(ctx: GenContext, f: FieldDef) -> pa.Array:
    first = pick(ctx, ASCII_FIRST)
    dom = pick(ctx, DOMAINS)
    tag = "" if f.api_name == "Email" else "alt."
    local = pc.binary_join_element_wise(first, pa.scalar(ctx.module.api_name[:1].lower() + tag),
                                        str_index(ctx), "")
    return pc.binary_join_element_wise(local, dom, "@")


def max_text_values(ctx: GenContext, f: FieldDef) -> pa.Array:
    length = f.length or 255
    unit = "\u00e9t\u00e9 \u2014 long note, with commas; \"quotes\"\nand lines. "
    full = (unit * (length // len(unit) + 1))[:length]
    half = full[: length // 2]
    return pick(ctx, [full, half, "short"])


GENERATORS: dict[str, Gen] = {
    "first_name": lambda c, f: pick(c, FIRST),
    "last_name": lambda c, f: pick(c, LAST),
    "company": lambda c, f: pick(c, COMPANIES),
    "company_unique": lambda c, f: pc.binary_join_element_wise(pick(c, COMPANIES), str_index(c, 5), " "),
    "email": email_address,
    "email2": email_address,
    "phone": lambda c, f: pick(c, PHONES),
    "website": lambda c, f: pick(c, WEBSITES),
    "zip": lambda c, f: pc.utf8_lpad(pc.cast(pa.array(c.rng.integers(0, 99_999, c.n)), pa.string()), 5, "0"),
    "city": lambda c, f: pick(c, CITIES),
    "state": lambda c, f: pick(c, STATES),
    "country": lambda c, f: pick(c, COUNTRIES),
    "street": lambda c, f: pick(c, STREETS),
    "title": lambda c, f: pick(c, TITLES),
    "department": lambda c, f: pick(c, DEPARTMENTS),
    "description": lambda c, f: pick(c, DESCRIPTIONS),
    "rich_text": lambda c, f: pick(c, RICH_TEXT),
    "max_text": max_text_values,
    "ticker": lambda c, f: pick(c, ["ACME", "GLBX", "INIT", "HOOL", "TYRL"]),
    "deal_name": lambda c, f: pc.binary_join_element_wise(pick(c, COMPANIES), pick(c, PRODUCTS), " \u2013 "),
    "next_step": lambda c, f: pick(c, NEXT_STEPS),
    "task_subject": lambda c, f: pick(c, TASK_SUBJECTS),
    "project_name": lambda c, f: pc.binary_join_element_wise(pick(c, PROJECT_NAMES), str_index(c), " #"),
    "milestone": lambda c, f: pick(c, MILESTONES),
    "external_ref": lambda c, f: str_index(c, 10),
    "revenue": lambda c, f: money(c, 10_000, 500_000_000),
    "money": lambda c, f: money(c, 0, 2_000_000),
    "deal_amount": lambda c, f: money(c, 500, 3_000_000),
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
    "birth_date": lambda c, f: dates(c.rng.integers(-15_000, 8_000, c.n)),
    "past_date": lambda c, f: dates(c.rng.integers(GEN_START // 86_400 - 2_000, GEN_END // 86_400, c.n)),
    "future_date": lambda c, f: dates(c.rng.integers(GEN_START // 86_400, GEN_END // 86_400 + 400, c.n)),
    "closing_date": lambda c, f: dates(c.rng.integers(GEN_START // 86_400, GEN_END // 86_400 + 200, c.n)),
    "future_datetime": lambda c, f: ts(c.rng.integers(GEN_START, GEN_END + 86_400 * 365, c.n)),
    "activity": lambda c, f: ts(np.maximum(c.created, c.modified - c.rng.integers(0, 86_400 * 20, c.n))),
    "closed_time": lambda c, f: ts(c.modified),
    "owner": lambda c, f: owners(c),
    "user": lambda c, f: pa.array(c.rng.choice([u.id for u in people.USERS], c.n), pa.int64()),
    "layout": lambda c, f: pa.array(np.where(c.rng.random(c.n) < 0.9, people.DEFAULT_LAYOUT_ID,
                                             max(people.LAYOUTS)), pa.int64()),
    "image_id": lambda c, f: pc.binary_join_element_wise(pa.scalar("ph_"), str_index(c, 8), ""),
    "parent": lambda c, f: ids(c.module.parent_module or "", c),
    "account": lambda c, f: ids("Accounts", c),
    "contact": lambda c, f: ids("Contacts", c),
    "alarm": lambda c, f: json_pool(c, [
        {"ALARM": "FREQ=NONE;ACTION=EMAILANDPOPUP;TRIGGER=DATE-TIME:2025-05-02T09:00:00+05:30"},
        {"ALARM": "FREQ=NONE;ACTION=POPUP;TRIGGER=DATE-TIME:2025-03-10T15:30:00+05:30"}]),
    "rrule": lambda c, f: json_pool(c, [
        {"RRULE": "FREQ=DAILY;INTERVAL=1;UNTIL=2025-06-01;DTSTART=2025-05-02"},
        {"RRULE": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=10;DTSTART=2025-01-06"}]),
    "territories": lambda c, f: json_pool(c, [
        [{"name": "EMEA", "id": "5843104000000501001"}], [{"name": "APAC", "id": "5843104000000501003"}],
        [{"name": "North America", "id": "5843104000000501005"}, {"name": "EMEA", "id": "5843104000000501001"}]]),
    "address": lambda c, f: json_pool(c, [
        {"country": "Germany", "city": "M\u00fcnchen", "street": "Leopoldstra\u00dfe 1", "zip": "80802"},
        {"country": "United States", "city": "Boston", "street": "1 Main St, Suite 5", "zip": "02134"}]),
    "consent": lambda c, f: json_pool(c, [
        {"name": "Legitimate Interests", "id": "5843104000000601001"},
        {"name": "Contract", "id": "5843104000000601003"}]),
    "linetax": lambda c, f: json_pool(c, [
        [{"percentage": 5.0, "name": "Vat", "id": "5843104000000701001", "value": 12.5}],
        [{"percentage": 18.0, "name": "GST", "id": "5843104000000701003", "value": 90.0}]]),
    "module_ref": lambda c, f: json_pool(c, [
        {"api_name": "Leads", "id": str(module_def("Leads").module_id)},
        {"api_name": "Deals", "id": str(module_def("Deals").module_id)}]),
    "time_range": lambda c, f: json_pool(c, [
        [{"start": "09:00", "end": "17:30"}], [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "16:00"}]]),
    "multireminder": lambda c, f: json_pool(c, [
        [{"period": "minutes", "unit": 15}], [{"period": "days", "unit": 1, "time": "09:00"}]]),
    "event_reminder": lambda c, f: pick(c, ["15 minutes before", "1 day before", "at start"]),
    "files": lambda c, f: json_pool(c, [[{
        "File_Name__s": "contract, signed.pdf", "File_Id__s": "f1a2b3c4d5", "Size__s": "48213",
        "id": "5843104000000801001"}]]),
    "images": lambda c, f: json_pool(c, [[{
        "File_Name__s": "site.jpg", "File_Id__s": "i9h8g7f6", "Size__s": "102400",
        "Preview_Id__s": "p1", "State__s": "active", "Description__s": None,
        "Sequence_Number__s": 1, "Attachment_Source__s": "Local", "id": "5843104000000802001"}]]),
}
