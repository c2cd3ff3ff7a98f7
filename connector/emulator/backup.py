"""Data Backup (``/crm/bulk/v8/backup``; Zoho's ``backup.json`` spec): the org's backups on the virtual clock.

What Zoho documents, and the emulator does:

* an Administrator asks for a backup now (empty body) or on a repeat rule (``RRULE:FREQ=WEEKLY;
  INTERVAL=2;BYDAY=TH``, ``FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=16`` or ``BYDAY=1TH``); one schedule at
  a time (``BACKUP_ALREADY_SCHEDULED``), stopped with ``actions/cancel``;
* a backup takes "a few minutes to hours": here :data:`MIN_RUN_S` virtual seconds, more for a large
  org (:data:`ROWS_PER_S`); its state is worked out whenever it is looked at, so tests move it with
  the virtual clock;
* its result is two zips behind download links that expire :data:`LINK_TTL_S` (7 days) after the
  backup: ``Data_001.zip`` (a CSV per module, plus which file belongs to which record) and
  ``Attachments_001.zip`` (the attachments and the files of file and image upload fields);
* paid editions get 2 backups a month free (Ultimate 4); more need a paid add-on.

Not documented by Zoho, so the emulator's own choice (a client must not rely on it): the zips'
inner layout (below), ``count`` in the history (the records the run backed up), and what
happens to a backup past the free ones (the emulated org has no add-on: the run FAILS, history
state ``failure``). Zoho splits a zip at 1 GB (``Data_002.zip`` ...); the emulated orgs stay below.

Layout: ``Data_001.zip`` holds ``<Module>.csv`` (bulk-read CSV form, every exportable field) for
every module with records, ``Notes.csv``, and ``Attachments.csv`` (``Id, Parent_Id, Parent_Module,
File_Name, Size, File_Id, Link_URL``) and ``Field_Files.csv`` (``Module, Record_Id, Field,
File_Name, Size, File_Id``); ``Attachments_001.zip`` holds ``Attachments/<id>_<name>`` and
``<Module>/<record id>/<Field>/<file id>_<name>``.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import threading
import zipfile
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from . import files
from .schema import ModuleDef
from .store import q

MIN_RUN_S = 300.0
ROWS_PER_S = 2_000.0
LINK_TTL_S = 7 * 86_400
FREE_PER_MONTH = 2
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FILE_TYPES = ("fileupload", "imageupload")
SCHEDULED, INPROGRESS, COMPLETED, FAILED, STOPPED = "SCHEDULED", "INPROGRESS", "COMPLETED", "FAILED", "STOPPED"


class BadRule(ValueError):
    """The rrule is not one Zoho takes."""


@dataclass(frozen=True)
class Rule:
    text: str
    freq: str  # WEEKLY or MONTHLY
    interval: int
    weekday: int | None  # 0 = Monday
    nth: int | None  # MONTHLY BYDAY=1TH: the nth weekday (-1: the last)
    monthday: int | None

    @property
    def repeat_type(self) -> str:
        if self.freq == "WEEKLY":
            return "weekly" if self.interval == 1 else "biweekly" if self.interval == 2 else "weekly"
        return "monthly"

    def occurrences_after(self, day: date) -> date:
        """The first day after ``day`` the rule names (the interval counts from there on)."""
        d = day + timedelta(days=1)
        for _ in range(800):
            if self._matches(d):
                return d
            d += timedelta(days=1)
        raise BadRule("the rule names no day")  # BYMONTHDAY=31 still matches some month within 800 days

    def next_after(self, last: date) -> date:
        if self.freq == "WEEKLY":
            return last + timedelta(weeks=self.interval)
        month = last.month - 1 + self.interval
        first = date(last.year + month // 12, month % 12 + 1, 1)
        return self.occurrences_after(first - timedelta(days=1))

    def _matches(self, d: date) -> bool:
        if self.freq == "WEEKLY":
            return d.weekday() == self.weekday
        if self.monthday is not None:
            return d.day == self.monthday
        if d.weekday() != self.weekday:
            return False
        assert self.nth is not None
        if self.nth > 0:
            return (d.day - 1) // 7 + 1 == self.nth
        return d.day + 7 > monthrange(d.year, d.month)[1]


def parse_rule(text: Any) -> Rule:
    """``RRULE:FREQ=...;INTERVAL=...;BYDAY=...|BYMONTHDAY=...`` as the schedule API documents it."""
    if not isinstance(text, str) or not text.strip():
        raise BadRule("rrule must be a string")
    body = text.strip().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, sep, value = item.partition("=")
        if not sep or key.upper() in parts:
            raise BadRule(f"bad part {item!r}")
        parts[key.upper()] = value.strip().upper()
    freq, interval = parts.pop("FREQ", ""), parts.pop("INTERVAL", "")
    byday, bymonthday = parts.pop("BYDAY", None), parts.pop("BYMONTHDAY", None)
    if parts or freq not in ("WEEKLY", "MONTHLY") or not interval.isdigit() or not 1 <= int(interval) <= 52:
        raise BadRule("FREQ (WEEKLY or MONTHLY) and INTERVAL (1-52) are required, nothing else but BYDAY/BYMONTHDAY")
    if (byday is None) == (bymonthday is None) or (freq == "WEEKLY" and bymonthday is not None):
        raise BadRule("one of BYDAY and BYMONTHDAY (MONTHLY only)")
    weekday = nth = monthday = None
    if bymonthday is not None:
        if not bymonthday.isdigit() or not 1 <= int(bymonthday) <= 31:
            raise BadRule("BYMONTHDAY is 1-31")
        monthday = int(bymonthday)
    else:
        assert byday is not None
        prefix, day = byday[:-2], byday[-2:]
        if day not in DAYS or (freq == "WEEKLY" and prefix) or (freq == "MONTHLY" and prefix not in (
                "1", "2", "3", "4", "-1")):
            raise BadRule("BYDAY is SU..SA (MONTHLY: 1TH .. 4TH or -1TH)")
        weekday, nth = DAYS.index(day), (int(prefix) if prefix else None)
    return Rule(text.strip(), freq, int(interval), weekday, nth, monthday)


@dataclass
class Run:
    """One backup taken (an immediate backup has one; a schedule, one per occurrence)."""

    id: int
    started_at: float
    finish_at: float
    free: bool
    state: str = INPROGRESS
    count: int = 0
    path: Path | None = None
    produced: threading.Event = field(default_factory=threading.Event)


@dataclass
class Backup:
    """One request: ``rule`` None for a backup now."""

    id: int
    user_id: int
    created_at: float
    rule: Rule | None
    start_day: date | None
    next_day: date | None
    status: str = SCHEDULED
    runs: list[Run] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


class Backups:
    """The org's backups: requests in order, their runs, their zips in a private temp folder."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.items: list[Backup] = []
        self.dir = Path(tempfile.mkdtemp(prefix="zoho-backup-"))

    def discard_files(self) -> None:
        """Remove the backups' zips (the org is stopping: nobody will download them)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def latest(self) -> Backup | None:
        return self.items[-1] if self.items else None

    def find(self, backup_id: str) -> Backup | None:
        return next((b for b in self.items if str(b.id) == backup_id), None)

    def find_run(self, run_id: str) -> Run | None:
        return next((r for b in self.items for r in b.runs if str(r.id) == run_id), None)

    def runs_in_month(self, when: float) -> int:
        d = datetime.fromtimestamp(when, UTC)
        return sum(1 for b in self.items for r in b.runs
                   if (t := datetime.fromtimestamp(r.started_at, UTC)).year == d.year and t.month == d.month)


def backups_of(app: Any) -> Backups:
    with app.state_lock:
        found = app.state.get("backups")
        if found is None:
            found = app.state["backups"] = Backups()
        return found  # type: ignore[no-any-return]


def org_rows(app: Any) -> int:
    return sum(int(app.store.fetchone(f"SELECT count(*) FROM {q(m.api_name)}")[0]) for m in backed_up(app))


def backed_up(app: Any) -> list[ModuleDef]:
    return [m for m in app.org.modules if m.api_supported and (m.bulk_read or m.api_name == "Notes")]


def start_run(app: Any, b: Backup, at: float, new_id: int) -> Run:
    reg = backups_of(app)
    free = reg.runs_in_month(at) < FREE_PER_MONTH
    run = Run(new_id, at, at + max(MIN_RUN_S, org_rows(app) / ROWS_PER_S), free)
    b.runs.append(run)
    return run


def advance(app: Any, b: Backup, new_id: Any) -> None:
    """Bring ``b`` up to the virtual clock: start the runs its rule has come to, finish the ones done."""
    now = app.clock.time()
    while b.status == SCHEDULED and b.rule is not None and b.next_day is not None:
        at = datetime.combine(b.next_day, datetime.min.time(), tzinfo=app.clock.tz).timestamp()
        if at > now or (b.runs and b.runs[-1].state == INPROGRESS):
            break
        start_run(app, b, at, new_id())
        b.next_day = b.rule.next_after(b.next_day)
    for run in b.runs:
        if run.state == INPROGRESS and run.finish_at <= now:
            if run.free:
                produce(app, run)
            run.state = COMPLETED if run.free and run.path is not None else FAILED
            b.history.insert(0, history_entry(app, b, run.finish_at, None, run=run))
    busy = any(r.state == INPROGRESS for r in b.runs)
    if b.status != STOPPED:
        b.status = INPROGRESS if busy else SCHEDULED if b.rule is not None else b.runs[-1].state


def history_entry(app: Any, b: Backup, when: float, action: str | None, *, run: Run | None = None) -> dict[str, Any]:
    return {"id": str(b.id), "log_time": app.clock.render(datetime.fromtimestamp(when, UTC)), "action": action,
            "repeat_type": b.rule.repeat_type if b.rule else "immediate", "count": run.count if run else 0,
            "file_name": "Data_001.zip" if run and run.state == COMPLETED else None,
            "state": None if run is None else "completed" if run.state == COMPLETED else "failure",
            "done_by": b.user_id}


def produce(app: Any, run: Run) -> None:
    """The run's two zips: the org as it is now (the run's end on the virtual clock)."""
    from .bulk_read import page_table
    from .handlers.bulk_read import export_columns

    folder = backups_of(app).dir / str(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    with zipfile.ZipFile(folder / "Data_001.zip", "w", zipfile.ZIP_DEFLATED) as data:
        for m in backed_up(app):
            table, _ = page_table(app, m, export_columns(m, None), None, 1, None, 10**9)
            if table.num_rows:
                count += table.num_rows
                data.writestr(f"{m.api_name}.csv", _csv(table))
        attachments = app.store.fetchall('SELECT id, Parent_Id, "Parent_Id$module", File_Name, Size, "$file_id", '
                                         '"$link_url" FROM "Attachments" ORDER BY id')
        data.writestr("Attachments.csv", _csv(pa.table(
            {k: [str(r[i]) if r[i] is not None else None for r in attachments] for i, k in enumerate(
                ("Id", "Parent_Id", "Parent_Module", "File_Name", "Size", "File_Id", "Link_URL"))})))
        field_files = _field_files(app)
        data.writestr("Field_Files.csv", _csv(pa.table(
            {k: [str(r[i]) for r in field_files] for i, k in enumerate(
                ("Module", "Record_Id", "Field", "File_Name", "Size", "File_Id"))})))
    with zipfile.ZipFile(folder / "Attachments_001.zip", "w", zipfile.ZIP_STORED) as blobs:
        for att_id, _, _, name, _, file_id, link in attachments:
            if file_id and not link:
                _add_file(app, blobs, f"Attachments/{att_id}_{name}", file_id)
        for module, rid, fname, name, _, file_id in field_files:
            _add_file(app, blobs, f"{module}/{rid}/{fname}/{file_id}_{name}", file_id)
    run.count, run.path = count, folder
    run.produced.set()


def _field_files(app: Any) -> list[tuple[Any, ...]]:
    out = []
    for m in backed_up(app):
        for f in (f for f in m.fields if f.data_type in FILE_TYPES):
            for rid, raw in app.store.fetchall(f"SELECT id, {q(f.api_name)} FROM {q(m.api_name)} "
                                               f"WHERE {q(f.api_name)} IS NOT NULL ORDER BY id"):
                for e in json.loads(raw):
                    out.append((m.api_name, rid, f.api_name, e["File_Name__s"], e.get("Size__s"), e["File_Id__s"]))
    return out


def _add_file(app: Any, zf: zipfile.ZipFile, name: str, file_id: str) -> None:
    f = files.read(app.store, file_id)
    if f is not None:
        zf.writestr(name, f.data or b"")


def _csv(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()
