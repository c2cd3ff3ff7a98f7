"""Into Zoho: line items inside their parents, notes on their new parents, tags — org A -> Parquet -> org B.

Two real emulators over HTTP (the enterprise org). Checked in B through the id map:
every quote, sales order, purchase order and invoice carries its lines (products mapped to
B's products) and Zoho's totals equal A's; the line-item tables are no modules of their own;
notes hang on their new parents, and notes whose parent is not migrated are reported per row
with which record is missing; tags are carried; a lead the target already held is said to
be one (and adopted with ``--mode upsert --key``). An incremental run replaces a parent's
lines exactly (also when only a line changed); a run killed while inserting quotes resumes with
nothing twice. A's copies are records only (``files=False``): files into Zoho are
tests/sync/test_zoho_files.py's subject, and their uploads would only lengthen these runs.
"""

from __future__ import annotations

import csv
import signal
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from connector.emulator import Emulator
from connector.sync import migrate
from connector.sync.files import FileSource
from tests.conftest import ZohoClient

from .cli_child import sent_without_answer, wait_for, zohocrm, zohocrm_run
from .helpers import export
from .roundtrip import id_maps

ORDERS = {"Quotes": "Quoted_Items", "Sales_Orders": "Ordered_Items", "Purchase_Orders": "Purchase_Items",
          "Invoices": "Invoiced_Items"}
#: enough for every order and its lines; Notes' other parents (Cases, Calls ...) are left out on purpose
MODULES = ["Vendors", "Products", "Price_Books", "Accounts", "Contacts", "Deals", "Leads", *ORDERS,
           *ORDERS.values(), "Notes"]
#: the orders and what their records point at (the sample leads of B are left to the first test)
ORDERED = [m for m in MODULES if m not in ("Leads", "Notes")]
WRITTEN = [m for m in MODULES if m not in ORDERS.values()]
ALLOW = (";AllowedOperations=read,insert,update,upsert,delete;AllowedModules="
         + ",".join(WRITTEN + list(ORDERS.values())))
TOTALS = ("Sub_Total", "Discount", "Tax", "Adjustment", "Grand_Total")
LINE = ("Quantity", "List_Price", "Discount", "Tax", "Total", "Net_Total", "Description", "Sequence_Number")


def ref(v: Any) -> str | None:
    return str(v["id"]) if isinstance(v, dict) else (str(v) if v is not None else None)


def lines(emu: Emulator, module: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in export(emu, module):
        out.setdefault(str(ref(r["Parent_Id"])), []).append(r)
    return out


def line_key(r: dict[str, Any], products: dict[str, str] | None = None) -> tuple[Any, ...]:
    product = ref(r["Product_Name"])
    # A line's tax amount is its Tax; each Line_Tax entry's value is Zoho's share of it (some of the
    # generated lines of A leave it out), so entries compare by name and percentage.
    taxes = sorted((t["name"], t["percentage"]) for t in r.get("Line_Tax") or [])
    return ((products or {}).get(str(product), product), *(r.get(k) for k in LINE), tuple(taxes))


def assert_orders_equal(a: Emulator, b: Emulator, maps: dict[str, dict[str, str]],
                        only: set[str] | None = None) -> None:
    """Every order of A (or ``only`` these) is in B once, with A's totals and A's lines (products mapped)."""
    for parent, items in ORDERS.items():
        got_a, got_b = {r["id"]: r for r in export(a, parent)}, {r["id"]: r for r in export(b, parent)}
        lines_a, lines_b = lines(a, items), lines(b, items)
        assert len(set(maps[parent].values())) == len(maps[parent])
        for sid, rec in got_a.items():
            if only is not None and sid not in only:
                continue
            tid = maps[parent][sid]
            assert {k: got_b[tid][k] for k in TOTALS} == {k: rec[k] for k in TOTALS}, (parent, sid)
            want = Counter(line_key(r, maps["Products"]) for r in lines_a.get(sid, []))
            assert want and Counter(line_key(r) for r in lines_b.get(tid, [])) == want, (parent, sid)
            for r in lines_a[sid]:  # each source line maps to a line of the copy's parent
                assert maps[items][r["id"]] in {x["id"] for x in lines_b[tid]}


def report(path: str | None) -> list[dict[str, str]]:
    if path is None:
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("write_api", ["rest", "bulk"])
def test_orders_notes_and_tags_arrive_in_a_fresh_org(write_api, tmp_path):
    with Emulator(records=600, seed=71) as a, Emulator(records=0, seed=71) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=MODULES, files=False).ok
        res = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), write_api=write_api)
        by = {m.module: m for m in res.modules}
        # Products (and Price_Books) before the orders whose lines point at them; each line table just
        # before its parent, written inside it, not as a module.
        order = [m.module for m in res.modules]
        for parent, items in ORDERS.items():
            assert order.index("Products") < order.index(parent) and order.index(items) == order.index(parent) - 1
            assert by[parent].error is None and by[parent].rows_failed == 0 and by[parent].rows_written > 0
            assert by[items].error is None and by[items].rows_written == 0 and by[items].rows_read > 0
            assert any(f"written inside {parent}" in n for n in by[items].notes)
        maps = id_maps(state)
        assert_orders_equal(a, b, maps)

        # Notes: on their new parents through the id map; the others reported, naming the missing record.
        notes_a = {r["id"]: r for r in export(a, "Notes")}
        notes_b = {r["id"]: r for r in export(b, "Notes")}
        lines_rep = report(res.report_path)
        unplaced = {r["source_id"]: r for r in lines_rep if r["module"] == "Notes"}
        assert unplaced and by["Notes"].rows_failed == len(unplaced)
        for sid, note in notes_a.items():
            parent_module, parent = note["$se_module"], ref(note["Parent_Id"])
            if parent_module in MODULES and parent in maps.get(parent_module, {}):
                copy = notes_b[maps["Notes"][sid]]
                assert (copy["$se_module"], ref(copy["Parent_Id"])) == (parent_module, maps[parent_module][parent])
                assert (copy["Note_Content"], copy["Note_Title"]) == (note["Note_Content"], note["Note_Title"])
            else:
                assert sid not in maps["Notes"]
                assert unplaced[sid]["code"] == "LOOKUP_NOT_IN_TARGET"
                assert f"{parent_module} record {parent}, which is not in the target" in unplaced[sid]["message"]

        # Tags, by name, on every copied record.
        for module in ("Leads", "Accounts", "Quotes", "Products"):
            tags_a = {r["id"]: sorted(t["name"] for t in r["Tag"]) for r in export(a, module)}
            tags_b = {r["id"]: sorted(t["name"] for t in r["Tag"]) for r in export(b, module)}
            assert any(tags_a.values())
            assert all(tags_b[t] == tags_a[s] for s, t in maps[module].items()), module

        # The "fresh" org is not empty: it holds sample leads equal to A's first ones (External_Ref is
        # unique), so Zoho refuses them as duplicates — said as such, with how to take them over.
        clashes = [r for r in lines_rep if r["module"] == "Leads"]
        sample = {r["id"] for r in export(b, "Leads")} - set(maps["Leads"].values())
        assert clashes and {r["code"] for r in clashes} == {"DUPLICATE_DATA"} and len(clashes) == len(sample)
        assert all("--mode upsert --key" in r["message"] for r in clashes)
        adopt = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), modules=["Leads"],
                        mode="upsert", key="External_Ref", write_api=write_api)
        # Taken over and updated — but for a converted lead, which Zoho does not let anyone update.
        refused = report(adopt.report_path)
        assert {r["code"] for r in refused} <= {"CANNOT_PROCESS"} and len(refused) < len(sample)
        assert set(id_maps(state)["Leads"].values()) == {r["id"] for r in export(b, "Leads")} - {
            r["target_id"] or "" for r in refused} - {r["source_id"] for r in refused}


def test_an_incremental_run_replaces_a_parents_lines_exactly(tmp_path):
    with Emulator(records=600, seed=72) as a, Emulator(records=0, seed=72) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=MODULES, files=False).ok
        assert migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state),
                       modules=ORDERED).ok
        # In A: one quote loses a line, one line changes, one is added (Zoho replaces the subform).
        z = ZohoClient(a)
        quote = next(q for q, ls in lines(a, "Quoted_Items").items() if len(ls) >= 2)
        old = sorted(lines(a, "Quoted_Items")[quote], key=lambda r: int(r["Sequence_Number"]))
        product = next(p["id"] for p in export(a, "Products") if p["id"] != ref(old[0]["Product_Name"]))
        body = [{"id": old[0]["id"], "Quantity": 7, "Discount": 3.5},
                {"Product_Name": {"id": product}, "Quantity": 2, "List_Price": 19.99}]
        r = z.put(f"/Quotes/{quote}", json={"data": [{"Quoted_Items": body}]})
        assert r.status_code == 200, r.text
        assert len(lines(a, "Quoted_Items")[quote]) == 2
        a.advance_clock(2)
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=MODULES, incremental=True, files=False).ok
        inc = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), modules=ORDERED,
                      incremental=True)
        assert inc.ok, inc.as_rows()
        by = {m.module: m for m in inc.modules}
        assert by["Quotes"].rows_written >= 1
        maps = id_maps(state)
        assert_orders_equal(a, b, maps)
        assert len(lines(b, "Quoted_Items")[maps["Quotes"][quote]]) == 2  # the dropped line is gone, none doubled
        assert old[1]["id"] not in maps["Quoted_Items"]  # nor kept in the id map


def test_a_run_killed_while_inserting_orders_resumes_with_nothing_twice(tmp_path):
    with Emulator(records=3000, seed=73) as a, Emulator(records=0, seed=73) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=ORDERED, files=False).ok
        before = {m: {r["id"] for r in export(b, m)} for m in (*ORDERS, *ORDERS.values())}
        args = ["migrate", "--source", f"parquet:{pq_dir}", "--target", b.connection_string + ALLOW,
                "--state", str(state), "--write-api", "rest"]
        # Slow answers: the kill lands while a batch of quotes (with their lines) is on the wire.
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 150}, timeout=30).raise_for_status()
        proc = zohocrm(*args)
        pending = state.with_name("s.pending")
        wait_for(lambda: sent_without_answer(pending, "Quotes") or proc.poll() is not None, "quotes on the wire")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        time.sleep(1.0)  # the call in flight lands
        requests.post(f"{b.origin}/__emulator/config", json={"latency_ms": 0}, timeout=30).raise_for_status()
        assert list(pending.glob("*.parquet")), "the kill left no batch to resume"

        again = zohocrm_run(*args)
        # Only B's own sample records may clash (a unique name A's copy has too), never an order.
        refused = [r for p in state.with_name("s.reports").glob("report-*.csv") for r in report(str(p))]
        assert again.returncode == (1 if refused else 0), again.stderr
        assert all(r["code"] == "DUPLICATE_DATA" and r["module"] not in ORDERS for r in refused), refused
        maps = id_maps(state)
        for parent, items in ORDERS.items():
            made = {r["id"] for r in export(b, parent)} - before[parent]
            assert made == set(maps[parent].values()), parent  # each order once: none lost, none twice
            assert len(maps[parent]) == len(export(a, parent))
            made_lines = {r["id"] for r in export(b, items)} - before[items]
            assert made_lines == set(maps[items].values()), items
        assert_orders_equal(a, b, maps)
        assert not list(pending.glob("*.parquet"))


def test_lines_changed_without_their_parent_are_rewritten_on_their_own(tmp_path):
    """A copy whose line changed but whose parent row did not (a hand-edited file): the parent's lines
    are rewritten alone, since Zoho takes lines only through their parent."""
    with Emulator(records=1500, seed=74) as a, Emulator(records=0, seed=74) as b:
        pq_dir, state = tmp_path / "pq", tmp_path / "s.duckdb"
        assert migrate(a.connection_string, f"parquet:{pq_dir}", modules=ORDERED, files=False).ok
        assert migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), modules=ORDERED).ok
        path = pq_dir / "Quoted_Items.parquet"
        table = pq.read_table(path)
        quote = table.column("Parent_Id_Id")[0].as_py()
        first = pc.equal(table.column("id"), table.column("id")[0])
        with FileSource.from_url(str(pq_dir)) as files:
            stamp = files.signpost("Quoted_Items")
        assert stamp is not None
        when = pa.scalar(stamp.replace(microsecond=0) - timedelta(seconds=1),
                         table.schema.field("Modified_Time").type)
        table = table.set_column(table.schema.get_field_index("Quantity"), "Quantity",
                                 pc.if_else(first, pa.scalar(99.0, table.schema.field("Quantity").type),
                                            table.column("Quantity")))
        table = table.set_column(table.schema.get_field_index("Modified_Time"), "Modified_Time",
                                 pc.if_else(first, when, table.column("Modified_Time")))
        pq.write_table(table, path)
        inc = migrate(f"parquet:{pq_dir}", b.connection_string + ALLOW, state_path=str(state), modules=ORDERED,
                      incremental=True)
        assert inc.ok, inc.as_rows()
        by = {m.module: m for m in inc.modules}
        assert by["Quoted_Items"].rows_read == 1 and by["Quotes"].rows_read == 0 and by["Quotes"].rows_written == 1
        maps = id_maps(state)
        got = lines(b, "Quoted_Items")[maps["Quotes"][quote]]
        want = [r for r in table.to_pylist() if r["Parent_Id_Id"] == quote]
        assert sorted(r["Quantity"] for r in got) == sorted(r["Quantity"] for r in want) and 99.0 in [
            r["Quantity"] for r in got]
        assert {maps["Quoted_Items"][r["id"]] for r in want} == {r["id"] for r in got}


def test_a_dry_run_takes_the_products_its_run_would_insert_as_there(tmp_path):
    with Emulator(records=500, seed=75) as a, Emulator(records=0, seed=75) as b:
        quotes = len(export(a, "Quotes"))
        res = migrate(a.connection_string, b.connection_string + ALLOW + ";DryRun=true", state_path=str(tmp_path / "s"),
                      modules=["Products", "Price_Books", "Quotes", "Quoted_Items"])
        by = {m.module: m for m in res.modules}
        assert by["Quotes"].would == {"insert": quotes} and by["Quotes"].rows_failed == 0
        assert len(export(b, "Quotes")) == 3  # the sample ones: nothing was written
        # Without Products in the run, every quote says which product it lacks.
        res = migrate(a.connection_string, b.connection_string + ALLOW + ";DryRun=true", state_path=str(tmp_path / "s"),
                      modules=["Quotes", "Quoted_Items"])
        rows = report(res.report_path)
        assert len(rows) == quotes and {r["code"] for r in rows} == {"LOOKUP_NOT_IN_TARGET"}
        assert all("Product_Name points at Products record" in r["message"] for r in rows)
        # A line-item table alone writes nothing, and says why.
        alone = migrate(a.connection_string, b.connection_string + ALLOW, state_path=str(tmp_path / "s2"),
                        modules=["Quoted_Items"])
        assert alone.ok and alone.modules[0].rows_written == 0 and alone.modules[0].rows_read > 0
        assert "its parent is not in this run" in alone.modules[0].notes[0]
