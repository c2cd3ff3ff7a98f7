"""Tags: each module's tags (``tags``) and which records carry them (``record_tags``).

A record's ``Tag`` reads ``[{"name", "id", "color_code"}]`` (``[]`` when it has none), in name
order. Limits (tags.json; Zoho's help pages): a tag name has at most 25 characters, a module
at most :data:`MAX_TAGS_PER_MODULE` tags (``info.allowed_count``), a record at most
:data:`MAX_TAGS_PER_RECORD`. Tag names are unique per module, compared without case.
Adding or removing tags does not touch a record's ``Modified_Time`` (unconfirmed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .org.types import ORG_PREFIX

if TYPE_CHECKING:
    from .store import Store

COLORS = ("#57B1FD", "#879BFC", "#658BA8", "#FD87BD", "#969696", "#F48435", "#1DB9B4", "#E7A826", "#63C57E",
          "#F17574", "#D297EE", "#A8C026", "#B88562")
MAX_NAME = 25
MAX_TAGS_PER_MODULE = 100
MAX_TAGS_PER_RECORD = 10
TAG_SLOT = 60  # tag ids: their own id range


@dataclass(frozen=True)
class TagRequest:
    """``"Tag": [{"name": ...}]`` sent with a record: the tags it gets (created when new)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    color_code: str | None

    def ref(self) -> dict[str, Any]:
        return {"name": self.name, "id": str(self.id), "color_code": self.color_code}


def tag_sql(module: str, alias: str = "t") -> str:
    """SQL giving a record's tags as JSON text (NULL when it has none)."""
    return ("(SELECT to_json(list({'name': g.name, 'id': CAST(g.id AS VARCHAR), 'color_code': g.color_code} "
            f"ORDER BY g.name)) FROM record_tags r JOIN tags g ON g.id = r.tag_id WHERE r.module = '{module}' "
            f"AND r.record_id = {alias}.id)")


def module_tags(store: Store, module: str) -> list[tuple[Any, ...]]:
    """(id, name, color_code, created_time, modified_time, created_by, modified_by) by name."""
    return store.fetchall("SELECT id, name, color_code, created_time, modified_time, created_by, modified_by "
                          "FROM tags WHERE module = ? ORDER BY lower(name), id", [module])


def by_name(store: Store, module: str) -> dict[str, Tag]:
    return {r[1].lower(): Tag(r[0], r[1], r[2]) for r in module_tags(store, module)}


def by_id(store: Store, module: str | None, tag_id: int) -> tuple[str, Tag] | None:
    sql = "SELECT module, id, name, color_code FROM tags WHERE id = ?" + (" AND module = ?" if module else "")
    row = store.fetchone(sql, [tag_id] + ([module] if module else []))
    return (row[0], Tag(row[1], row[2], row[3])) if row else None


def create(store: Store, module: str, name: str, color: str | None, user_id: int, now: datetime) -> Tag:
    tid = store.next_values("tags", 1, ORG_PREFIX * 10**12 + TAG_SLOT * 10**10 + 1_000_001)[0]
    color = color or COLORS[tid % len(COLORS)]
    store.execute("INSERT INTO tags VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [tid, module, name, color, now, now, user_id,
                                                                        user_id])
    return Tag(tid, name, color)


def ensure(store: Store, module: str, names: list[str], user_id: int, now: datetime) -> list[Tag]:
    """The module's tags of these names, created when missing (adding a tag by name creates it)."""
    known = by_name(store, module)
    out = []
    for name in names:
        tag = known.get(name.lower())
        if tag is None:
            tag = known[name.lower()] = create(store, module, name, None, user_id, now)
        out.append(tag)
    return out


def of_records(store: Store, module: str, ids: list[int]) -> dict[int, list[Tag]]:
    rows = store.fetchall("SELECT r.record_id, g.id, g.name, g.color_code FROM record_tags r JOIN tags g "
                          "ON g.id = r.tag_id WHERE r.module = ? AND r.record_id IN (SELECT unnest(?)) "
                          "ORDER BY lower(g.name)", [module, ids])
    out: dict[int, list[Tag]] = {i: [] for i in ids}
    for rid, tid, name, color in rows:
        out[rid].append(Tag(tid, name, color))
    return out


def attach(store: Store, module: str, record_id: int, tags: list[Tag], overwrite: bool = False) -> None:
    if overwrite:
        store.execute("DELETE FROM record_tags WHERE module = ? AND record_id = ?", [module, record_id])
    have = {t.id for t in of_records(store, module, [record_id])[record_id]}
    for t in tags:
        if t.id not in have:
            store.execute("INSERT INTO record_tags VALUES (?, ?, ?)", [module, record_id, t.id])
            have.add(t.id)


def detach(store: Store, module: str, record_id: int, tag_ids: list[int]) -> None:
    store.execute("DELETE FROM record_tags WHERE module = ? AND record_id = ? AND tag_id IN (SELECT unnest(?))",
                  [module, record_id, tag_ids])


def forget_records(store: Store, module: str, ids: list[int]) -> None:
    """Deleted records carry no tags any more."""
    store.execute("DELETE FROM record_tags WHERE module = ? AND record_id IN (SELECT unnest(?))", [module, ids])
