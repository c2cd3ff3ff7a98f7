"""File contents in migrations: attachments and file/image fields land under the target, byte-exact.

Against the enterprise emulator over real HTTP: every file is compared with the
SHA-256 the emulator's export gives for it (its ground truth), the files are
private, a quiet incremental run downloads nothing, and a run after changes
downloads only the new files and removes the ones that went.
"""

from __future__ import annotations

import hashlib
import json
import stat
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.sync import migrate, open_source
from connector.sync.record_files import FOLDER_MANIFEST, FilePlan, RecordFiles, safe_name

from ..conftest import ZohoClient

MODULES = ["Attachments", "Projects"]
DOWNLOADS = ("download_attachment", "download_field_file")


def downloads(emu: Emulator) -> int:
    c = emu.stats()["calls"]
    return sum(int(c.get(k, 0)) for k in DOWNLOADS)


def read_target(kind: str, where: Path, module: str) -> list[dict[str, Any]]:
    if kind == "parquet":
        return pq.read_table(where / f"{module}.parquet").to_pylist()
    if kind == "csv":  # typed back through the folder's schema sidecar, as the csv: source reads it
        with open_source(f"csv:{where}") as src:
            return [r for b in src.read(module) for r in b.to_pylist()]
    con = duckdb.connect(str(where), read_only=True)
    try:
        return con.sql(f'SELECT * FROM "{module}"').to_arrow_table().to_pylist()
    finally:
        con.close()


def target_of(kind: str, tmp: Path) -> tuple[str, Path, Path]:
    """(target URL, where its tables are, the folder the files' paths are relative to)."""
    if kind == "duckdb":
        return f"duckdb:{tmp / 'crm.duckdb'}", tmp / "crm.duckdb", tmp
    return f"{kind}:{tmp / 'out'}", tmp / "out", tmp / "out"


def check_private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def assert_files_match(client: ZohoClient, kind: str, where: Path, base: Path) -> int:
    """Every attachment and file-field file is where its row says, with the emulator's bytes."""
    return assert_attachments_match(client, kind, where, base) + assert_field_files_match(client, kind, where, base)


def assert_attachments_match(client: ZohoClient, kind: str, where: Path, base: Path) -> int:
    """Every attachment's file is where its row says, with the emulator's bytes."""
    exported = client.export("Attachments")
    want = {a["id"]: a.get("$sha256") for a in exported}
    rows = {r["id"]: r for r in read_target(kind, where, "Attachments")}
    assert want and sorted(rows) == sorted(want)
    n = 0
    for rid, sha in want.items():
        r = rows[rid]
        if sha is None:  # a link attachment: no bytes to keep
            assert r["Link_URL"] and r["File_Path"] is None and r["File_SHA256"] is None
            continue
        data = (base / r["File_Path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha == r["File_SHA256"]
        assert len(data) == r["File_Size"] == int(r["Size"])
        assert r["File_Path"].split("/")[-2] == rid and r["File_Path"].endswith(safe_name(r["File_Name"]))
        check_private(base / r["File_Path"])
        n += 1
    return n


def assert_field_files_match(client: ZohoClient, kind: str, where: Path, base: Path) -> int:
    """Every file of the Projects' file and image fields is where its entry says, byte-exact."""
    n = 0
    projects = {r["id"]: r for r in read_target(kind, where, "Projects")}
    for rec in client.export("Projects"):
        for field in ("Contract", "Photos"):
            entries = json.loads(projects[rec["id"]][field]) if projects[rec["id"]][field] else []
            truth = {e["File_Id__s"]: e["$sha256"] for e in rec.get(field) or []}
            assert sorted(e["File_Id__s"] for e in entries) == sorted(truth)
            paths = set()
            for e in entries:
                data = (base / e["$path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == truth[e["File_Id__s"]] == e["$sha256"]
                assert len(data) == e["$size"]
                paths.add(e["$path"])
                n += 1
            assert len(paths) == len(entries), "two files of one field never share a path"
    return n


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    with Emulator(records=400, seed=21) as emu:
        yield emu


@pytest.mark.parametrize("kind", ["parquet", "csv", "duckdb"])
def test_migration_writes_every_file_byte_exact(kind: str, org: Emulator, tmp_path: Path) -> None:
    url, where, base = target_of(kind, tmp_path)
    result = migrate(org.connection_string, url, modules=MODULES)
    assert result.ok, [(m.module, m.error, m.notes) for m in result.modules]
    n = assert_files_match(ZohoClient(org), kind, where, base)
    assert n > 20
    files_root = base / "_files" if kind != "duckdb" else tmp_path / "crm.duckdb.files"
    assert files_root.is_dir() and stat.S_IMODE(files_root.stat().st_mode) == 0o700
    assert any("downloaded" in note for m in result.modules for note in m.notes)


def test_files_are_downloaded_concurrently_within_max_concurrency(make_emulator: Callable[..., Emulator],
                                                                   tmp_path: Path) -> None:
    # Every file is one GET: with Zoho's latency, one at a time is what made a whole-org migration slow.
    # Projects is read by one paged read (one call at a time): only its files can overlap.
    emu = make_emulator(records=300, seed=21, latency_ms=60)
    client = ZohoClient(emu)
    client.admin("POST", "stats")  # the peaks start now
    out = tmp_path / "out"
    result = migrate(emu.connection_string + ";MaxConcurrency=6", f"parquet:{out}", modules=["Projects"])
    assert result.ok, [(m.module, m.error, m.notes) for m in result.modules]
    assert assert_field_files_match(client, "parquet", out, out) >= 8
    seen = emu.stats()
    assert seen["rejected_429"] == 0
    assert 2 <= seen["concurrency"]["peak"] <= 6


def test_one_record_s_files_are_downloaded_at_once(make_emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    # One project with two files in each of its two file fields: the four GETs overlap (neither a
    # field nor a record's folder makes them wait in turn), and each file still lands whole.
    emu = make_emulator(records=100, seed=23, latency_ms=200, sizes={"Projects": 1})
    client = ZohoClient(emu)
    (project,) = client.export("Projects")
    assert (len(project["Contract"]), len(project["Photos"])) == (2, 2)
    client.admin("POST", "stats")
    out = tmp_path / "out"
    result = migrate(emu.connection_string + ";MaxConcurrency=6", f"parquet:{out}", modules=["Projects"])
    assert result.ok, [(m.module, m.error, m.notes) for m in result.modules]
    assert assert_field_files_match(client, "parquet", out, out) == 4
    assert emu.stats()["concurrency"]["peak"] >= 3  # 1 when they waited in turn (4 on a quiet machine)


def test_incremental_fetches_only_new_files_and_drops_gone_ones(make_emulator: Callable[..., Emulator],
                                                                tmp_path: Path) -> None:
    emu = make_emulator(records=300, seed=22)
    client = ZohoClient(emu)
    url = f"parquet:{tmp_path / 'out'}"
    assert migrate(emu.connection_string, url, modules=MODULES).ok

    before = downloads(emu)
    quiet = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert quiet.ok and downloads(emu) == before, "a run with nothing new downloads nothing"

    atts = client.export("Attachments")
    gone = atts[0]
    r = client.delete(f"/{gone['$se_module']}/{gone['Parent_Id']['id']}/Attachments/{gone['id']}")
    assert r.status_code == 200, r.text
    parent = atts[1]
    payload = b"new attachment " * 5000
    r = client.post(f"/{parent['$se_module']}/{parent['Parent_Id']['id']}/Attachments",
                    files={"file": ("report Q3.pdf", payload, "application/pdf")})
    assert r.status_code == 200, r.text
    project = next(p for p in client.export("Projects") if p.get("Contract"))
    r = client.put(f"/Projects/{project['id']}", json={"data": [{"Health_Score": 0.5}]})  # files unchanged
    assert r.status_code == 200, r.text
    emu.advance_clock(2)

    before = downloads(emu)
    run = migrate(emu.connection_string, url, modules=MODULES, incremental=True)
    assert run.ok, [(m.module, m.error) for m in run.modules]
    assert downloads(emu) - before == 1, "only the new attachment is fetched"
    assert not (tmp_path / "out" / "_files" / "Attachments" / gone["id"]).exists()
    assert assert_files_match(client, "parquet", tmp_path / "out", tmp_path / "out") > 10
    new = [r for r in read_target("parquet", tmp_path / "out", "Attachments") if r["File_Name"] == "report Q3.pdf"]
    assert [r["File_SHA256"] for r in new] == [hashlib.sha256(payload).hexdigest()]


def test_a_file_removed_from_a_field_leaves_the_target(make_emulator: Callable[..., Emulator],
                                                       tmp_path: Path) -> None:
    emu = make_emulator(records=300, seed=23)
    client = ZohoClient(emu)
    url = f"parquet:{tmp_path / 'out'}"
    assert migrate(emu.connection_string, url, modules=["Projects"]).ok
    project = next(p for p in client.export("Projects") if len(p.get("Contract") or []) >= 2)
    dropped = project["Contract"][0]
    rows = {r["id"]: r for r in read_target("parquet", tmp_path / "out", "Projects")}
    old_path = next(e["$path"] for e in json.loads(rows[project["id"]]["Contract"])
                    if e["File_Id__s"] == dropped["File_Id__s"])
    assert (tmp_path / "out" / old_path).is_file()
    r = client.put(f"/Projects/{project['id']}", json={"data": [{"Contract": [{"id": dropped["id"], "_delete": None}]}]})
    assert r.status_code == 200, r.text
    emu.advance_clock(2)
    before = downloads(emu)
    assert migrate(emu.connection_string, url, modules=["Projects"], incremental=True).ok
    assert downloads(emu) == before
    assert not (tmp_path / "out" / old_path).exists()
    assert assert_field_files_match(client, "parquet", tmp_path / "out", tmp_path / "out") > 5


def test_a_module_read_ahead_has_its_files_fetched_before_its_turn(make_emulator: Callable[..., Emulator],
                                                                    tmp_path: Path) -> None:
    """While one module is written, the next is read ahead, and its new files download then, not once the
    runner reaches it: at real latency a module with files no longer waits for every module before it."""
    from .helpers import mutate

    emu = make_emulator(records=300, seed=24)
    client = ZohoClient(emu)
    url, modules = f"parquet:{tmp_path / 'out'}", ["Leads", "Attachments"]
    first = migrate(emu.connection_string, url, modules=modules)
    assert first.ok and [m.module for m in first.modules] == modules
    mutate(emu, "Leads", updates=20, seed=3)  # the first module's turn writes rows...
    parent = client.export("Attachments")[1]  # ...and the second has one new file
    payload = b"read ahead " * 4000
    r = client.post(f"/{parent['$se_module']}/{parent['Parent_Id']['id']}/Attachments",
                    files={"file": ("ahead.pdf", payload, "application/pdf")})
    assert r.status_code == 200, r.text
    emu.advance_clock(2)

    before, during_first_turn = downloads(emu), []

    def progress(module: str, event: str, rows: int) -> None:
        if module == "Leads" and event == "delta" and not during_first_turn:
            # Leads is being written, Attachments read ahead: its file is asked meanwhile (waited for here,
            # with a generous bound: without the read ahead's downloads it never comes while Leads is held)
            give_up = time.monotonic() + 60
            while downloads(emu) == before and time.monotonic() < give_up:
                time.sleep(0.02)
            during_first_turn.append(downloads(emu) - before)

    run = migrate(emu.connection_string + ";MaxConcurrency=8", url, modules=modules, incremental=True,
                  progress=progress)
    assert run.ok, [(m.module, m.error) for m in run.modules]
    assert during_first_turn == [1], "the read ahead did not fetch the next module's file during Leads' turn"
    assert downloads(emu) - before == 1, "the turn took the download started ahead instead of asking again"
    (att,) = [m for m in run.modules if m.module == "Attachments"]
    assert any(n.startswith("files: 1 downloaded") for n in att.notes), att.notes  # counted once
    new = [r for r in read_target("parquet", tmp_path / "out", "Attachments") if r["File_Name"] == "ahead.pdf"]
    assert [r["File_SHA256"] for r in new] == [hashlib.sha256(payload).hexdigest()]
    assert assert_attachments_match(client, "parquet", tmp_path / "out", tmp_path / "out") > 10


# ---- pure parts -------------------------------------------------------------------------------


@given(st.text(max_size=400))
def test_safe_name_is_one_harmless_path_component(name: str) -> None:
    out = safe_name(name)
    assert out and out not in (".", "..") and not out.startswith(".")
    assert "/" not in out and "\\" not in out and not any(ord(c) < 32 or ord(c) == 127 for c in out)
    assert len(out.encode("utf-8")) <= 200


@pytest.mark.parametrize("name, want", [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "_._.._etc_passwd"), ("", "file"), ("..", "file"),
    (".bashrc", "_bashrc"), ("a\x00b\nc", "a_b_c"), ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
])
def test_safe_name_examples(name: str, want: str) -> None:
    assert safe_name(name) == want


def test_files_are_streamed_not_held_in_memory(tmp_path: Path) -> None:
    """A 64 MiB file goes through in 1 MiB chunks: the peak memory stays a few chunks."""
    chunk = b"z" * (1 << 20)

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        for _ in range(64):
            yield bytes(chunk)  # a fresh chunk each time, as a socket read gives

    files = RecordFiles(FilePlan("Attachments", attachments=True), fetch, tmp_path / "_files", tmp_path)
    import pyarrow as pa

    batch = pa.RecordBatch.from_pylist([{"id": "1", "File_Id": "f", "File_Name": "big.bin", "Parent_Id_Id": "2",
                                         "Parent_Id_Module": "Leads"}])
    tracemalloc.start()
    try:
        out = next(files.wrap([batch]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.column("File_Size").to_pylist() == [64 << 20]
    assert (tmp_path / "_files" / "Attachments" / "1" / "big.bin").stat().st_size == 64 << 20
    assert peak < 8 << 20, f"peak {peak:,} bytes"


def _one_attachment(tmp_path: Path, fetch: Callable[[str, dict[str, str]], Iterator[bytes]]) -> tuple[RecordFiles, Any]:
    import pyarrow as pa

    files = RecordFiles(FilePlan("Attachments", attachments=True), fetch, tmp_path / "_files", tmp_path, workers=4)
    batch = pa.RecordBatch.from_pylist([{"id": "1", "File_Id": "f", "File_Name": "a.txt", "Parent_Id_Id": "2",
                                         "Parent_Id_Module": "Leads"}])
    return files, batch


def test_a_file_started_ahead_is_waited_for_at_its_turn_not_asked_again(tmp_path: Path) -> None:
    """The turn takes the download started ahead (its answer, once it is in) instead of asking Zoho again."""
    import threading

    asked, release = [], threading.Event()

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        asked.append(path)
        release.wait(30)
        yield b"hello"

    files, batch = _one_attachment(tmp_path, fetch)
    assert list(files.prefetch([batch])) == [batch] and files.downloading()
    out: list[Any] = []
    turn = threading.Thread(target=lambda: out.extend(files.wrap([batch])))
    turn.start()
    time.sleep(0.2)  # the turn waits for the download under way
    assert not out
    release.set()
    turn.join(30)
    assert len(asked) == 1 and out[0].column("File_Size").to_pylist() == [5]
    assert (tmp_path / "_files" / "Attachments" / "1" / "a.txt").read_bytes() == b"hello"


def test_a_turn_whose_files_were_all_started_ahead_gives_its_pool_nothing(tmp_path: Path, monkeypatch) -> None:
    """The turn takes files started ahead from their downloads and hands its own pool only the rest: each task
    given to a pool short of workers starts a thread, and on the runner's thread each start waits its turn at
    the GIL, for files that were already in place."""
    from connector.sync import record_files as rf

    asked: list[str] = []

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        asked.append(path)
        yield b"bytes"

    given: list[int] = []
    start = rf._Downloads.start
    monkeypatch.setattr(rf._Downloads, "start", lambda self, store, refs: given.append(len(refs)) or start(self, store, refs))
    files, batch = _one_attachment(tmp_path, fetch)
    assert list(files.prefetch([batch])) == [batch]
    deadline = time.monotonic() + 30
    while files.downloading() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert next(files.wrap([batch])).column("File_Size").to_pylist() == [5]
    assert given == [0] and len(asked) == 1


def test_a_file_claimed_ahead_as_the_turn_ended_is_asked_at_the_next_turn(tmp_path: Path) -> None:
    """A download claimed ahead whose pool had shut down (its turn ended meanwhile) is not left pending: the
    next turn asks it itself, once."""
    from concurrent.futures import ThreadPoolExecutor

    asked: list[str] = []

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        asked.append(path)
        yield b"bytes"

    files, batch = _one_attachment(tmp_path, fetch)
    closed = ThreadPoolExecutor(1)
    closed.shutdown()
    files._early_pool = closed  # as if the turn's end had shut it down between the claim and the submit
    assert list(files.prefetch([batch])) == [batch]
    assert not asked and not files.downloading()
    assert next(files.wrap([batch])).column("File_Size").to_pylist() == [5] and len(asked) == 1


def test_a_field_s_files_are_kept_exactly_whether_its_folder_was_there_or_made_by_the_run(tmp_path: Path) -> None:
    """A record's field folder is looked at only when its record's folder was in the module's folder as the run
    began or the run made it (no ``stat`` for every changed record): a record whose field changed twice in one
    run keeps its last file only, one whose folder was there loses the file it no longer names, and a record
    with no folder is left as it is."""
    import json as json_

    import pyarrow as pa

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        yield f"bytes of {params['fields_attachment_id']}".encode()

    def entry(file_id: str, name: str) -> str:
        return json_.dumps([{"id": f"a{file_id}", "File_Id__s": file_id, "File_Name__s": name}])

    root = tmp_path / "_files"
    old = root / "Projects" / "7" / "Docs"
    old.mkdir(parents=True)
    (old / "old.txt").write_text("old")
    (old / FOLDER_MANIFEST).write_text(json_.dumps({"f0": {"name": "old.txt", "size": 3, "sha256": "x"}}))
    files = RecordFiles(FilePlan("Projects", fields=("Docs",)), fetch, root, tmp_path)
    schema = pa.schema([("id", pa.string()), ("Docs", pa.string())])

    def batch(*rows: tuple[str, str | None]) -> pa.RecordBatch:
        return pa.RecordBatch.from_pylist([{"id": i, "Docs": d} for i, d in rows], schema=schema)

    # a batch's files are started one batch ahead of its end: the module's folder is first looked at (as the
    # first batch ends) before record 1's folder is made, and record 1's second file comes two batches later
    batches = [batch(("7", entry("f7", "new.txt")), ("9", None)), batch(("5", "[]")),
               batch(("1", entry("f1", "one.txt"))), batch(("6", "[]")), batch(("1", entry("f2", "two.txt")))]
    list(files.wrap(batches))
    assert sorted(p.name for p in (root / "Projects" / "1" / "Docs").iterdir()) == [FOLDER_MANIFEST, "two.txt"]
    assert sorted(p.name for p in old.iterdir()) == [FOLDER_MANIFEST, "new.txt"]
    assert not (root / "Projects" / "9").exists() and not (root / "Projects" / "5").exists()


def test_a_record_in_two_batches_in_flight_keeps_the_file_its_last_version_names(tmp_path: Path) -> None:
    """A record that comes in two batches back to back (a reader gives a record once; this guards one that did
    not) keeps the file its later version names: the earlier batch's clean-up runs before the later batch's
    downloads start, so it cannot take away the later file. (Before, the later file was in place and listed
    by the time the earlier batch ended, and the earlier batch removed it as one the record no longer named.)"""
    import json as json_

    import pyarrow as pa

    root = tmp_path / "_files"
    folder = root / "Projects" / "1" / "Docs"
    asked: list[str] = []

    def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
        file_id = params["fields_attachment_id"]
        asked.append(file_id)
        if file_id == "a1":  # the first file lingers until the second is in place, if that was started meanwhile
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and "f2" not in json_.loads(
                    (folder / FOLDER_MANIFEST).read_text() if (folder / FOLDER_MANIFEST).exists() else "{}"):
                time.sleep(0.01)
        yield f"bytes of {file_id}".encode()

    def batch(file_id: str, name: str) -> pa.RecordBatch:
        docs = json_.dumps([{"id": f"a{file_id[1:]}", "File_Id__s": file_id, "File_Name__s": name}])
        return pa.RecordBatch.from_pylist([{"id": "1", "Docs": docs}])

    files = RecordFiles(FilePlan("Projects", fields=("Docs",)), fetch, root, tmp_path, workers=4)
    out = list(files.wrap([batch("f1", "one.txt"), batch("f2", "two.txt")]))
    assert asked == ["a1", "a2"]
    assert sorted(p.name for p in folder.iterdir()) == [FOLDER_MANIFEST, "two.txt"]
    assert (folder / "two.txt").read_bytes() == b"bytes of a2"
    assert list(json_.loads((folder / FOLDER_MANIFEST).read_text())) == ["f2"]
    last = json_.loads(out[1].column("Docs")[0].as_py())[0]
    assert last["$path"] == "_files/Projects/1/Docs/two.txt" and last["$size"] == len(b"bytes of a2")
