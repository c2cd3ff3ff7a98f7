"""Generated files: attachments, and the files of file-upload and image-upload fields.

Each file gets a row in the ``files`` table (through ``ctx.side["files"]``): its id is
:func:`..files.generated_id` of the owning row, its bytes derive from the seed on download.
Sizes follow a log-normal spread (most files tens of kilobytes, a few megabytes).

The Projects fields ``Contract`` (file upload) and ``Photos`` (image upload) keep the random
draws they always made (which rows have files), so Projects' other values are unchanged; the
files themselves come from the chunk's second stream (:meth:`GenContext.stream`).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import files
from . import people
from .gen_base import GenContext, pick, ts
from .gen_fields import GENERATORS
from .gen_notes import parents
from .notes import ATTACHMENT_PARENTS
from .types import ORG_PREFIX

ATTACHMENT_NAMES = ["contract, signed.pdf", "Angebot M\u00fcller.pdf", "scan_0042.png", "site photo.jpg",
                    "Q3 report.docx", "pricing (final).xlsx", "export.csv", "logo.gif", "archive.zip",
                    "\u898b\u7a4d\u66f8.pdf", "NDA \"mutual\".pdf", "minutes 2024-05-02.docx"]
LINKS = ["https://www.acme.example/proposal", "https://docs.example.com/d/1x2y3z/edit",
         "https://drive.example.org/file/abc?usp=sharing"]
CONTRACT_NAMES = ["contract, signed.pdf", "SOW v2.docx", "Rahmenvertrag.pdf", "amendment #1.pdf"]
PHOTO_NAMES = ["site.jpg", "team photo.png", "whiteboard.jpg", "floor plan.gif"]
#: ids of file and image upload field entries (their own id ranges, outside every module's):
#: generated ones, and those the API adds
FIELD_FILE_SLOT = 61
UPLOADED_FIELD_FILE_SLOT = 62

Columns = dict[str, pa.Array]


def sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """File sizes in bytes: log-normal around 12 KB, between 200 bytes and 2 MB."""
    return np.clip(rng.lognormal(np.log(12_000), 1.3, n), 200, 2_000_000).astype(np.int64)


def files_table(ids: list[str], names: list[str], size: list[int], created: list[int], owners: list[int]) -> pa.Table:
    return pa.table({
        "file_id": pa.array(ids, pa.string()), "name": pa.array(names, pa.string()),
        "size": pa.array(size, pa.int64()), "content_type": pa.array([files.content_type(n) for n in names]),
        "created_time": ts(np.array(created, dtype=np.int64)), "created_by": pa.array(owners, pa.int64()),
    })


def attachments(ctx: GenContext, cols: Columns) -> None:
    pids, mods = parents(ctx, ATTACHMENT_PARENTS)
    cols["Parent_Id"], cols["Parent_Id$module"] = pids, mods
    rng = ctx.rng
    link = rng.random(ctx.n) < 0.08
    size = np.where(link, 0, sizes(rng, ctx.n))
    names = pick(ctx, ATTACHMENT_NAMES).to_pylist()
    urls = pick(ctx, LINKS).to_pylist()
    row_ids = cols["id"].to_pylist()
    file_ids = [None if lk else files.generated_id(ctx.seed, "attachment", rid)
                for lk, rid in zip(link.tolist(), row_ids, strict=True)]
    names = [u if lk else nm for lk, u, nm in zip(link.tolist(), urls, names, strict=True)]
    cols["File_Name"] = pa.array(names, pa.string())
    cols["Size"] = pa.array(size, pa.int64())
    cols["$file_id"] = pa.array(file_ids, pa.string())
    cols["$link_url"] = pc.if_else(pa.array(link), pa.array(urls, pa.string()), pa.nulls(ctx.n, pa.string()))
    keep = [i for i, fid in enumerate(file_ids) if fid is not None]
    owners = cols["Owner"].to_pylist()
    ctx.side.setdefault("files", []).append(files_table(
        [file_ids[i] or "" for i in keep], [names[i] for i in keep], [int(size[i]) for i in keep],
        [int(ctx.created[i]) for i in keep], [owners[i] for i in keep]))


def _field_files(ctx: GenContext, cols: Columns, field: str, names: list[str], image: bool,
                 rng: np.random.Generator) -> pa.Table:
    """Replace a file/image upload column's placeholder values by 1-3 real files per filled row.

    Vectorized draws, then one formatted string per entry (json.dumps per row was the cost of a
    big org's generation): names are JSON-escaped once.
    """
    filled = np.nonzero(cols[field].is_valid().to_numpy(zero_copy_only=False))[0]
    counts = rng.integers(1, 4, len(filled))
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    entry_row = np.repeat(filled, counts)
    entry_k = np.arange(total) - np.repeat(starts, counts)
    picked = rng.integers(0, len(names), total)
    size = sizes(rng, total)
    row_ids = np.asarray(cols["id"].to_numpy(zero_copy_only=False))
    escaped = [json.dumps(n, ensure_ascii=False) for n in names]
    file_ids = []
    base = ORG_PREFIX * 10**12 + FIELD_FILE_SLOT * 10**10 + (5 if image else 0)
    entry_ids = (base + (row_ids[entry_row] % 10**9) * 10 + entry_k).tolist()
    texts = []
    for e in range(total):
        row, k = int(entry_row[e]), int(entry_k[e])
        fid = files.generated_id(ctx.seed, f"{field}:{k}", int(row_ids[row]))
        text = (f'{{"File_Name__s": {escaped[picked[e]]}, "File_Id__s": "{fid}", "Size__s": "{size[e]}", '
                f'"id": "{entry_ids[e]}"')
        if image:
            text += (f', "Preview_Id__s": "{fid[:32]}", "State__s": "active", "Description__s": null, '
                     f'"Sequence_Number__s": {k + 1}, "Attachment_Source__s": "Local"')
        texts.append(text + "}")
        file_ids.append(fid)
    values: list[str | None] = [None] * ctx.n
    for i, row in enumerate(filled.tolist()):
        first = int(starts[i])
        values[row] = "[" + ", ".join(texts[first:first + int(counts[i])]) + "]"
    cols[field] = pa.array(values, pa.string())
    owners = pc.fill_null(cols["Owner"], people.ADMIN_USER.id).take(pa.array(entry_row))
    return pa.table({
        "file_id": pa.array(file_ids, pa.string()), "name": pa.array(names, pa.string()).take(pa.array(picked)),
        "size": pa.array(size, pa.int64()), "content_type": pa.array([files.content_type(n) for n in names]).take(
            pa.array(picked)),
        "created_time": ts(ctx.created[entry_row]), "created_by": owners.cast(pa.int64())})


def projects(ctx: GenContext, cols: Columns) -> None:
    rng = ctx.stream(1)
    ctx.side.setdefault("files", []).extend([_field_files(ctx, cols, "Contract", CONTRACT_NAMES, False, rng),
                                             _field_files(ctx, cols, "Photos", PHOTO_NAMES, True, rng)])


GENERATORS.update({
    "attachment_name": lambda c, f: pa.nulls(c.n, pa.string()),  # the hook fills it with the rest
    "attachment_size": lambda c, f: pa.nulls(c.n, pa.int64()),
})

HOOKS = {"Attachments": attachments, "Projects": projects}
