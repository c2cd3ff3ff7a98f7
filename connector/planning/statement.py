"""One SQL text read once: its kind, its parameters and its tree, in one :class:`Statement`.

DuckDB's tokenizer runs once over the text. From its tokens come

* the kind (``query``, ``explain``, ``show``, ``describe``, ``insert``,
  ``update``, ``delete``) — the first word, ``WITH ... AS (...)`` looked
  through to the statement it runs — and, for statements this connector does
  not run, a refusal in words before anything else happens;
* the placeholders: ``?`` (qmark, the DB-API paramstyle) numbered ``$1, $2...``
  in text order and ``:name`` written ``$name``, both found as tokens, so a
  ``?`` or ``:x`` inside a string, a comment, a ``::`` cast or a ``l[a:b]``
  slice is left alone. The text DuckDB runs gets the form the values bind in
  (a sequence: numbers; a mapping: names); values are never formatted into it;
* the tree: sqlglot's parser reads the same tokens (``?`` as ``$n``), so the
  tree's placeholders are numbered in text order whatever order sqlglot keeps
  its nodes in.

The engine, the planner, DML and EXPLAIN all take the Statement; nothing reads
the text again. (EXPLAIN is the one exception sqlglot imposes: its tokenizer
keeps the rest of an ``EXPLAIN`` as one string token, so the query after it is
tokenized on its own — once.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlglot import Token, TokenType, exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError, TokenError

from connector.errors import NotSupportedError, PlanningError, ProgrammingError

from .external import refuse_external_access
from .syntax import empty_statement, parse_tokens, token_error

Params = Sequence[Any] | Mapping[str, Any] | None

_DIALECT = DuckDB()
_KINDS = {"select": "query", "with": "query", "from": "query", "values": "query", "table": "query",
          "explain": "explain", "show": "show", "describe": "describe", "desc": "describe", "insert": "insert",
          "update": "update", "delete": "delete"}
#: kinds whose tree the engine needs (SHOW TABLES and DESCRIBE are answered from the catalog)
TREE_KINDS = frozenset({"query", "explain", "insert", "update", "delete", "other"})
DML_KINDS = frozenset({"insert", "update", "delete"})
# Statements that reach files, the network, extensions or the engine's settings: refused by name.
_OUTSIDE = {"install", "load", "attach", "detach", "copy", "export", "import", "set", "reset", "pragma", "call",
            "use", "checkpoint", "vacuum", "force"}
# Other statements of DuckDB's SQL: "not supported here" (the rest is not a statement at all).
_OTHER_STATEMENTS = {"create", "drop", "alter", "truncate", "merge", "summarize", "begin", "commit", "rollback",
                     "abort", "start", "end", "transaction", "grant", "revoke", "prepare", "execute", "deallocate",
                     "comment", "analyze", "update_extensions", "unpivot", "pivot", "upsert", "replace"}
_WITH_BODY = {"SELECT": "query", "VALUES": "query", "FROM": "query", "TABLE": "query", "INSERT": "insert",
              "UPDATE": "update", "DELETE": "delete"}
# Tokens after which ``:name`` is a value (an operand), not a parameter: ``list[a:b]`` slices.
_OPERAND_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER, TokenType.R_BRACKET, TokenType.R_PAREN,
                   TokenType.STRING}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ANALYZE = re.compile(r"(?i)\s*ANALY[SZ]E\b")


@dataclass(frozen=True)
class Statement:
    """One SQL statement as every later step sees it."""

    #: the text as given
    text: str
    #: query | explain | show | describe | insert | update | delete (``other`` only when read leniently)
    kind: str
    #: what DuckDB runs: placeholders in the form ``params`` bind in; for EXPLAIN, the query after it
    sql: str
    #: the values, normalised: a list, a mapping keyed without ``:``/``$``, or None
    params: Params
    #: the parsed statement (for EXPLAIN, its query); placeholders numbered in text order. Never mutate it:
    #: copy first (the planner binds values into a copy)
    tree: exp.Expr | None
    #: the module ``DESCRIBE`` names
    target: str | None = None
    #: how many ``?`` the text holds, and whether ``sql`` numbers them (``$1``...) or keeps them as given
    qmarks: int = 0
    numbered: bool = True

    @property
    def explain(self) -> bool:
        return self.kind == "explain"

    def with_params(self, params: Params) -> Statement:
        """The same statement with other values (``executemany``): nothing is read again."""
        return replace(self, params=normalise_params(params))


def normalise_params(params: Params) -> Params:
    """A list, or a mapping keyed by bare names (``:a`` and ``$a`` are ``a``); a string is refused."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {str(k).lstrip(":$"): v for k, v in params.items()}
    if isinstance(params, (str, bytes)):
        raise ProgrammingError("parameters must be a sequence or a mapping, not a string",
                               hint="wrap a single value in a tuple: (value,)")
    return list(params)


def derived(tree: exp.Query, params: Params) -> Statement:
    """A query built as a tree (DML's rows to write): the text DuckDB runs is generated from it, not parsed."""
    return Statement("", "query", tree.sql(dialect="duckdb"), normalise_params(params), tree)


def read_statement(text: str, params: Params = None, *, strict: bool = True, as_given: bool = False) -> Statement:
    """Read ``text`` once (see the module docstring).

    ``strict``: refuse what the engine does not run (other statements, EXPLAIN ANALYZE) in words; off,
    any statement sqlglot reads is kind ``other`` with its tree (the planner's own tests and tools).
    ``as_given``: ``sql`` is the text with its placeholders as written (a caller that binds them itself).
    """
    params = normalise_params(params)
    try:
        tokens = _DIALECT.tokenize(text)
    except TokenError as exc:
        raise token_error(text, exc) from None
    except SqlglotError as exc:
        raise PlanningError(f"cannot read the SQL statement: {exc}", hint="the SQL is DuckDB's dialect") from None
    first = next((t for t in tokens if t.token_type != TokenType.L_PAREN), None)
    if first is None or all(t.token_type == TokenType.SEMICOLON for t in tokens):
        raise empty_statement()
    word = first.text.lower()
    kind = _KINDS.get(word)
    if kind == "query" and word == "with":
        kind = _with_body_kind(tokens)
    if kind == "explain":
        return _explain(text, first, params, strict, as_given)
    if kind is None:
        if strict:
            _refuse(text, word, first)
        kind = "other"
    if kind == "show":
        if strict and not _is_show_tables(tokens):
            raise ProgrammingError("only SHOW TABLES is supported", hint="DESCRIBE <module> shows columns")
        return Statement(text, kind, text, params, None)
    if kind == "describe":
        return Statement(text, kind, text, params, None, _describe_target(tokens))
    return _parsed(text, tokens, kind, params, as_given)


def _parsed(text: str, tokens: list[Token], kind: str, params: Params, as_given: bool) -> Statement:
    qmarks, colons = _placeholders(tokens)
    tree = parse_tokens(_numbered(tokens, qmarks, colons), text)
    refuse_external_access(tree)  # before any Zoho call, even the catalog's
    sql = text if as_given else _bind_form(text, qmarks, colons, params)
    return Statement(text, kind, sql, params, tree, qmarks=len(qmarks),
                     numbered=not as_given and isinstance(params, list))


def _bind_form(text: str, qmarks: list[Token], colons: list[Token], params: Params) -> str:
    """The text with its placeholders in the form ``params`` bind in: ``$1...`` for a list, ``$name`` for a mapping."""
    if isinstance(params, list):
        return _splice(text, [(t, f"${n}") for n, t in enumerate(qmarks, 1)])
    if isinstance(params, Mapping):
        return _splice(text, [(t, "$") for t in colons])
    return text


def bind_form(text: str, params: Params) -> tuple[str, Params]:
    """Text and values in the form DuckDB binds (``$1``/``$name``), from the tokens alone (no tree)."""
    params = normalise_params(params)
    if params is None:
        return text, None
    try:
        tokens = _DIALECT.tokenize(text)
    except SqlglotError:
        return text, params  # text that does not tokenize goes to DuckDB as it is, to report
    qmarks, colons = _placeholders(tokens)
    return _bind_form(text, qmarks, colons, params), params


def _explain(text: str, command: Token, params: Params, strict: bool, as_given: bool) -> Statement:
    body = text[command.end + 1:].lstrip()
    if _ANALYZE.match(body):
        if strict:
            raise NotSupportedError("EXPLAIN ANALYZE is not supported",
                                    hint="EXPLAIN <query> shows the plan and the estimated calls and credits")
        tokens = _DIALECT.tokenize(text)
        return Statement(text, "other", text, params, parse_tokens(tokens, text))
    inner = read_statement(body, params, strict=False, as_given=as_given) if body.strip() else None
    if inner is None or inner.kind != "query":
        raise PlanningError("EXPLAIN takes a query", hint="EXPLAIN SELECT ... shows how each Zoho table is read")
    return replace(inner, text=text, kind="explain")


def _refuse(text: str, word: str, first: Token) -> None:
    if word in _OUTSIDE:
        raise NotSupportedError(f"{word.upper()} statements are refused: SQL over Zoho does not reach files, the "
                                "network, DuckDB extensions or the engine's settings",
                                hint="for anything else attach Zoho to your own DuckDB (connector.duckdb.attach)")
    if word in _OTHER_STATEMENTS:
        raise NotSupportedError(f"{word.upper()} statements are not supported here",
                                hint="use SELECT/WITH, EXPLAIN, SHOW TABLES, DESCRIBE <module>, INSERT, UPDATE "
                                     "or DELETE; for anything else attach Zoho to your own DuckDB with "
                                     "connector.duckdb.attach")
    start = first.start
    line, col = text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1
    near = " ".join(text[start:].split())[:30]
    raise PlanningError(f"syntax error at line {line}, column {col} near {near!r}: a statement starts with "
                        "SELECT, WITH, FROM, VALUES, EXPLAIN, SHOW, DESCRIBE, INSERT, UPDATE or DELETE")


def _with_body_kind(tokens: list[Token]) -> str:
    """What ``WITH ... AS (...) <statement>`` runs: the first statement keyword outside the CTEs."""
    depth = 0
    for tok in tokens:
        name = tok.token_type.name
        if name == "L_PAREN":
            depth += 1
        elif name == "R_PAREN":
            depth -= 1
        elif depth == 0 and name in _WITH_BODY:
            return _WITH_BODY[name]
    return "query"  # no parentheses: the parser reports what is wrong


def _is_show_tables(tokens: list[Token]) -> bool:
    if tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens = tokens[:-1]
    return [t.text.upper() for t in tokens] in (["SHOW", "TABLES"], ["SHOW", "ALL", "TABLES"])


def _describe_target(tokens: list[Token]) -> str:
    """``DESCRIBE [zoho.]<module>[;]``: the module's name."""
    rest = tokens[1:]
    if rest and rest[-1].token_type == TokenType.SEMICOLON:
        rest = rest[:-1]
    if len(rest) == 3 and rest[1].token_type == TokenType.DOT and rest[0].text.lower() == "zoho":
        rest = rest[2:]
    if len(rest) == 1 and (rest[0].token_type == TokenType.IDENTIFIER or _NAME.fullmatch(rest[0].text)):
        return rest[0].text
    raise NotSupportedError("DESCRIBE takes one module name", hint="DESCRIBE Leads")


def _placeholders(tokens: list[Token]) -> tuple[list[Token], list[Token]]:
    """The ``?`` tokens and the ``:`` tokens that start a ``:name`` parameter, in text order."""
    qmarks, colons = [], []
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            qmarks.append(tok)
        elif tok.token_type == TokenType.COLON and i + 1 < len(tokens):
            nxt, prev = tokens[i + 1], tokens[i - 1] if i else None
            if nxt.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) or nxt.start != tok.end + 1:
                continue
            if prev is not None and prev.end + 1 == tok.start and prev.token_type in _OPERAND_TOKENS:
                continue  # x[a:b]: a slice, not a parameter
            colons.append(tok)
    return qmarks, colons


def _numbered(tokens: list[Token], qmarks: list[Token], colons: list[Token]) -> list[Token]:
    """The tokens as the parser reads them: each ``?`` as ``$n`` (text order), each ``:name`` as ``$name``.

    So the tree numbers placeholders as DuckDB binds them, whatever order sqlglot keeps its nodes in.
    """
    if not qmarks and not colons:
        return tokens
    number = {id(t): n for n, t in enumerate(qmarks, 1)}
    named = {id(t) for t in colons}
    out: list[Token] = []
    for tok in tokens:
        n = number.get(id(tok))
        if n is not None:
            out += [Token(TokenType.PARAMETER, "$", tok.line, tok.col, tok.start, tok.start),
                    Token(TokenType.NUMBER, str(n), tok.line, tok.col, tok.start, tok.end)]
        elif id(tok) in named:
            out.append(Token(TokenType.PARAMETER, "$", tok.line, tok.col, tok.start, tok.end))
        else:
            out.append(tok)
    return out


def _splice(sql: str, edits: list[tuple[Token, str]]) -> str:
    """``sql`` with each token of ``edits`` (in text order) replaced by its text; the rest untouched."""
    out, last = [], 0
    for tok, text in edits:
        out += [sql[last:tok.start], text]
        last = tok.end + 1
    return "".join(out) + sql[last:] if out else sql


__all__ = ["DML_KINDS", "Params", "Statement", "bind_form", "derived", "normalise_params", "read_statement"]
