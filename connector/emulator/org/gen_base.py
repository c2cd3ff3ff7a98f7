"""The generator's building blocks: one chunk's context and vectorized value makers.

Every maker takes a :class:`GenContext` (the chunk's random stream, its row
offset inside the module, the org's module sizes) and returns one Arrow array
of ``ctx.n`` values, built with numpy draws and Arrow ``take``/compute kernels
rather than Python loops, so a million-record org generates in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store import id_base
from . import people
from .types import ModuleDef

GEN_START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
GEN_END = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
CHUNK = 100_000


@dataclass
class GenContext:
    rng: np.random.Generator
    n: int
    offset: int  # index of the first row of this chunk inside the module
    module: ModuleDef
    sizes: dict[str, int]
    created: np.ndarray  # epoch seconds
    modified: np.ndarray
    seed: int = 0
    #: rows for other tables a hook produces with the chunk (the ``files`` of its attachments ...)
    side: dict[str, list[pa.Table]] = field(default_factory=dict)

    def stream(self, n: int) -> np.random.Generator:
        """A second random stream of this chunk: values added to a module after its first release
        draw from it, so the module's other values stay what they were for the same seed."""
        return np.random.default_rng([self.seed, self.module.id_slot, self.offset // CHUNK, n])


def module_def(name: str) -> ModuleDef:
    from .. import schema  # the module table is gathered after the families are defined

    return schema.MODULES_BY_NAME[name]


def pool(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def pick(ctx: GenContext, values: list[str]) -> pa.Array:
    return pool(values).take(pa.array(ctx.rng.integers(0, len(values), ctx.n)))


def ids(target: str, ctx: GenContext, k: np.ndarray | None = None) -> pa.Array:
    """Random record ids of ``target`` (or the ``k``-th records, 1-based); nulls when it is empty."""
    size = ctx.sizes[target]
    if size == 0 and k is None:
        return pa.nulls(ctx.n, pa.int64())  # an empty module: the lookup stays empty
    idx = ctx.rng.integers(1, size + 1, ctx.n) if k is None else k
    return pa.array(id_base(module_def(target)) + idx, pa.int64())


def row_index(ctx: GenContext) -> np.ndarray:
    return np.arange(ctx.offset, ctx.offset + ctx.n, dtype=np.int64)


def str_index(ctx: GenContext, width: int = 0) -> pa.Array:
    s = pc.cast(pa.array(row_index(ctx) + 1), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64"), pa.timestamp("s")).cast(pa.timestamp("us"))


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.date32())


def json_pool(ctx: GenContext, docs: list[object]) -> pa.Array:
    return pick(ctx, [json.dumps(d, ensure_ascii=False) for d in docs])


def multi(ctx: GenContext, values: tuple[str, ...]) -> pa.Array:
    p = len(values)
    masks = ctx.rng.integers(1, 2 ** min(p, 4), ctx.n)  # 1-4 of the first values, realistic spread
    shift = ctx.rng.integers(0, max(1, p - 3), ctx.n)
    bits = ((masks[:, None] >> np.arange(4)) & 1).astype(bool)
    rows, cols = np.nonzero(bits)
    cols = (cols + shift[rows]) % p
    counts = bits.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype("int32")
    return pa.ListArray.from_arrays(pa.array(offsets), pool(list(values)).take(pa.array(cols)))


def money(ctx: GenContext, low: int, high: int) -> pa.Array:
    cents = ctx.rng.integers(low * 100, high * 100, ctx.n)
    return pa.array(np.round(cents / 100.0, 2))


def gen_created(ctx: GenContext) -> tuple[np.ndarray, np.ndarray]:
    rng = ctx.rng
    created = rng.integers(GEN_START, GEN_END - 86_400, ctx.n)
    # Many records share one Modified_Time second (imports, mass updates): the boundary case
    # every incremental sync must get right.
    burst_pool = rng.integers(GEN_START + 86_400 * 30, GEN_END, max(5, ctx.n // 40))
    modified = created + rng.integers(0, 86_400 * 90, ctx.n)
    burst = rng.random(ctx.n) < 0.35
    modified = np.where(burst, np.maximum(created, burst_pool[rng.integers(0, len(burst_pool), ctx.n)]),
                        modified)
    return created, np.minimum(modified, GEN_END)


def index(ctx: GenContext, target: str) -> np.ndarray:
    """Random 1-based record numbers of ``target`` (all 1 when it is empty; the caller masks those)."""
    return ctx.rng.integers(1, max(ctx.sizes[target], 1) + 1, ctx.n)


def either(ctx: GenContext, first: str, second: str, share_first: float,
           share_empty: float) -> tuple[np.ndarray, np.ndarray]:
    """For a lookup to one of two modules: (points at ``first``, stays empty), empty modules avoided."""
    to_first = ctx.rng.random(ctx.n) < share_first
    empty = ctx.rng.random(ctx.n) < share_empty
    has_first, has_second = ctx.sizes[first] > 0, ctx.sizes[second] > 0
    if not has_first:
        to_first[:] = False
    if not has_second:
        to_first[:] = has_first
    if not (has_first or has_second):
        empty[:] = True
    return to_first, empty


def owners(ctx: GenContext) -> pa.Array:
    """Record owners: active users, weighted like a real sales team (the admin owns most)."""
    return pa.array(ctx.rng.choice([u.id for u in people.ACTIVE_USERS], ctx.n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1]),
                    pa.int64())


def null_out(ctx: GenContext, arr: pa.Array, rate: float) -> pa.Array:
    """``arr`` with about ``rate`` of its values replaced by null."""
    if rate <= 0:
        return arr
    mask = pa.array(ctx.rng.random(ctx.n) < rate)
    return pc.if_else(mask, pa.nulls(ctx.n, arr.type), arr)
