"""``--no-files``: a migration of records only, and what happens when a later run takes the files after all.

Against the emulator over real HTTP. Leaving files out makes no download call at all (attachments,
record photos, file fields) and writes no file; the rows keep Zoho's own file columns (ids, names,
the file fields' JSON) but none of the columns a download adds. A module loaded one way and synced
the other is loaded whole (its file columns would otherwise be right for some rows only); modules
without files stay incremental. Files of an earlier load go when a run leaves them out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from connector.cli.state_cmd import status_table
from connector.emulator import Emulator
from connector.errors import ConfigError, StateError
from connector.sync import migrate
from connector.sync.admin import locate, show
from connector.sync.state import ModuleState

from ..conftest import ZohoClient
from .test_record_files import assert_files_match, read_target, target_of

DOWNLOADS = ("download_attachment", "download_field_file", "get_photo")
MODULES = ["Attachments", "Projects", "Leads", "Contacts"]
ADDED = {"File_Path", "File_Size", "File_SHA256", "Record_Image_Path", "Record_Image_Size", "Record_Image_SHA256"}


def downloads(emu: Emulator) -> int:
    calls = emu.stats()["calls"]
    return sum(int(calls.get(k, 0)) for k in DOWNLOADS)


def modes(result: object) -> dict[str, str]:
    return {m.module: m.mode for m in result.modules}  # type: ignore[attr-defined]


def files_root(kind: str, tmp: Path) -> Path:
    return tmp / "crm.duckdb.files" if kind == "duckdb" else tmp / "out" / "_files"


@pytest.mark.parametrize("kind", ["parquet", "duckdb"])
def test_records_only_then_files_then_records_only_again(kind: str, make_emulator: Callable[..., Emulator],
                                                         tmp_path: Path) -> None:
    emu = make_emulator(records=120, seed=31)
    client = ZohoClient(emu)
    url, where, base = target_of(kind, tmp_path)
    leads = client.export("Leads")
    assert any(r.get("Record_Image") for r in leads), "the org has record photos to leave out"

    before = downloads(emu)
    first = migrate(emu.connection_string, url, modules=MODULES, files=False)
    assert first.ok, [(m.module, m.error) for m in first.modules]
    assert downloads(emu) == before, "records only: not one download"
    assert not files_root(kind, tmp_path).exists()
    for module in MODULES:
        rows = read_target(kind, where, module)
        assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in client.export(module)), module
        assert not ADDED & set(rows[0]), module  # nothing a download would have added
    atts = read_target(kind, where, "Attachments")
    assert all(r["File_Name"] for r in atts) and any(r["File_Id"] for r in atts)  # Zoho's own columns stay
    projects = [r for r in read_target(kind, where, "Projects") if r["Contract"]]
    assert projects and all("$path" not in e for r in projects for e in json.loads(r["Contract"]))
    assert {r["id"]: r["Record_Image"] for r in read_target(kind, where, "Leads")} == \
        {r["id"]: r.get("Record_Image") for r in leads}

    # Nothing changed at Zoho: the modules with files are loaded whole to take them, the others stay quiet.
    emu.advance_clock(2)
    taken = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert taken.ok, [(m.module, m.error) for m in taken.modules]
    assert modes(taken) == {"Attachments": "full", "Projects": "full", "Leads": "full", "Contacts": "incremental"}
    assert all(any(n.startswith("loaded whole: its files were left out") for n in m.notes)
               for m in taken.modules if m.mode == "full")
    assert assert_files_match(client, kind, where, base) > 10
    photos = {r["id"]: r for r in read_target(kind, where, "Leads")}
    with_photo = [r["id"] for r in leads if r.get("Record_Image")]
    assert all((base / photos[i]["Record_Image_Path"]).is_file() for i in with_photo)
    after_taking = downloads(emu)

    # A quiet run that still takes them: incremental everywhere, nothing downloaded again.
    emu.advance_clock(2)
    quiet = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert quiet.ok and set(modes(quiet).values()) == {"incremental"} and downloads(emu) == after_taking

    # Left out again: loaded whole without the columns, and the files of the earlier load go.
    emu.advance_clock(2)
    dropped = migrate(emu.connection_string, url, modules=MODULES, incremental=True, files=False)
    assert dropped.ok, [(m.module, m.error) for m in dropped.modules]
    assert modes(dropped)["Leads"] == "full" and modes(dropped)["Contacts"] == "incremental"
    assert downloads(emu) == after_taking
    for module in ("Attachments", "Projects", "Leads"):
        assert not (files_root(kind, tmp_path) / module).exists(), module
        assert not ADDED & set(read_target(kind, where, module)[0]), module

    # And a quiet records-only run reads nothing whole.
    emu.advance_clock(2)
    again = migrate(emu.connection_string, url, modules=MODULES, incremental=True, files=False)
    assert again.ok and set(modes(again).values()) == {"incremental"} and downloads(emu) == after_taking


def test_changes_synced_without_files_carry_their_file_ids(make_emulator: Callable[..., Emulator],
                                                           tmp_path: Path) -> None:
    # Records only, incrementally: a new attachment arrives as a row with its file's id and name, no bytes.
    emu = make_emulator(records=300, seed=32)
    client = ZohoClient(emu)
    out = tmp_path / "out"
    assert migrate(emu.connection_string, f"parquet:{out}", modules=["Attachments"], files=False).ok
    parent = client.export("Attachments")[0]
    r = client.post(f"/{parent['$se_module']}/{parent['Parent_Id']['id']}/Attachments",
                    files={"file": ("minutes.txt", b"minutes of the meeting", "text/plain")})
    assert r.status_code == 200, r.text
    emu.advance_clock(2)
    before = downloads(emu)
    run = migrate(emu.connection_string, f"parquet:{out}", modules=["Attachments"], incremental=True, files=False)
    assert run.ok and modes(run) == {"Attachments": "incremental"}
    assert downloads(emu) == before
    rows = pq.read_table(out / "Attachments.parquet").to_pylist()
    new = [x for x in rows if x["File_Name"] == "minutes.txt"]
    assert len(new) == 1 and new[0]["File_Id"] and "File_Path" not in new[0]


def test_a_zoho_target_refuses_to_leave_files_out(emulator: Emulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot leave files out") as caught:
        migrate(f"parquet:{tmp_path / 'nothing'}", emulator.connection_string, files=False,
                state_path=str(tmp_path / "state.duckdb"))
    assert "--no-files" in caught.value.hint
    # The command line says so before it opens anything: no state file, no call.
    calls = sum(emulator.stats()["calls"].values())
    done = subprocess.run([sys.executable, "-m", "connector.cli", "migrate", "--source", f"parquet:{tmp_path / 'x'}",
                           "--target", emulator.connection_string, "--no-files", "--state", str(tmp_path / "s.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "cannot leave files out" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s.duckdb").exists() and sum(emulator.stats()["calls"].values()) == calls


@pytest.mark.parametrize(("raw", "want"), [
    ({"module": "Leads", "loaded": True}, True),  # written before files could be left out: they were taken
    ({"module": "Leads", "loaded": True, "files": True}, True),
    ({"module": "Leads", "loaded": True, "files": False}, False),
])
def test_the_state_says_whether_files_were_taken(raw: dict[str, object], want: bool) -> None:
    state = ModuleState.from_json(raw)
    assert state.files is want
    assert ModuleState.from_json(state.to_json()) == state


def test_state_show_says_files_were_left_out_and_an_edited_flag_is_corrupt(make_emulator: Callable[..., Emulator],
                                                                     tmp_path: Path) -> None:
    emu = make_emulator(records=60, seed=33)
    out = tmp_path / "out"
    assert migrate(emu.connection_string, f"parquet:{out}", modules=["Contacts", "Leads"], files=False).ok
    view = show(locate(f"parquet:{out}"))
    # Leads' record photos were left out; Contacts has no files, so nothing of it was
    assert sorted((m.module, m.files) for m in view.modules) == [("Contacts", True), ("Leads", False)]
    console = Console(width=200, record=True)
    console.print(status_table(view))
    assert "left out" in console.export_text()
    manifest = out / "_zohocrm_state.json"
    data = json.loads(manifest.read_text())
    data["modules"]["Leads"]["state"]["files"] = "no"
    manifest.write_text(json.dumps(data))
    with pytest.raises(StateError, match="files is 'no', not true or false"):
        migrate(emu.connection_string, f"parquet:{out}", modules=["Leads"], incremental=True)
