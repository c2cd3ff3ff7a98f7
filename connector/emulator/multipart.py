"""``multipart/form-data`` bodies (file uploads), parsed with the standard library's email package."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

from .http import Request


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


_FILENAME = re.compile(r';\s*filename="([^"]*)"', re.IGNORECASE)


def _filename(part: Message) -> str | None:
    """A part's file name as browsers and urllib3 send it (WHATWG form-data): the quoted value taken
    as it is (UTF-8, a backslash is a backslash, spaces kept), with ``"`` and line breaks sent as
    ``%22``, ``%0D``, ``%0A``. The email package would read it as RFC 822 (dropping backslashes
    and outer spaces), so the raw header is read; ``filename*`` (RFC 5987) falls back to it."""
    for key, value in part.raw_items():
        if key.lower() == "content-disposition":
            raw = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            m = _FILENAME.search(raw)
            if m:
                return m.group(1).replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
    return part.get_filename()


def form_parts(req: Request) -> list[Part]:
    """Every part of a multipart body, in order (empty when the body is not multipart)."""
    ctype = req.headers.get("content-type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        return []
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + req.body)
    if not msg.is_multipart():
        return []
    out = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        out.append(Part(name, _filename(part), part.get_content_type(),
                        payload if isinstance(payload, bytes) else b""))
    return out
