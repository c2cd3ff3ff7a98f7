"""``LIKE 'abc%'`` / ``ILIKE 'abc%'``: Zoho's ``starts_with`` with the pattern's literal prefix.

The prefix is everything before the first unescaped ``%`` or ``_``, with the
``ESCAPE`` character honoured (DuckDB has no default escape character, so
without ``ESCAPE`` a backslash is an ordinary character). Anything after the
first wildcard only narrows further, so asking for the prefix is a superset;
a pattern without wildcards is an equality. A Zoho text match may ignore case,
so this is never exact; ``ILIKE`` goes only to Search, whose index is
documented to ignore case (COQL and Bulk may compare exactly, which would
lose ``ILIKE``'s other-case rows).

Escaping per target, so that a literal ``%``, ``_`` or ``\\`` in the prefix can
never make Zoho match *fewer* rows:

* Search and Bulk take the prefix as a plain string; Search backslash-escapes
  ``(``, ``)``, ``,`` and ``\\`` (its dialect's ``literal``).
* COQL ``like`` documents ``%`` but no escape syntax, and whether ``_`` is a
  wildcard or ``\\`` an escape is unconfirmed; its dialect's ``safe_prefix``
  cuts the prefix before the first ``%``, ``_`` or ``\\``, which is a
  superset under every reading.
"""

from __future__ import annotations

from connector.planning.predicates import Node, Pred
from connector.readers.dialects import dialect_for

from .base import Pushed, RuleContext, Target, condition


def like_prefix(pattern: str, escape: str | None) -> tuple[str, bool] | None:
    """(literal prefix, whether a wildcard follows), or None for a malformed pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape:
            if i + 1 >= len(pattern):
                return None  # DuckDB rejects a pattern ending in the escape character
            out.append(pattern[i + 1])
            i += 2
            continue
        if ch in "%_":
            return "".join(out), True
        out.append(ch)
        i += 1
    return "".join(out), False


def push_starts_with(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if not isinstance(node, Pred) or node.op not in ("like", "ilike"):
        return None
    dialect = dialect_for(target)
    if node.op == "ilike" and not dialect.prefix_ignores_case:
        return None  # only the search index is documented to ignore case; COQL/Bulk may compare exactly
    parsed = like_prefix(node.value, node.escape)
    if parsed is None:
        return None
    prefix, wildcard = parsed
    if not wildcard:
        return condition(target, ctx, node.column, "eq", prefix)
    # Trailing blanks may be trimmed by Zoho; a shorter prefix only widens the match.
    prefix = dialect.safe_prefix(prefix.rstrip())
    if not prefix:
        return None
    return condition(target, ctx, node.column, "starts_with", prefix)
