"""A batch is processed in order: unique values freed or taken by earlier records count for later ones.

Over REST (one update call) and over Bulk Write, whose rows are validated and written in chunks
(``bulk_write.CHUNK_ROWS``): rows in later chunks see the records earlier chunks wrote, and rows
of one chunk see each other's claims before anything is written.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from connector.emulator import bulk_write
from tests.conftest import ZohoClient
from tests.emulator.bulk_write_client import run


def _leads(z: ZohoClient, n: int) -> list[tuple[str, str]]:
    """(id, email) of n fresh leads."""
    tag = uuid.uuid4().hex[:8]
    data = [{"Last_Name": f"B{i}", "Email": f"b{i}.{tag}@batch.example"} for i in range(n)]
    r = z.post("/Leads", data=json.dumps({"data": data, "trigger": []}))
    assert r.status_code == 201, r.text
    return [(e["details"]["id"], d["Email"]) for e, d in zip(r.json()["data"], data, strict=True)]


def _truth(z: ZohoClient) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in z.export("Leads")}


def test_rest_update_sees_a_unique_value_freed_earlier_in_the_call(private):
    (a, email_a), (b, _) = _leads(private, 2)
    fresh = f"fresh.{uuid.uuid4().hex[:8]}@batch.example"
    # b takes a's email after a moved off it: both succeed.
    r = private.put("/Leads", data=json.dumps({"data": [{"id": a, "Email": fresh}, {"id": b, "Email": email_a}]}))
    assert r.status_code == 200, r.text
    truth = _truth(private)
    assert (truth[a]["Email"], truth[b]["Email"]) == (fresh, email_a)
    # In the other order the value is still taken when the first record asks for it.
    r = private.put("/Leads", data=json.dumps({"data": [{"id": a, "Email": email_a},
                                                        {"id": b, "Email": f"x.{fresh}"}]}))
    assert r.status_code == 207, r.text
    first, second = r.json()["data"]
    assert first["code"] == "DUPLICATE_DATA" and first["details"]["duplicate_record"]["id"] == b
    assert second["status"] == "success"


def test_bulk_upsert_across_chunks_and_within_one(private):
    chunk = bulk_write.CHUNK_ROWS
    (x, email_x), (y, email_y) = _leads(private, 2)
    y_ref = f"yref-{uuid.uuid4().hex[:8]}"
    r = private.put(f"/Leads/{y}", data=json.dumps({"data": [{"External_Ref": y_ref}]}))
    assert r.status_code == 200, r.text
    tag = uuid.uuid4().hex[:6]
    rows = [(f"n{i}.{tag}@batch.example", f"New{i}", "") for i in range(chunk + 50)]
    rows[10] = (email_x, "FirstEdit", "")
    rows[11] = (email_x, "SecondEdit", "")  # the same record twice in one chunk: in order
    rows[20] = (email_y, "Moved", f"moved-{tag}")  # y gives up its External_Ref...
    rows[21] = (f"taker.{tag}@batch.example", "Taker", y_ref)  # ...and a later row of the chunk takes it
    rows[22] = (f"clash.{tag}@batch.example", "Clash", f"moved-{tag}")  # claimed by row 20 already
    rows.append((rows[5][0], "Again", ""))  # next chunk: updates the record row 5 inserted
    text = "Email,Last_Name,External_Ref\n" + "".join(f"{e},{n},{ref}\n" for e, n, ref in rows)
    mappings = [{"api_name": "Email", "index": 0}, {"api_name": "Last_Name", "index": 1},
                {"api_name": "External_Ref", "index": 2}]
    status, out = run(private, text, mappings, "upsert", find_by="Email", ignore_empty=True)
    got = [(r["STATUS"], r["ERRORS"]) for r in out]
    assert got[10] == got[11] == got[20] == ("UPDATED", "") and got[21] == ("ADDED", "")
    assert got[22] == ("SKIPPED", "DUPLICATE_DATA-External_Ref")
    assert out[-1]["STATUS"] == "UPDATED" and out[-1]["RECORD_ID"] == out[5]["RECORD_ID"]
    f = status["resource"][0]["file"]
    assert (f["added_count"], f["updated_count"], f["skipped_count"]) == (chunk + 50 - 4, 4, 1)
    truth = _truth(private)
    assert truth[x]["Last_Name"] == "SecondEdit"
    assert (truth[y]["Last_Name"], truth[y]["External_Ref"]) == ("Moved", f"moved-{tag}")
    assert truth[out[21]["RECORD_ID"]]["External_Ref"] == y_ref
    assert truth[out[5]["RECORD_ID"]]["Last_Name"] == "Again"


#: what two orgs' exports taken moments apart may differ in: the times, and Days_Open, a formula over the
#: org's clock (days since Created_Time to now, two decimals: it moves every 14.4 minutes of the clock)
_TIMES = ("Created_Time", "Modified_Time", "Last_Activity_Time", "Days_Open")


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in _TIMES}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _mixed_batch(stored: list[dict[str, Any]]) -> list[Any]:
    """Good rows, duplicates of stored records (any case, either unique field), duplicates within the
    batch (of a good row, of a refused one), bad values and a missing mandatory field."""
    a, b = stored[0], stored[1]
    ref = next(r for r in stored if r.get("External_Ref") and r["id"] not in (a["id"], b["id"]))
    return [
        {"Last_Name": "Good0", "Email": "good0@mixed.example", "External_Ref": "g0"},
        {"Last_Name": "DupStoredEmail", "Email": a["Email"].upper()},
        {"Last_Name": "DupStoredRef", "External_Ref": ref["External_Ref"].swapcase()},
        {"Last_Name": "BothFields", "Email": f"other.{a['Email']}", "External_Ref": ref["External_Ref"]},
        {"Last_Name": "EmailOfA_RefOfB", "Email": a["Email"], "External_Ref": b.get("External_Ref") or "zz"},
        {"Last_Name": "DupInBatch", "Email": "GOOD0@mixed.example"},
        {"Last_Name": "DupInBatchRef", "External_Ref": "G0"},
        {"Last_Name": "BadEmail", "Email": "not an email"},
        {"Last_Name": "TooLong", "External_Ref": "r" * 21},
        {"Email": "nolast@mixed.example"},
        {"Email": a["Email"]},  # missing Last_Name and a duplicate: the mandatory error is the one given
        {"Last_Name": "AfterRefused", "Email": "nolast@mixed.example"},  # the refused row claimed nothing
        7,
        {"Last_Name": "NonAscii", "External_Ref": "Äref-1"},
        {"Last_Name": "NonAsciiDup", "External_Ref": "äREF-1"},
        {"Last_Name": "Good1", "Email": "good1@mixed.example", "External_Ref": "g1"},
        {"Last_Name": "Good1Again", "Email": "Good1@Mixed.Example", "External_Ref": "g2"},
        {"Last_Name": "Good2", "Email": "good2@mixed.example", "Owner": {"id": str(b["Owner"]["id"])}},
        {"Last_Name": "DupOfGood2", "Email": "GOOD2@mixed.example"},
    ]


def test_a_mixed_batch_answers_and_stores_what_one_call_per_record_does(make_emulator):
    """One 100-record call checks uniqueness for the whole batch at once (one query for every unique
    field); Zoho processes the records in order, so the answers and the rows stored are what the same
    records sent one call at a time give (apart from the call's status)."""
    batched, single = ZohoClient(make_emulator(records=200, seed=3)), ZohoClient(make_emulator(records=200, seed=3))
    stored = sorted(batched.export("Leads"), key=lambda r: r["id"])
    assert _without_times(stored) == _without_times(sorted(single.export("Leads"), key=lambda r: r["id"]))
    records = _mixed_batch(stored)
    r = batched.post("/Leads", data=json.dumps({"data": records, "trigger": []}))
    assert r.status_code == 207, r.text
    together = r.json()["data"]
    one_by_one = []
    for i, rec in enumerate(records):
        r = single.post("/Leads", data=json.dumps({"data": [rec], "trigger": []}))
        assert r.status_code in (201, 400), r.text
        one_by_one += json.loads(r.text.replace('"$.data[0]', f'"$.data[{i}]'))["data"]  # its place in the batch
    assert _without_times(together) == _without_times(one_by_one)
    codes = [e["code"] for e in together]
    dup, ok, bad, missing = "DUPLICATE_DATA", "SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND"
    assert codes == [ok, dup, dup, dup, dup, dup, dup, bad, bad, missing, missing, ok, bad, ok, dup, ok, dup, ok, dup]
    assert _without_times(sorted(batched.export("Leads"), key=lambda r: r["id"])) == \
        _without_times(sorted(single.export("Leads"), key=lambda r: r["id"]))


def test_the_unique_prefetch_finds_what_a_query_per_field_finds(make_emulator):
    """``WriteBatch.prefetch`` looks every unique text field up in one scan; it finds, per field and key,
    the holders (oldest first) the per-field query finds, stored duplicates and case variants included."""
    from connector.emulator import schema
    from connector.emulator.write_batch import WriteBatch, duplicate_sql

    emu = make_emulator(records=100, seed=5)
    store, m = emu.app.store, schema.LEADS
    base = store.fetchone('SELECT max(id) FROM "Leads"')[0]
    # Rows Zoho would refuse through the API, but an org can hold (imports, the generator): shared values.
    store.insert_rows(m, [
        {"id": base + 1, "Last_Name": "S1", "Email": "Shared@X.example", "External_Ref": "REF-A", "Owner": 1},
        {"id": base + 2, "Last_Name": "S2", "Email": "shared@x.example", "External_Ref": "ref-b"},
        {"id": base + 3, "Last_Name": "S3", "Email": "third@x.example", "External_Ref": "Ref-A"},
    ])
    records: list[Any] = [{"Email": "SHARED@x.example"}, {"External_Ref": "ref-a", "Email": "third@X.example"},
                          {"External_Ref": "REF-B"}, {"Email": "nobody@x.example"}, {"External_Ref": "Ärger"}, 3]
    batch = WriteBatch()
    batch.prefetch(emu.app, m, records)
    for f in m.unique_fields:
        if f.api_name not in batch.unique:
            continue
        keys = {rec[f.api_name].lower() for rec in records if isinstance(rec, dict)
                and isinstance(rec.get(f.api_name), str) and rec[f.api_name].isascii()}
        expected: dict[Any, list[tuple[int, Any]]] = {k: [] for k in keys}
        for key in keys:
            expected[key] = [(rid, owner) for _, rid, owner in store.fetchall(duplicate_sql(m, f, "= ?"), [key])]
        assert batch.unique[f.api_name] == expected, f.api_name
    assert [rid for rid, _ in batch.unique["Email"]["shared@x.example"]] == [base + 1, base + 2]
    assert sorted(batch.unique) == ["Email", "External_Ref"]


def test_one_update_call_whose_records_change_different_fields_changes_only_those(private):
    """Each record of a PUT sets its own fields (a null among them) and keeps every other value as it was,
    whatever the other records of the call change."""
    (a, email_a), (b, email_b), (c, email_c) = _leads(private, 3)
    before = _truth(private)
    r = private.put("/Leads", data=json.dumps({"data": [
        {"id": a, "Phone": "555-0101"},
        {"id": b, "Email": None, "Lead_Source": "Web Download"},
        {"id": c, "Phone": "555-0103", "Last_Name": "Renamed"}]}))
    assert r.status_code == 200, r.text
    after = _truth(private)
    changed = {a: {"Phone": "555-0101"}, b: {"Email": None, "Lead_Source": "Web Download"},
               c: {"Phone": "555-0103", "Last_Name": "Renamed", "Full_Name": "Renamed"}}
    volatile = {"Modified_Time", "Last_Activity_Time"}
    for rid, fields in changed.items():
        for key, value in after[rid].items():
            if key in volatile:
                continue
            want = fields.get(key, before[rid].get(key))
            assert value == want, (rid, key, value, want)
    assert (after[a]["Email"], after[c]["Email"]) == (email_a, email_c) and email_b
