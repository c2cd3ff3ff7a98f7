"""Request/Response objects and the route table of the emulator.

Handlers are plain functions ``handler(app, request) -> Response`` registered
with :func:`route`. Each handler module registers its routes at import time;
:mod:`.handlers` imports them all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import fastjson
from .zoho_errors import ZohoError

if TYPE_CHECKING:
    from .tokens import AccessToken


class Headers(dict[str, str]):
    """Case-insensitive header mapping (keys stored lower-case)."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    client: str = ""
    path_params: dict[str, str] = field(default_factory=dict)
    token: AccessToken | None = None
    #: API credits this call costs; handlers raise it above the default of 1
    credits: int = 1
    #: records touched, for stats and the audit trail
    records: int = 0
    #: the body as :meth:`peek_json` parsed it, until :meth:`json` hands it over
    _parsed: Any = field(default=None, repr=False, compare=False)
    _has_parsed: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def build(cls, method: str, target: str, headers: Headers, body: bytes, client: str = "") -> Request:
        path, _, qs = target.partition("?")
        return cls(method, path, parse_qs(qs, keep_blank_values=True), headers, body, client)

    def param(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def form(self) -> dict[str, str]:
        """Form fields from the body merged over query parameters (Zoho accepts both)."""
        out = {k: v[0] for k, v in self.query.items() if v}
        ctype = self.headers.get("content-type", "") or ""
        if self.body and "json" not in ctype:
            for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items():
                if v:
                    out[k] = v[0]
        return out

    def peek_json(self) -> Any:
        """The body parsed as JSON (raising what ``json.loads`` raises), kept for the next :meth:`json`
        call: a write call is parsed once though its record count is needed before the handler runs."""
        parsed = json.loads(self.body)
        self._parsed, self._has_parsed = parsed, True
        return parsed

    def json(self, *, required: bool = True) -> Any:
        """The JSON body. Records calls arrive without Content-Type (the SDK omits it), so do not require it."""
        if not self.body.strip():
            if required:
                raise ZohoError(400, "INVALID_DATA", "body is empty", {})
            return None
        if self._has_parsed:  # handed over once: the handler may change what it gets
            parsed, self._parsed, self._has_parsed = self._parsed, None, False
            return parsed
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ZohoError(400, "INVALID_DATA", "the given JSON body is not valid",
                            {"reason": str(exc)[:200]}) from None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: a file sent as the body instead of ``body`` (the server copies it to the socket with ``sendfile``
    #: and closes it): result zips of hundreds of MB are never read into memory
    stream: IO[bytes] | None = None

    @property
    def length(self) -> int:
        return os.fstat(self.stream.fileno()).st_size if self.stream is not None else len(self.body)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = fastjson.dumps(obj)
        h = {"Content-Type": "application/json;charset=UTF-8"}
        h.update(headers or {})
        return cls(status, body, h)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        # 204/304 carry no body and no Content-Type (the SDK then yields None).
        return cls(status, b"", {})

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html;charset=UTF-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", {"Location": location})

    @classmethod
    def file(cls, data: bytes | Path, filename: str, content_type: str = "application/x-download") -> Response:
        """A download; a path is opened now (a job's file removed meanwhile still goes out whole) and streamed."""
        headers = {"Content-Type": content_type, "Content-Disposition": f'attachment; filename="{filename}"'}
        if isinstance(data, Path):
            return cls(200, b"", headers, data.open("rb"))
        return cls(200, data, headers)


#: ``handler(app, request)``. The app is typed loosely on purpose: this table sits below the
#: ``App`` that dispatches through it (app.py imports it), so naming ``App`` here would tie the
#: two into a circle; each handler still declares ``app: App`` and is checked against it.
Handler = Callable[[Any, Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    #: "crm" (needs a token), "accounts", "admin", "upload", "download"
    kind: str
    #: scope check: returns the scopes of which one must be granted (None = no scope check)
    scopes: Callable[[Request], list[str]] | None
    #: counts towards the sub-concurrency limit of 10 (limits-and-errors.md section 3)
    heavy: Callable[[Request], bool] | None
    name: str
    #: the route exists only for requests carrying this header (lower-case name), e.g. ``x-external``
    header: str | None = None


ROUTES: list[Route] = []


def route(method: str, pattern: str, *, kind: str = "crm",
          scopes: Callable[[Request], list[str]] | None = None,
          heavy: Callable[[Request], bool] | None = None, header: str | None = None
          ) -> Callable[[Handler], Handler]:
    """Register a handler. ``pattern`` is a regex over the path, anchored at both ends.

    ``header``: the route only exists for requests that carry this header (routes that
    ``X-EXTERNAL`` opens); without it the path is routed as if the route were absent.
    """
    compiled = re.compile("^" + pattern + "$")

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, compiled, fn, kind, scopes, heavy, fn.__name__, header.lower() if header else None))
        return fn

    return deco


def match(method: str, path: str, headers: Headers | None = None) -> tuple[Route | None, dict[str, str], bool]:
    """Find the route; returns (route, path params, path_exists_with_other_method)."""
    other = False
    for r in ROUTES:
        if r.header is not None and not (headers is not None and headers.get(r.header)):
            continue
        m = r.pattern.match(path)
        if m:
            if r.method == method:
                return r, m.groupdict(), False
            other = True
    return None, {}, other
