"""The SQL text is read once: one tokenizer pass and one parse per statement, whatever runs it.

The engine, the planner, DML and EXPLAIN all take the one Statement
(connector/planning/statement.py): the statement kind, the parameters and the
tree come from the same tokens, a renamed table is written from a copy of the
tree, and DML's rows to write are a query built as a tree, planned without
being printed and parsed again. Counted at sqlglot's tokenizer and parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer

from .conftest import Sessions

DRY = ";DryRun=true;AllowedOperations=read,insert,update,delete;AllowedModules=Leads"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    counts = {"tokenize": 0, "parse": 0}
    tokenize, parse = Tokenizer.tokenize, Parser.parse

    def counting_tokenize(self: Tokenizer, sql: str) -> Any:
        counts["tokenize"] += 1
        return tokenize(self, sql)

    def counting_parse(self: Parser, raw_tokens: Any, sql: str | None = None) -> Any:
        counts["parse"] += 1
        return parse(self, raw_tokens, sql)

    monkeypatch.setattr(Tokenizer, "tokenize", counting_tokenize)
    monkeypatch.setattr(Parser, "parse", counting_parse)
    yield counts


@pytest.mark.parametrize(("sql", "params"), [
    ("SELECT Email FROM zoho.Leads WHERE City = ? AND Lead_Score > ? LIMIT 3", ["Oslo", 1]),  # renamed table
    ("WITH c AS (SELECT City FROM Leads WHERE City = :c) SELECT count(*) FROM c", {"c": "Oslo"}),
    ("SELECT l.Email FROM Leads l JOIN Leads m ON l.id = m.id WHERE l.City = ?", ["Oslo"]),
])
def test_a_query_is_read_once(sessions: Sessions, reads: dict[str, int], sql: str, params: Any) -> None:
    engine = sessions.engine(";APIType=COQL")
    engine.session.catalog.table("Leads")  # metadata loaded before counting
    engine.execute(sql, params).read_all()
    assert reads == {"tokenize": 1, "parse": 1}


def test_dml_and_executemany_are_read_once(sessions: Sessions, reads: dict[str, int]) -> None:
    engine = sessions.engine(";APIType=COQL" + DRY)
    engine.session.catalog.table("Leads")
    engine.run("UPDATE Leads SET City = ? WHERE City = ? AND Lead_Score > ?", ["Bergen", "Oslo", 10])
    assert reads == {"tokenize": 1, "parse": 1}
    engine.run_many("INSERT INTO Leads (Last_Name, Company) VALUES (?, ?)", [("A", "x"), ("B", "y"), ("C", "z")])
    assert reads == {"tokenize": 2, "parse": 2}


def test_explain_reads_its_query_once(sessions: Sessions, reads: dict[str, int]) -> None:
    engine = sessions.engine(";APIType=COQL")
    engine.session.catalog.table("Leads")
    result = engine.run("EXPLAIN SELECT Email FROM zoho.Leads WHERE City = ?", ["Oslo"])
    assert result.kind == "explain"
    # sqlglot's tokenizer keeps the rest of an EXPLAIN as one string: the query after it is tokenized on its own
    assert reads == {"tokenize": 2, "parse": 1}
