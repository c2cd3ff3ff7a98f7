"""SQL that cannot be read gets an error in words: where, near what, what was expected (issue 11, item 16)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import PlanningError
from connector.planning import analyze
from connector.planning.syntax import parse_statement

from .conftest import resolve

INTERNALS = re.compile(r"sqlglot|<class|<Token|TokenType|Required keyword|expressions\.")

CASES = [
    ("SELECT * FROM Leads WHERE", "syntax error at line 1, column 25 near 'WHERE': something is missing after 'WHERE'"),
    ("SELECT FROM WHERE", "line 1, column 17 near 'WHERE': expected table name but got 'WHERE'"),
    ("SELECT * FROM Leads WHERE (a", "column 28 near 'a': expected ')'"),
    ("SELECT a b c FROM x", "near 'c': unexpected 'c'"),
    ("SELECT 1 +", "something is missing after '+'"),
    ("select * from t order by", "something is missing after 'order by'"),
    ("INSERT INTO", "expected table name but got the end of the statement"),
    ("SELECT 'abc", "column 8 near \"'abc\": this string is never closed"),
    ('SELECT "Last_Name FROM Leads', "this quoted name is never closed"),
    ("SELECT 1 /* note", "column 10 near '/* note': this comment is never closed"),
    ("SELECT 'it''s', 'open", "column 17 near \"'open\": this string is never closed"),
    ("SELECT Email\n  FROM Leads\n WHERE City = 'Z", "line 3, column 15"),
    ("SELECT $", "column 8 near '$': a character SQL does not use here"),
    ("", "the SQL statement is empty"),
    (" ; ", "the SQL statement is empty"),
    ("-- only a comment", "the SQL statement is empty"),
    ("SELECT 1; SELECT 2", "expected one SQL statement, got 2"),
    ("SELECT " + "(" * 500 + "1" + ")" * 500, "nests too deeply"),
    ("SELECT * FROM " + "(SELECT * FROM " * 100 + "Leads" + ")" * 100, "nests too deeply"),
    ("SELECT " + "NOT " * 400 + "true", "nests too deeply"),
]


@pytest.mark.parametrize(("sql", "words"), CASES, ids=[c[0][:30] for c in CASES])
def test_parse_errors_say_where_and_what(sql: str, words: str) -> None:
    with pytest.raises(PlanningError) as info:
        parse_statement(sql)
    text = str(info.value)
    assert words in text
    assert not INTERNALS.search(text), text


def test_the_analysis_names_a_table_used_twice() -> None:
    with pytest.raises(PlanningError, match="the name 'Leads' is given to two tables in the same FROM clause"):
        analyze.analyze("SELECT * FROM Leads, Leads", None, resolve)
    with pytest.raises(PlanningError, match="FROM l1 a JOIN l1 b"):
        analyze.analyze("SELECT * FROM Leads l1 JOIN Deals l1 ON true", None, resolve)


TOKENS = st.sampled_from(["SELECT", "FROM", "WHERE", "(", ")", "'", '"', "--", "/*", "*/", ",", "AND", "OR", "NOT",
                          "=", "1e400", "?", ":a", "$1", "Leads", "WITH", "AS", "INSERT", "INTO", "VALUES", ";",
                          "\n", "CASE", "WHEN", "END", "[", "]", "{", "}", "::", "\\", "$$", "é", "\x00"])


@given(st.lists(TOKENS, max_size=25).map(" ".join))
def test_any_text_parses_or_is_a_planning_error_in_words(sql: str) -> None:
    try:
        parse_statement(sql)
    except PlanningError as exc:
        assert not INTERNALS.search(str(exc)), str(exc)
