"""Files and links into Zoho: org A -> parquet -> a fresh org B, then B -> parquet, compared with A.

Two real emulators over HTTP. Attachments must arrive on their parents' new records and file
and image fields on their records, byte-exact (the SHA-256 B's own export computes equals A's);
campaign members with their status on the mapped campaigns and records, contact roles on the
mapped deals. A second run sends
nothing; a run killed while its uploads' answers are lost, then run again, leaves no duplicate;
a run through 5% faults (lost answers included) ends equal too; rows removed from the source are
removed from B.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from connector.emulator import Emulator
from connector.sync import migrate, run
from connector.sync.files import FileSource
from connector.sync.target_zoho import ZohoTarget

from .helpers import session

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ["Accounts", "Contacts", "Leads", "Deals", "Campaigns", "Projects"]
MODULES = [*RECORDS, "Attachments", "_Campaign_Members", "_Contact_Roles"]
# Project_Milestones: Projects' subform, whose target lines a run lists (query) to map and replace them
WRITES = (";AllowedOperations=read,insert,update,delete;AllowedModules="
          + ",".join([*RECORDS, "Attachments", "Project_Milestones"]))
UPLOADS = ("upload_attachment", "upload_files", "link_records", "link_record", "put_contact_role")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Org A's records, attachments (with their bytes) and campaign members, as parquet."""
    out = tmp_path_factory.mktemp("a") / "out"
    with Emulator(records=700, seed=31) as a:
        result = migrate(a.connection_string, f"parquet:{out}", modules=MODULES)
    assert result.ok, result.as_rows()
    return out


def into(b: Emulator, source: Path, state: Path, *, incremental: bool = False, fast: bool = True) -> Any:
    """One migration of ``source`` into B (short backoff: faults are injected on purpose)."""
    target = ZohoTarget(session(b, WRITES), state_path=state) if fast else \
        ZohoTarget.from_url(b.connection_string + WRITES, state_path=state)
    with FileSource(source, "parquet") as src, target:
        return run(src, target, modules=MODULES, incremental=incremental)


def uploads(b: Emulator) -> int:
    calls = b.stats()["calls"]
    return sum(int(calls.get(k, 0)) for k in UPLOADS)


def idmap(state: Path) -> dict[tuple[str, str], str]:
    con = duckdb.connect(str(state), read_only=True)
    try:
        return {(m, s): t for m, s, t in con.execute("SELECT module, source_id, target_id FROM idmap").fetchall()}
    finally:
        con.close()


def table(folder: Path, module: str) -> list[dict[str, Any]]:
    return pq.read_table(folder / f"{module}.parquet").to_pylist()


def field_files(value: str | None) -> list[tuple[str, str]]:
    return sorted((e["File_Name__s"], e["$sha256"]) for e in json.loads(value)) if value else []


def compare(a_out: Path, b: Emulator, state: Path, tmp: Path) -> dict[str, int]:
    """B exported again: every A file and link whose records were migrated is in B once, byte-exact."""
    b_out = tmp / f"b-{time.monotonic_ns()}"
    result = migrate(b.connection_string, f"parquet:{b_out}",
                     modules=["Projects", "Attachments", "_Campaign_Members", "_Contact_Roles"])
    assert result.ok, result.as_rows()
    ids = idmap(state)
    # attachments: (new parent, name, bytes or link), as a multiset: a duplicate counts twice
    want, unmapped = Counter(), 0
    for r in table(a_out, "Attachments"):
        parent = ids.get((r["Parent_Id_Module"], r["Parent_Id_Id"]))
        if parent is None:
            unmapped += 1
            continue
        want[(parent, r["File_Name"], r["File_SHA256"] or r["Link_URL"])] += 1
    parents = {p for p, _, _ in want}
    got = Counter((r["Parent_Id_Id"], r["File_Name"], r["File_SHA256"] or r["Link_URL"])
                  for r in table(b_out, "Attachments") if r["Parent_Id_Id"] in parents)
    assert got == want
    assert all(k[2] for k in want) and len(want) > 20
    # file and image fields: the same files (name, SHA-256) on the mapped record
    b_projects = {r["id"]: r for r in table(b_out, "Projects")}
    files = 0
    for r in table(a_out, "Projects"):
        mine = b_projects[ids[("Projects", r["id"])]]
        for f in ("Contract", "Photos"):
            assert field_files(mine[f]) == field_files(r[f]), (r["id"], f)
            files += len(field_files(r[f]))
    assert files > 20
    # campaign members: the same links, with their status, between the mapped records
    want_links, lost_links = set(), 0
    for r in table(a_out, "_Campaign_Members"):
        campaign, member = ids.get(("Campaigns", r["Campaign_Id"])), ids.get((r["Member_Module"], r["Member_Id"]))
        if campaign is None or member is None:
            lost_links += 1  # a record whose own write failed (a duplicate in B): the link fails with it
            continue
        want_links.add((campaign, r["Member_Module"], member, r["Member_Status"]))
    campaigns = {w[0] for w in want_links}
    got_links = [(r["Campaign_Id"], r["Member_Module"], r["Member_Id"], r["Member_Status"])
                 for r in table(b_out, "_Campaign_Members") if r["Campaign_Id"] in campaigns]
    assert len(got_links) == len(set(got_links)) and set(got_links) == want_links and len(want_links) > 20
    # contact roles: the same contacts on the mapped deals, with the same role
    want_roles = {(ids[("Deals", r["Deal_Id"])], ids[("Contacts", r["Contact_Id"])], r["Contact_Role"])
                  for r in table(a_out, "_Contact_Roles")}
    deals = {w[0] for w in want_roles}
    got_roles = [(r["Deal_Id"], r["Contact_Id"], r["Contact_Role"]) for r in table(b_out, "_Contact_Roles")
                 if r["Deal_Id"] in deals]
    assert len(got_roles) == len(set(got_roles)) and set(got_roles) == want_roles and len(want_roles) > 5
    return {"attachments": sum(want.values()), "unmapped": unmapped, "files": files,
            "links": len(want_links) + len(want_roles), "unmapped_links": lost_links}


def report_lines(state: Path) -> list[dict[str, str]]:
    import csv

    out: list[dict[str, str]] = []
    for p in sorted(state.with_name(state.stem + ".reports").glob("files-*.csv")):
        with open(p, newline="", encoding="utf-8") as fh:
            out += list(csv.DictReader(fh))
    return out


def test_round_trip_is_byte_exact_and_a_second_run_sends_nothing(exported: Path, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    with Emulator(records=0, seed=77) as b:
        result = into(b, exported, state)
        counts = compare(exported, b, state, tmp_path)
        # attachments of parents this run did not migrate (Quotes, Cases ...) fail, each said once
        failed = [x for x in report_lines(state) if x["status"] == "failed"]
        assert counts["unmapped"] > 0 and len(failed) == counts["unmapped"] + counts["unmapped_links"]
        assert {x["code"] for x in failed} <= {"PARENT_NOT_MIGRATED", "RECORD_NOT_MIGRATED"}
        assert {m.module: m.rows_failed for m in result.modules}["Attachments"] == counts["unmapped"]
        uploaded = [x for x in report_lines(state) if x["status"] in ("uploaded", "linked")]
        ids = idmap(state)
        photos = sum(1 for m in RECORDS for r in table(exported, m) if r.get("Record_Image_SHA256") and (m, r["id"]) in ids)
        assert photos and sum(x["field"] == "Record_Image" for x in uploaded) == photos  # (test_zoho_photos.py)
        assert len(uploaded) == counts["attachments"] + counts["files"] + counts["links"] + photos
        before = uploads(b)
        again = into(b, exported, state)
        assert uploads(b) == before, "a second run uploaded or linked again"
        assert sum(m.rows_written for m in again.modules if m.module in ("Attachments", "_Campaign_Members",
                                                                         "_Contact_Roles")) == 0
        compare(exported, b, state, tmp_path)


def test_a_run_killed_while_answers_are_lost_leaves_no_duplicate(exported: Path, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    with Emulator(records=0, seed=78) as b:
        spec = {"source": f"parquet:{exported}", "target": b.connection_string + WRITES,
                "options": {"modules": MODULES, "state_path": str(state)}}
        proc = subprocess.Popen([sys.executable, "-m", "tests.sync.files_child", json.dumps(spec)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.strip() == "start Attachments":
                    break
            # From here every answer is lost after its write landed; the child is killed once
            # several uploads have landed without it learning their ids.
            requests.post(f"{b.origin}/__emulator/config", json={"fault_rate": 1.0, "fault_kinds": ["drop_after"]},
                          timeout=30).raise_for_status()
            while int(b.stats()["calls"].get("upload_attachment", 0)) < 5 and proc.poll() is None:
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
        landed = int(b.stats()["calls"].get("upload_attachment", 0))
        assert landed >= 5
        con = duckdb.connect(str(state), read_only=True)
        sending = con.execute("SELECT count(*) FROM child_writes WHERE status = 'sending'").fetchone()
        con.close()
        assert sending is not None and sending[0] >= 1  # the kill left uploads whose outcome it never saw
        requests.post(f"{b.origin}/__emulator/config", json={"fault_rate": 0.0}, timeout=30).raise_for_status()
        into(b, exported, state)
        compare(exported, b, state, tmp_path)  # each attachment once: the landed ones were found, not re-sent
        assert any(x["status"] == "found after a stop" for x in report_lines(state))


def test_five_percent_faults_with_lost_answers_end_equal(exported: Path, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    with Emulator(records=0, seed=79, fault_rate=0.05,
                  fault_kinds=("500", "502", "503", "429", "error200", "drop", "drop_after")) as b:
        for _ in range(6):  # a lost answer fails its row for this run; the next run settles it
            try:
                result = into(b, exported, state)
            except Exception:  # a call that failed through all its retries stops the run: run again
                continue
            if all(m.rows_failed == 0 for m in result.modules if m.module in ("Projects", "_Contact_Roles")):
                break
        assert sum(b.stats()["faults_injected"].values()) > 0
        requests.post(f"{b.origin}/__emulator/config", json={"fault_rate": 0.0}, timeout=30).raise_for_status()
        into(b, exported, state)
        compare(exported, b, state, tmp_path)


def test_rows_gone_from_the_source_are_removed_and_changed_files_refused(exported: Path, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    source = tmp_path / "src"
    shutil.copytree(exported, source)
    with Emulator(records=0, seed=80) as b:
        into(b, source, state)
        atts = pq.read_table(source / "Attachments.parquet")
        files = atts.filter(pc.is_valid(atts.column("File_Path")))
        ids = idmap(state)
        mapped = [r for r in files.to_pylist() if ("Attachments", r["id"]) in ids]
        gone, changed = mapped[0], mapped[1]
        members = pq.read_table(source / "_Campaign_Members.parquet")
        mapped_members = [r for r in members.to_pylist() if ("_Campaign_Members", r["id"]) in ids]
        member_gone, member_moved = mapped_members[0], mapped_members[1]
        status = "Opted Out" if member_moved["Member_Status"] != "Opted Out" else "Bounced"
        members = members.set_column(members.schema.get_field_index("Member_Status"), "Member_Status",
                                     pc.if_else(pc.equal(members.column("id"), member_moved["id"]), status,
                                                members.column("Member_Status")))
        pq.write_table(atts.filter(pc.not_equal(atts.column("id"), gone["id"])), source / "Attachments.parquet")
        pq.write_table(members.filter(pc.not_equal(members.column("id"), member_gone["id"])),
                       source / "_Campaign_Members.parquet")
        roles = pq.read_table(source / "_Contact_Roles.parquet")
        role_gone = next(r for r in roles.to_pylist() if ("_Contact_Roles", r["id"]) in ids)
        pq.write_table(roles.filter(pc.not_equal(roles.column("id"), role_gone["id"])), source / "_Contact_Roles.parquet")
        into(b, source, state, incremental=True)
        listed = {x["id"] for x in requests.get(f"{b.origin}/__emulator/export/Attachments", timeout=60).json()["data"]}
        assert ids[("Attachments", gone["id"])] not in listed
        assert ids[("Attachments", changed["id"])] in listed  # the others stay
        assert ("Attachments", gone["id"]) not in idmap(state)
        campaign, member = ids[("Campaigns", member_gone["Campaign_Id"])], ids[(member_gone["Member_Module"],
                                                                                member_gone["Member_Id"])]
        linked = requests.get(f"{b.origin}/__emulator/export/Campaigns_X_{member_gone['Member_Module']}",
                              timeout=60).json()["data"]
        assert not [x for x in linked if str((x.get("Campaign") or {}).get("id")) == campaign and
                    str((x.get(member_gone["Member_Module"][:-1]) or {}).get("id")) == member]
        deal, contact = ids[("Deals", role_gone["Deal_Id"])], ids[("Contacts", role_gone["Contact_Id"])]
        assert not [x for x in requests.get(f"{b.origin}/__emulator/export/Deals_X_Contact_Roles", timeout=60).json()
                    ["data"] if x["Deal"]["id"] == deal and x["Contact"]["id"] == contact]
        assert sum(1 for x in report_lines(state) if x["status"] == "delinked") == 2
        # a link whose status changed at the source is re-sent with it, and only that one
        moved = ids[("Campaigns", member_moved["Campaign_Id"])], ids[(member_moved["Member_Module"],
                                                                     member_moved["Member_Id"])]
        field = member_moved["Member_Module"][:-1]
        assert [x["Member_Status"] for x in requests.get(
            f"{b.origin}/__emulator/export/Campaigns_X_{member_moved['Member_Module']}", timeout=60).json()["data"]
            if (x["Campaign"]["id"], x[field]["id"]) == moved] == [status]
        relinked = [x for x in report_lines(state) if x["module"] == "_Campaign_Members" and x["status"] == "linked"]
        assert [x["source_id"] for x in relinked].count(member_moved["id"]) == 2  # first run, then the change
        assert len(relinked) == len(mapped_members) + 1
        assert {x["status"] for x in report_lines(state)} >= {"deleted", "delinked"}
        # a file whose bytes are not the table's is refused, and nothing is sent for it
        with Emulator(records=0, seed=81) as c:
            (source / changed["File_Path"]).write_bytes(b"not the exported bytes")
            other = tmp_path / "st2.duckdb"
            result = into(c, source, other)
            bad = [x for x in report_lines(other) if x["source_id"] == changed["id"]]
            assert [x["code"] for x in bad] == ["FILE_CHANGED"]
            assert {m.module: m.rows_failed for m in result.modules}["Attachments"] >= 1
            assert ("Attachments", changed["id"]) not in idmap(other)


def test_a_file_gone_from_a_field_is_taken_off_the_record(exported: Path, tmp_path: Path) -> None:
    state = tmp_path / "st.duckdb"
    source = tmp_path / "src"
    shutil.copytree(exported, source)
    with Emulator(records=0, seed=82) as b:
        into(b, source, state)
        projects = pq.read_table(source / "Projects.parquet")
        rows = projects.to_pylist()
        row = next(r for r in rows if r["Photos"] and len(json.loads(r["Photos"])) >= 2)
        kept = json.loads(row["Photos"])[1:]
        row["Photos"] = json.dumps(kept)
        pq.write_table(type(projects).from_pylist(rows, schema=projects.schema), source / "Projects.parquet")
        before = uploads(b)
        into(b, source, state)  # a full load again: every record updated, its files compared
        assert uploads(b) == before, "nothing new to upload"
        target = idmap(state)[("Projects", row["id"])]
        got = requests.get(f"{b.origin}/__emulator/export/Projects", timeout=60).json()["data"]
        photos = next(x["Photos"] for x in got if x["id"] == target)
        assert sorted(e["$sha256"] for e in photos) == sorted(e["$sha256"] for e in kept)
        assert any(x["status"] == "removed" and x["source_id"] == row["id"] for x in report_lines(state))


def test_a_dry_run_uploads_and_links_nothing(exported: Path, tmp_path: Path) -> None:
    with Emulator(records=0, seed=83) as b:
        target = ZohoTarget(session(b, WRITES + ";DryRun=true"), state_path=tmp_path / "st.duckdb")
        with FileSource(exported, "parquet") as src, target:
            result = run(src, target, modules=MODULES)
        assert uploads(b) == 0
        by = {m.module: m for m in result.modules}
        assert by["Attachments"].error is None and any("would be uploaded or linked" in n for n in by["Attachments"].notes)
        assert by["_Contact_Roles"].error is None
