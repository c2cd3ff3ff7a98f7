"""Read strategies: one object per Zoho read API — dialect, paging, limits, cost, partitions.

``strategy_for("COQL")`` answers for COQL. The planner prices and checks every
API through these objects, the sync source chooses through the same policy
(:mod:`connector.planning.choice`), and a read can be split into picklable
partitions that run in separate processes (:mod:`.partitions`).
"""

from __future__ import annotations

from .base import NO_EXTRAS, UNKNOWN, Cost, Extras, IdRange, Limits, Partition, ReadStrategy, TimeRange
from .bulk import BulkStrategy
from .coql import CoqlStrategy
from .rest import RestStrategy
from .search import SearchStrategy

REST = RestStrategy()
SEARCH = SearchStrategy()
COQL = CoqlStrategy()
BULK = BulkStrategy()
STRATEGIES: dict[str, ReadStrategy] = {s.name: s for s in (REST, SEARCH, COQL, BULK)}


def strategy_for(api: str) -> ReadStrategy:
    """The strategy of an APIType value (``REST``, ``Search``, ``COQL``, ``Bulk``)."""
    return STRATEGIES[api]


__all__ = ["BULK", "COQL", "NO_EXTRAS", "REST", "SEARCH", "STRATEGIES", "UNKNOWN", "Cost", "Extras", "IdRange",
           "Limits", "Partition", "ReadStrategy", "TimeRange", "strategy_for"]
