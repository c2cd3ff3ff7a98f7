"""Generated tags: a handful per module, and about one record in six tagged with one or two of them.

Runs after every module is generated, from its own random stream, and only for the modules
that show a ``Tag`` field (an enterprise org), so a classic org's data is untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from .. import tags
from ..store import Store, id_base
from . import people
from .gen_base import GEN_START
from .registry import OrgSchema
from .types import ORG_PREFIX

NAMES = ["VIP", "Hot", "Partner", "Renewal 2025", "Do not call", "M\u00fcnchen", "Needs follow-up", "Churn risk",
         "\u512a\u5148"]


def populate_tags(store: Store, seed: int, sizes: dict[str, int], org: OrgSchema) -> None:
    created = datetime.fromtimestamp(GEN_START, UTC).replace(tzinfo=None)
    tag_rows: list[tuple[object, ...]] = []
    links: list[pa.Table] = []
    for k, m in enumerate(org.modules):
        if not m.field("Tag") or not sizes.get(m.api_name):
            continue
        rng = np.random.default_rng([seed, m.id_slot, 77])
        count = int(rng.integers(3, 7))
        names = [NAMES[int(i)] for i in rng.choice(len(NAMES), count, replace=False)]
        base = ORG_PREFIX * 10**12 + tags.TAG_SLOT * 10**10 + k * 100
        tag_rows += [(base + j, m.api_name, name, tags.COLORS[(k + j) % len(tags.COLORS)], created, created,
                      people.ADMIN_USER.id, people.ADMIN_USER.id) for j, name in enumerate(names)]
        n = sizes[m.api_name]
        tagged = rng.choice(n, max(1, n // 6), replace=False) + 1
        first = rng.integers(0, count, len(tagged))
        second = (first + rng.integers(1, count, len(tagged))) % count
        two = rng.random(len(tagged)) < 0.3
        record_ids = id_base(m) + np.concatenate([tagged, tagged[two]])
        tag_ids = base + np.concatenate([first, second[two]])
        links.append(pa.table({"module": pa.array([m.api_name] * len(record_ids)),
                               "record_id": pa.array(record_ids, pa.int64()),
                               "tag_id": pa.array(tag_ids, pa.int64())}))
    if not tag_rows:
        return
    # every module's tags and tagged records in one statement each (a statement per tag cost more than the rest)
    marks = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in tag_rows)
    store.execute(f"INSERT INTO tags VALUES {marks}", [v for row in tag_rows for v in row])
    cur = store.con.cursor()
    try:
        cur.register("_gen_tags", pa.concat_tables(links))
        cur.execute("INSERT INTO record_tags SELECT module, record_id, tag_id FROM _gen_tags")
    finally:
        cur.close()
