"""The streamed multipart body of an upload, and the paths a source may open: pure functions.

A body built by :class:`FilePart` parses back (with the emulator's parser, the standard
library's email package) to the same bytes and the same file name, whatever the name holds;
it is as long as it says, the same when sent again (a retry), hashed as sent, and streamed:
a 24 MB file goes up without 24 MB in memory. :func:`open_stored` refuses paths that lead out
of the source folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator.http import Headers, Request
from connector.emulator.multipart import form_parts
from connector.sync.record_files import open_stored
from connector.sync.upload_body import CHUNK, FilePart, file_digest

NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)


def parsed(part: FilePart) -> tuple[str | None, bytes]:
    body = b"".join(part)
    assert len(body) == len(part)
    req = Request.build("POST", "/crm/v8/files", Headers({"content-type": part.content_type}), body)
    parts = form_parts(req)
    assert [p.name for p in parts] == ["file"]
    return parts[0].filename, parts[0].data


@given(data=st.binary(max_size=3000), name=NAMES)
def test_a_body_parses_back_to_the_same_bytes_and_name(data: bytes, name: str) -> None:
    part = FilePart(lambda: io.BytesIO(data), len(data), name)
    filename, got = parsed(part)
    assert got == data
    # what a browser can say: line breaks and quotes escaped, everything else as it is
    assert filename == name
    assert part.sent_sha256 == hashlib.sha256(data).hexdigest() and part.sent_size == len(data)
    assert b"".join(part) == b"".join(part)  # a retried call sends the same bytes


@pytest.mark.parametrize("name", ['NDA "mutual".pdf', "見積書.pdf", "a\\b.txt", "100% done.csv", "line\nbreak"])
def test_names_zoho_shows_as_they_were(name: str) -> None:
    part = FilePart(lambda: io.BytesIO(b"x"), 1, name)
    assert parsed(part) == (name, b"x")


def test_a_file_shorter_than_said_sends_what_there_is(tmp_path: Path) -> None:
    part = FilePart(lambda: io.BytesIO(b"abc"), 10, "short.bin")
    assert part.sent_size == 0 and len(b"".join(part)) < len(part) and part.sent_size == 3


def test_a_large_file_is_streamed_not_held(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for i in range(24):
            fh.write(os.urandom(CHUNK // 2) * 2 if i % 2 else bytes([i]) * CHUNK)
    size, sha = file_digest(lambda: open(big, "rb"))
    part = FilePart(lambda: open(big, "rb"), size, "big.bin")
    tracemalloc.start()
    try:
        sent = sum(len(chunk) for chunk in part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == len(part) and part.sent_sha256 == sha
    assert peak < 4 * CHUNK  # a chunk or two in flight, never the file


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "_files/../../secret.txt", "link/secret.txt"])
def test_paths_out_of_the_source_folder_are_refused(tmp_path: Path, path: str) -> None:
    base = tmp_path / "out"
    (base / "_files").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not yours")
    (base / "link").symlink_to(tmp_path)
    with pytest.raises(OSError):
        open_stored(base, path)


def test_a_path_inside_opens(tmp_path: Path) -> None:
    (tmp_path / "_files" / "A" / "1").mkdir(parents=True)
    (tmp_path / "_files" / "A" / "1" / "a b.pdf").write_bytes(b"%PDF")
    with open_stored(tmp_path, "_files/A/1/a b.pdf") as fh:
        assert fh.read() == b"%PDF"
