"""Where ``zohocrm query`` writes its rows, and how: table, csv, json lines or parquet.

csv, json and parquet stream batch by batch, so a large read never sits in memory whole; the table
format (for people) shows the first 1,000 rows, and NULL as a dim ``NULL`` so an empty value and a
missing one differ.

``-o FILE`` is opened before any Zoho call (:class:`OutputFile`): a path that cannot be written is
a FileAccessError naming ``--output`` (exit 7) before a credit is spent. Rows go to a private
(0600) temporary file beside it, renamed into place when the statement succeeds, so a failed or
interrupted run never leaves a half-written file that looks complete, nor an earlier file damaged.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from connector.errors import FileAccessError
from connector.localfs import check_path_text, file_error, open_private

NULL = "NULL"
TABLE_ROWS = 1_000  # the table format's limit (csv, json and parquet stream every row)


def json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        f = float(v)
        return f if Decimal(repr(f)) == v else str(v)  # a number when exact, else the exact text
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    return v


def _csv_ready(batch: Any) -> Any:
    """Nested values (multi-select lists) as JSON text: CSV has no lists."""
    import pyarrow as pa

    cols, changed = [], False
    for col in batch.columns:
        if pa.types.is_nested(col.type):
            changed = True
            col = pa.array([None if v is None else json.dumps(json_value(v), ensure_ascii=False)
                            for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names) if changed else batch


def write_all(out: IO[bytes], data: bytes) -> None:
    """All of ``data``: a pipe may take part of a large write, and the rest must not be dropped."""
    view = memoryview(data)
    while view:
        n = out.write(view)
        view = view[n if n is not None else len(view):]


def write_csv(reader: Any, out: IO[bytes]) -> int:
    import pyarrow.csv as pcsv

    writer = None
    rows = 0
    for batch in reader:
        batch = _csv_ready(batch)
        if writer is None:
            writer = pcsv.CSVWriter(out, batch.schema)
        writer.write_batch(batch)
        rows += batch.num_rows
    if writer is None:  # no rows: still the header
        import pyarrow as pa

        empty = _csv_ready(pa.RecordBatch.from_pylist([], schema=reader.schema))
        writer = pcsv.CSVWriter(out, empty.schema)
    writer.close()
    return rows


def write_json(reader: Any, out: IO[bytes]) -> int:
    rows = 0
    for batch in reader:
        lines = [json.dumps(json_value(row), ensure_ascii=False) for row in batch.to_pylist()]
        if lines:
            write_all(out, ("\n".join(lines) + "\n").encode())
        rows += len(lines)
    return rows


def write_parquet(reader: Any, out: IO[bytes]) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def write_table(reader: Any, out: IO[bytes], terminal: bool) -> int:
    """A table for people: the first TABLE_ROWS rows (a rich table holds every cell in memory many
    times over: 200,000 Leads took 13 GB); when there are more, it says so and reads no further."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for name in reader.schema.names:
        table.add_column(name)
    null = Text(NULL, style="dim")
    rows, more = 0, False
    for batch in reader:
        for row in zip(*[c.to_pylist() for c in batch.columns], strict=True):
            if rows == TABLE_ROWS:
                more = True
                break
            table.add_row(*[null if v is None else Text(str(json_value(v))) for v in row])
            rows += 1
        if more:
            break
    buf = io.StringIO()
    # Off a terminal, never wrap or cut a column: the text may be read by a program.
    width = shutil.get_terminal_size().columns if terminal else 100_000
    console = Console(file=buf, width=width, force_terminal=terminal, color_system="auto" if terminal else None)
    console.print(table)
    if more:
        console.print(f"(the first {rows:,} rows; the table format stops there: --format csv, json or parquet "
                      "give every row)", style="dim")
    else:
        console.print(f"({rows:,} row{'' if rows == 1 else 's'})", style="dim")
    write_all(out, buf.getvalue().encode())
    return rows


def emit(reader: Any, fmt: str, out: IO[bytes], terminal: bool) -> int:
    if fmt == "csv":
        return write_csv(reader, out)
    if fmt == "json":
        return write_json(reader, out)
    if fmt == "parquet":
        return write_parquet(reader, out)
    return write_table(reader, out, terminal)


def open_beside(tmp: Path, path: Path, what: str, setting: str) -> IO[bytes]:
    """A private file ``tmp`` next to ``path``; errors name ``path``, the file the user gave."""
    try:
        return open_private(tmp, "wb", what, setting=setting)
    except FileAccessError as exc:
        message = str(exc.message).replace(os.fspath(tmp), os.fspath(path))
        error = FileAccessError(message, hint=exc.hint)
        error.errno = exc.errno
        raise error from None


class OutputFile:
    """``-o PATH``: checked and opened now (before any Zoho call), put in place by :meth:`commit`."""

    what = "query output"
    setting = "--output"

    def __init__(self, path: str) -> None:
        self.path = check_path_text(path, self.what, self.setting)
        if self.path.is_dir():
            raise FileAccessError(f"cannot write the {self.what} at {self.path}: it is a folder, not a file",
                                  hint=f"give a file name inside that folder with {self.setting}")
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        self.fh: IO[bytes] = open_beside(self.tmp, self.path, self.what, self.setting)

    def commit(self) -> None:
        """The rows are all written: the file takes its name (replacing an earlier one)."""
        try:
            self.fh.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise file_error(exc, self.path, self.what, setting=self.setting) from None

    def discard(self) -> None:
        """The statement failed or was stopped: no file is left behind, an earlier one is untouched."""
        try:
            self.fh.close()
        except OSError:
            pass
        Path(self.tmp).unlink(missing_ok=True)
