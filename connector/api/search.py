"""Search API (search-and-coql.md part A): criteria, 2,000-record cap, eventually consistent.

The criteria language is written by :class:`connector.readers.dialects.search.SearchCriteria`
and the pages are read by :class:`connector.readers.search.SearchReader` (which needs each
answer's ``Date`` header to time the index lag).
"""

from __future__ import annotations

SEARCH_CAP = 2_000
