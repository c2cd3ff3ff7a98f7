"""``request(raw=True)``: a page of records goes on as Zoho's bytes, counted by its ``info``, not decoded.

``listed_count`` may answer only when the count it reads is the outermost ``info.count`` of a
``{"data": [...], ...}`` page; anything else (None) falls back to decoding the body as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from connector.emulator import Emulator
from connector.http.classify import listed_count
from connector.session import ZohoSession
from tests.http.support import conn


def response(content: bytes, status: int = 200, ctype: str = "application/json;charset=UTF-8") -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = content
    r.headers = CaseInsensitiveDict({"Content-Type": ctype})
    r.encoding = "utf-8"
    return r


PAGE = {"data": [{"id": "1", "Last_Name": "A"}, {"id": "2", "Last_Name": "B"}],
        "info": {"per_page": 200, "count": 2, "page": 1, "more_records": False}}
TRICKY = [{"id": "1", "Notes": 'say ,"info":{"count":99}} twice ,"info": {"count": 98}}'},
          {"id": "2", "info": {"count": 97}}]


@pytest.mark.parametrize(("content", "expected"), [
    (json.dumps(PAGE, separators=(",", ":")).encode(), 2),  # Zoho's compact form
    (json.dumps(PAGE, indent=2).encode(), 2),
    (json.dumps({"data": TRICKY, "info": {"count": 2}}).encode(), 2),  # look-alikes inside records
    (json.dumps({"data": [], "info": {"count": 0, "more_records": False}}).encode(), 0),
    (json.dumps({"data": TRICKY}).encode(), None),  # no outer info: the last "info" is a record's
    (json.dumps({"info": {"count": 2}, "data": PAGE["data"]}).encode(), None),  # not a data page
    (json.dumps({"data": PAGE["data"], "info": {"count": 2}, "more": 1}).encode(), None),  # info not last
    (json.dumps({"data": PAGE["data"], "info": {"count": "2"}}).encode(), None),
    (json.dumps({"data": PAGE["data"], "info": {"count": True}}).encode(), None),
    (json.dumps({"data": PAGE["data"], "info": {"count": -1}}).encode(), None),
    (json.dumps({"data": PAGE["data"], "info": {"per_page": 200}}).encode(), None),
    (json.dumps({"data": PAGE["data"], "info": [2]}).encode(), None),
    (json.dumps({"data": [{"code": "INTERNAL_ERROR", "status": "error"}]}).encode(), None),
    (json.dumps({"code": "INVALID_TOKEN", "details": {}, "message": "m", "status": "error"}).encode(), None),
    (json.dumps({"users": [{"id": "1"}], "info": {"count": 1}}).encode(), None),
    (b'{"data":[{"id":"1"}],"info":{"count":1}', None),  # cut short
    (b'{"data":[{"id":"1"}],"info":{"count":1}}}', None),
    (b"", None),
])
def test_the_count_is_read_only_from_the_outer_info_of_a_data_page(content: bytes, expected: int | None) -> None:
    assert listed_count(response(content)) == expected


@pytest.mark.parametrize("resp", [
    response(json.dumps(PAGE).encode(), status=400),
    response(json.dumps(PAGE).encode(), status=204),
    response(json.dumps(PAGE).encode(), ctype="text/html"),
])
def test_only_a_successful_json_answer_is_counted(resp: requests.Response) -> None:
    assert listed_count(resp) is None


_text = st.text(alphabet=st.sampled_from(list('info"\\:,{}[] count data')), max_size=12)
_key = st.one_of(st.sampled_from(["data", "info", "count", "id"]), _text)
_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | _text,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_key, inner, max_size=3),
                     max_leaves=12)


@settings(max_examples=400)
@given(doc=st.one_of(_json, st.builds(lambda data, info, extra: {"data": data, **extra, "info": info},
                                      st.lists(_json, max_size=3), _json, st.dictionaries(_key, _json, max_size=2))),
       indent=st.sampled_from([None, 1]))
def test_a_count_read_is_always_the_pages_own(doc: Any, indent: int | None) -> None:
    """Whatever the document, a count is answered only when it is the outermost info's count."""
    got = listed_count(response(json.dumps(doc, indent=indent).encode()))
    if got is not None:
        assert isinstance(doc, dict) and list(doc)[0] == "data" and isinstance(doc["data"], list)
        assert list(doc)[-1] == "info" and doc["info"]["count"] == got


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=400, seed=3)


def test_a_raw_page_is_zohos_bytes_counted_without_decoding(emu: Emulator, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    audit = tmp_path / "audit.jsonl"
    with ZohoSession(conn(emu, AuditLog=str(audit))) as s:
        params = {"fields": "Last_Name,Email", "per_page": 50, "sort_by": "id", "sort_order": "asc"}
        decoded = s.http.get("/Leads", params=params)
        decodes: list[int] = []
        real_json = requests.Response.json
        monkeypatch.setattr(requests.Response, "json", lambda self, **kw: decodes.append(1) or real_json(self, **kw))
        raw = s.http.get("/Leads", params=params, raw=True)
        assert not decodes  # a page answered in full is not decoded
        assert raw.status == 200 and raw.content.startswith(b'{"data":[')
        assert raw.body["data"] == decoded.body["data"] and len(decodes) == 1  # decoded when asked for, once
        assert raw.body == json.loads(raw.content) and len(decodes) == 1
        s.http.get("/settings/modules", raw=True)  # not a page of records: decoded as before
        assert len(decodes) == 2
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    pages = [e for e in lines if e["path"].endswith("/Leads")]
    assert [e["records"] for e in pages] == [50, 50]  # the raw page's line counts its records too
