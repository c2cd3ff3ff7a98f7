"""Zoho's filter languages, one generator per dialect (the sqlglot way).

``dialect_for(Target.COQL)`` is the COQL WHERE generator; the pushdown rules in
:mod:`connector.planning.rules` ask it how to write what they decided to push.
:mod:`.coql` also builds every COQL statement (:class:`~.coql.CoqlQuery`);
:mod:`.rest` holds the list API's header and ids; :func:`~.base.zoho_datetime`
is the one place Zoho's datetime literal is written.
"""

from __future__ import annotations

from .base import TEXT_KINDS, Dialect, Pushed, Target, zoho_datetime
from .bulk import BulkCriteria
from .coql import CoqlQuery, CoqlWhere
from .search import SearchCriteria

SEARCH = SearchCriteria()
COQL = CoqlWhere()
BULK = BulkCriteria()
DIALECTS: dict[Target, Dialect] = {Target.SEARCH: SEARCH, Target.COQL: COQL, Target.BULK: BULK}


def dialect_for(target: Target | str) -> Dialect:
    return DIALECTS[Target(target)]


__all__ = ["BULK", "COQL", "DIALECTS", "SEARCH", "TEXT_KINDS", "BulkCriteria", "CoqlQuery", "CoqlWhere", "Dialect",
           "Pushed", "SearchCriteria", "Target", "dialect_for", "zoho_datetime"]
