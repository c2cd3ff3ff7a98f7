"""``multipart/form-data`` bodies (file uploads), parsed with the standard library's email package."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

from .http import Request


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def _unescaped(filename: str | None) -> str | None:
    """A file name as browsers and urllib3 send it (WHATWG form-data): ``"`` and line breaks come
    as ``%22``, ``%0D``, ``%0A`` inside the quoted value; anything else is taken as it is."""
    if filename is None:
        return None
    return filename.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


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
        out.append(Part(name, _unescaped(part.get_filename()), part.get_content_type(),
                        payload if isinstance(payload, bytes) else b""))
    return out
