"""The report and its on-disk journal: pure file handling, no emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import ConfigError, StateError
from connector.writers.report import COLUMNS, SCHEMA, Entry, ReportJournal, WriteReport, holding

STATUSES = ["inserted", "updated", "deleted", "skipped", "failed", "unknown", "unprocessed", "would_insert"]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30)
entries = st.builds(Entry, row=st.integers(min_value=0, max_value=50), status=st.sampled_from(STATUSES),
                    key=st.none() | texts.filter(bool), record_id=st.none() | st.from_regex(r"\d{19}", fullmatch=True),
                    code=st.none() | st.sampled_from(["SUCCESS", "INVALID_DATA", "DUPLICATE_DATA"]),
                    message=st.none() | texts.filter(bool),
                    at=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                                    timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=d.microsecond // 1000
                                                                                    * 1000)))


@given(entries)
def test_a_journal_line_reads_back_as_written(entry):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerow(entry.csv_row())
    (cells,) = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert Entry.from_csv(cells) == entry


@given(st.lists(entries, max_size=40))
def test_the_last_entry_of_a_row_wins(tmp_path_factory, batch):
    path = tmp_path_factory.mktemp("j") / "r.csv"
    journal = ReportJournal(path)
    for e in batch:
        journal.record([e])
    journal.close()  # as if the process stopped here: no finish()
    expected = {}
    for e in batch:
        expected[e.row] = e
    assert WriteReport.read(path).entries() == expected


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_and_read_both_formats(tmp_path, suffix):
    report = WriteReport.from_entries([Entry(1, "failed", "k,1", None, "INVALID_DATA", 'bad "value"\nsecond line'),
                                       Entry(0, "inserted", None, "5843104000000000001", "SUCCESS")])
    path = report.write_results(tmp_path / f"out{suffix}")
    back = WriteReport.read(path)
    assert back.table.schema == SCHEMA and back.table.equals(report.table)
    assert back.table.column("row").to_pylist() == [0, 1]


def test_summary_failed_rows_and_rowcount():
    report = WriteReport.from_entries([Entry(i, s) for i, s in enumerate(
        ["inserted", "inserted", "updated", "failed", "unknown", "skipped", "unprocessed", "deleted"])])
    assert report.summary() == {"inserted": 2, "updated": 1, "deleted": 1, "skipped": 1, "failed": 1,
                                "unknown": 1, "unprocessed": 1, "total": 8}
    assert report.failed_rows().column("row").to_pylist() == [3, 4, 6]
    assert report.rowcount == 4 and not report.ok and len(report) == 8
    assert WriteReport.from_entries([Entry(0, "would_insert")]).ok


def test_a_torn_journal_keeps_every_whole_line(tmp_path):
    path = tmp_path / "r.csv"
    with open(path, "w", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        fh.write(",".join(Entry(0, "inserted", record_id="1").csv_row()) + "\n")
        fh.write('1,,,failed,INVALID_DATA,"half a quoted\nmess')
    assert WriteReport.read(path).summary() == {"inserted": 1, "total": 1}


def test_a_parquet_report_keeps_its_journal_until_finished(tmp_path):
    path = tmp_path / "r.parquet"
    journal = ReportJournal(path, [Entry(0, "inserted", record_id="1")])
    journal.record([Entry(1, "failed", code="X")])
    journal.close()
    assert not path.exists() and (tmp_path / "r.parquet.journal.csv").exists()
    assert WriteReport.read(path).summary() == {"inserted": 1, "failed": 1, "total": 2}
    resumed = ReportJournal(path, WriteReport.read(path).entries().values())
    resumed.record([Entry(1, "inserted", record_id="2")])
    final = resumed.finish(module="Leads", operation="insert")
    assert path.exists() and not (tmp_path / "r.parquet.journal.csv").exists()
    assert final.summary() == {"inserted": 2, "total": 2} and WriteReport.read(path).summary() == final.summary()
    filled = ReportJournal(None)
    filled.fill([0, 1], "unprocessed", "not attempted")
    assert filled.finish().summary() == {"unprocessed": 2, "total": 2}


def test_bad_paths_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=".csv or .parquet"):
        WriteReport.from_entries([]).write_results(tmp_path / "r.json")
    with pytest.raises(StateError, match="no write report"):
        WriteReport.read(tmp_path / "missing.csv")


def test_one_write_holds_a_report_at_a_time_and_its_lock_goes_with_it(tmp_path):
    """A write waiting for a report takes it when the holder lets go; the holder removes the lock file as it
    lets go, and a third write meets the new holder's lock, not a removed one."""
    path, lock = tmp_path / "r.parquet", tmp_path / "r.parquet.lock"
    seen: list[str] = []
    waiting = threading.Event()

    def second() -> None:
        waiting.set()
        with holding(path, wait_s=60):
            seen.append("second holds")
            try:
                with holding(path):
                    seen.append("third holds too")
            except StateError:
                seen.append("third refused")

    with holding(path):
        assert lock.exists() and oct(lock.stat().st_mode & 0o777) == "0o600"
        other = threading.Thread(target=second)
        other.start()
        waiting.wait(30)
        with pytest.raises(StateError, match="another write is using the report"):
            with holding(path):
                pass
        seen.append("first lets go")
    other.join(60)
    assert seen == ["first lets go", "second holds", "third refused"]
    assert not lock.exists()
    with holding(None):  # a write without a report holds nothing
        assert not lock.exists()
