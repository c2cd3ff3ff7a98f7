"""A ``multipart/form-data`` body that streams one file from disk: never the whole file in memory.

``requests`` builds ``files=`` bodies in memory; a migration re-uploading 20 MB attachments by
the thousand must not. :class:`FilePart` is an iterable with a length, which ``requests`` sends
as a body of known ``Content-Length`` chunk by chunk; each iteration opens the file afresh, so a
retried call sends the same bytes again. The bytes sent are hashed on the way
(:attr:`FilePart.sent_sha256`): the upload is checked against the table's SHA-256 after the fact
too, in case the file changed between the check before and the send.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

CHUNK = 1 << 20


def _quoted(value: str) -> str:
    """A form-data parameter value as browsers send it (WHATWG): UTF-8, quotes and line breaks
    as ``%22``/``%0D``/``%0A`` (urllib3 does the same; Zoho's upload pages receive names so)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class FilePart:
    """One file as the single part ``name`` of a multipart body, read from ``opener()`` when sent."""

    def __init__(self, opener: Callable[[], BinaryIO], size: int, filename: str, name: str = "file",
                 content_type: str = "application/octet-stream") -> None:
        self.opener, self.size = opener, size
        self.boundary = uuid.uuid4().hex
        disposition = f'form-data; name="{name}"; filename="{_quoted(filename)}"'
        self.head = (f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
                     f"Content-Type: {content_type}\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.sent_sha256: str | None = None
        self.sent_size = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        digest, sent = hashlib.sha256(), 0
        yield self.head
        with self.opener() as fh:
            while sent < self.size:
                chunk = fh.read(min(CHUNK, self.size - sent))
                if not chunk:
                    break  # shorter than said: the server sees a short body and refuses it
                digest.update(chunk)
                sent += len(chunk)
                yield chunk
        self.sent_sha256, self.sent_size = digest.hexdigest(), sent
        yield self.tail


def file_digest(opener: Callable[[], BinaryIO]) -> tuple[int, str]:
    """(size, SHA-256) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with opener() as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
