"""The emulator's JSON (``connector.emulator.fastjson``): orjson when installed, the standard library otherwise or
for what orjson declines; the documents are the same either way (values, key order, non-ASCII text)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import fastjson

# what the emulator's answers hold: JSON values, integers past 64 bits included (json keeps them exact)
scalars = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=False, allow_infinity=False))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def test_orjson_is_what_the_suite_runs_with():
    assert fastjson.orjson is not None  # the test extra installs it: the emulator's fast path is the tested one


@given(documents)
def test_written_and_read_back_it_is_the_same_document_as_the_standard_librarys(doc):
    ours = fastjson.dumps(doc)
    assert json.loads(ours) == doc == fastjson.loads(ours)
    assert fastjson.loads(json.dumps(doc, ensure_ascii=False).encode()) == doc


@pytest.mark.parametrize(("doc", "text"), [
    ({"data": [{"id": "1", "Last_Name": "李 雷"}]}, '{"data":[{"id":"1","Last_Name":"李 雷"}]}'),
    ({1: "a", "b": [True, None]}, '{"1":"a","b":[true,null]}'),  # int keys become text, as json makes them
    ({"big": 2 ** 70}, '{"big":1180591620717411303424}'),  # past 64 bits: the standard library's way
    ({"amount": 1234.5, "n": -0}, '{"amount":1234.5,"n":0}'),
])
def test_documents_as_text(doc, text):
    assert fastjson.dumps(doc) == text.encode()
    assert fastjson.loads(text.encode()) == json.loads(text)


def test_what_neither_can_write_is_refused_as_before():
    with pytest.raises(TypeError):
        fastjson.dumps({"x": {1, 2}})
    assert math.isnan(fastjson.loads(b'{"x": NaN}')["x"])  # json's own reading (orjson refuses NaN)


def test_the_standard_library_alone_gives_the_same_text(monkeypatch):
    doc = {"data": [{"id": "5", "Tag": [{"name": "VIP"}], "Amount": 10.25, "Owner": {"id": "9", "name": "Zoë"}}]}
    fast = fastjson.dumps(doc)
    monkeypatch.setattr(fastjson, "orjson", None)
    assert fastjson.dumps(doc) == fast
    assert fastjson.loads(fast) == doc
