"""The contracts between rooms carry real types, not ``Any`` (STYLE.md: types everywhere).

mypy --strict accepts ``Any`` anywhere, so it cannot say that the session readers, writers and the
engine take, or what the scheme registry returns, is typed; this does, for the doors named here.
``**options: Any`` (keywords handed on to a backend) is the one ``Any`` allowed at the top of a type.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import pytest

from connector import writers
from connector.engine.executor import Engine, engine_for
from connector.engine.result import Result
from connector.session import ZohoSession
from connector.sync import backends, runner
from connector.sync.contract import Source, Target
from connector.writers.bulk import BulkWriter, choose_writer
from connector.writers.rest import RestWriter

DOORS: list[tuple[str, Callable[..., Any]]] = [
    ("ZohoSession.reader_context", ZohoSession.reader_context),
    ("Engine.__init__", Engine.__init__),
    ("engine_for", engine_for),
    ("writers.write", writers.write),
    ("RestWriter.__init__", RestWriter.__init__),
    ("BulkWriter.__init__", BulkWriter.__init__),
    ("choose_writer", choose_writer),
    ("open_source", backends.open_source),
    ("open_target", backends.open_target),
    ("source_class", backends.source_class),
    ("target_class", backends.target_class),
    ("runner.run", runner.run),
    ("runner.sync_module", runner.sync_module),
]


def _loose(hint: Any) -> bool:
    """``Any`` itself, or as one member of a union (``dict[str, Any]``, a record's values, is a real type)."""
    return hint is Any or (typing.get_origin(hint) in (typing.Union, types.UnionType)
                           and any(_loose(a) for a in typing.get_args(hint)))


@pytest.mark.parametrize("name, door", DOORS, ids=[n for n, _ in DOORS])
def test_no_any_in_the_signature(name: str, door: Callable[..., Any]) -> None:
    hints = typing.get_type_hints(door)
    keywords = {p.name for p in inspect.signature(door).parameters.values() if p.kind is p.VAR_KEYWORD}
    loose = [k for k, hint in hints.items() if k not in keywords and _loose(hint)]
    assert not loose, f"{name}: {loose} typed Any"


def test_the_registry_returns_the_contracts_and_a_result_its_write_report() -> None:
    assert typing.get_type_hints(backends.open_source)["return"] is Source
    assert typing.get_type_hints(backends.open_target)["return"] is Target
    assert "WriteReport" in str(typing.get_type_hints(Result)["report"])
