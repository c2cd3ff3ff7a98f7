"""A page of Zoho records (``{"data":[...],"info":{...}}``) from its bytes to Arrow, without Python objects.

A COQL page of 2,000 records is a few megabytes of JSON. Decoded by ``json`` into dicts and
then handed to Arrow value by value, it costs the client more than Zoho's answer takes to
arrive, and it holds the GIL throughout, so pages read at once are decoded one after another.
Arrow's JSON reader decodes the same bytes in C++ without the GIL, into the types Zoho's
metadata gives the fields (``json_type``: ids and bigint as text, numbers, booleans, lookups
as ``{"id", "name"}``), when it is told them (:class:`PageDecoder`).

The two paths give the same batch, value for value; the fast one is only taken where that is
certain:

* the reader is strict: a value whose JSON type is not its field's (a number as text, ``""``
  in a number field, an integer past 64 bits, a lookup given as a bare id) fails the whole
  page, and the page is decoded by ``json``, whose rules (:mod:`.convert`) then apply; so are
  the read's later pages (a refused parse costs a few milliseconds; one per page would not do);
* every column then goes through :func:`.convert.records_to_batch`'s own decision: taken whole
  where it takes it whole, value by value (from the very values ``json`` gives) where it goes
  value by value: dates and times with an empty value, bigint given as text, currency (rounded
  half-even from its text), a cast Arrow refuses;
* currency is read as a double, the value ``json`` gives for a number with a fraction; a whole
  number past 2**53, which ``json`` keeps exact, sends the page the ``json`` way;
* documents kept as JSON text (reminders, consent, territories, line taxes) and tags are made
  from ``json``'s values of the same page; a polymorphic lookup's module (its names are filled
  into the records) makes the whole read go the ``json`` way.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .convert import column_from_values, lookup_part, records_to_batch
from .types import Column, TableSchema

Row = dict[str, Any]

_LOOKUP = pa.struct([("id", pa.string()), ("name", pa.string())])
_INFO = pa.struct([("count", pa.int64()), ("more_records", pa.bool_())])
#: a double holds every whole number below this exactly; past it ``json`` (exact) and a double differ
_EXACT = float(2 ** 53)
#: a currency of this many units of its last decimal or more may share its double with its neighbour
_AT_SCALE = float(2 ** 52)
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, pa.ArrowIndexError,
                 pa.ArrowKeyError)


def _json_type(ts: TableSchema, col: Column) -> pa.DataType | None:
    """The JSON reader's type for a column's values: what Zoho's JSON holds (the field's ``json_type``), not
    yet the catalog's type; None for a column whose values Arrow cannot hold as Zoho sends them."""
    if col.part in ("id", "name"):
        return _LOOKUP
    info = ts.fields.get(col.field)
    json_type = info.json_type if info is not None else ""
    if col.part != "value" or col.value_type in ("tag", "json") or json_type in ("jsonobject", "jsonarray") \
            and not pa.types.is_list(col.arrow):
        return None  # a polymorphic lookup's module, tags, documents kept as JSON text: from json's values
    t = col.arrow
    if col.field == "id" or json_type == "string" or pa.types.is_timestamp(t) or pa.types.is_date(t) \
            or pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.string()  # ids and bigint come as text, dates and times as ISO 8601
    if pa.types.is_decimal(t) or pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_boolean(t):
        return pa.bool_()
    if pa.types.is_list(t) and pa.types.is_string(t.value_type):
        return pa.list_(pa.string())
    return None


class PageDecoder:
    """Decodes a read's pages (:meth:`page`), by Arrow where the columns allow it (:meth:`for_columns`).

    A page Arrow refuses (a value not of the type Zoho's metadata gives its field) is decoded by ``json``,
    and so are the read's later pages: one refused parse is cheap, one per page would not be.
    """

    def __init__(self, schema: pa.Schema | None, by_json: frozenset[str] = frozenset()) -> None:
        self.schema = schema
        #: columns made from ``json``'s values even on a page Arrow reads (JSON documents kept as text, tags)
        self.by_json = by_json

    @classmethod
    def for_columns(cls, ts: TableSchema, columns: list[str]) -> PageDecoder:
        """The decoder of pages holding ``columns``: by ``json`` alone when a polymorphic lookup's module is
        among them (its names are filled into the records) or when no column is Arrow's."""
        fields: dict[str, pa.DataType] = {"id": pa.string()}
        by_json: set[str] = set()
        for name in columns:
            col = ts.by_name[name]
            if col.part == "module":
                return cls(None)
            jt = _json_type(ts, col)
            if jt is None:
                by_json.add(name)
            elif fields.setdefault(col.field, jt) != jt:
                return cls(None)
        if len(by_json) == len(columns):
            return cls(None)
        return cls(pa.schema([("data", pa.list_(pa.struct(list(fields.items())))), ("info", _INFO)]),
                   frozenset(by_json))

    def page(self, content: bytes, decoded: Callable[[], Any]) -> RecordPage:
        """A page from Zoho's bytes; ``decoded()``: the same answer decoded by ``json``."""
        schema = self.schema
        if schema is not None and content:
            try:
                table = pj.read_json(io.BytesIO(content),
                                     read_options=pj.ReadOptions(use_threads=False, block_size=len(content) + 1),
                                     parse_options=pj.ParseOptions(explicit_schema=schema, newlines_in_values=True,
                                                                   unexpected_field_behavior="ignore"))
            except _ARROW_ERRORS:
                self.schema = None  # not every value has its field's type: json's values and convert's rules
            else:
                page = RecordPage.from_table(table, content, self.by_json)
                if page is not None:
                    return page
        body = decoded()
        body = body if isinstance(body, dict) else {}
        return RecordPage(list(body.get("data") or []), more=bool((body.get("info") or {}).get("more_records")))


class _Slow(Exception):
    """The page's values are not all what the fast path takes: it is converted from ``json``'s values."""


class RecordPage:
    """One page of records: the ids at hand, the values as Arrow decoded them or as ``json`` did.

    A slice (``page[a:b]``) is a page of its own; ``records`` decodes the page's JSON on first use
    (a caller that needs dicts: polymorphic names, the list-shaped API), the batch does not. A page is
    not a list of dicts (no item access, no iteration): a record is only ever decoded by asking for them.
    """

    __slots__ = ("_records", "_values", "_content", "_start", "_stop", "more", "_ids", "_by_json")

    def __init__(self, records: list[Row] | None = None, *, more: bool = False, values: pa.StructArray | None = None,
                 content: bytes | None = None, start: int = 0, stop: int | None = None,
                 by_json: frozenset[str] = frozenset()) -> None:
        self._records = records
        self._by_json = by_json
        self._values = values
        self._content = content
        self._start = start
        size = len(values) if values is not None else len(records or [])
        self._stop = size if stop is None else stop
        self.more = more
        self._ids: list[str] | None = None

    @classmethod
    def from_table(cls, table: pa.Table, content: bytes, by_json: frozenset[str] = frozenset()
                   ) -> RecordPage | None:
        """The page Arrow's JSON reader made of ``content``; None if its shape is not one page of records."""
        if table.num_rows != 1:
            return None
        data = table.column("data").chunk(0)
        info = table.column("info").chunk(0)[0]
        more = bool(info["more_records"].as_py()) if info.is_valid else False
        if data.null_count:
            return None  # no "data": decoded by json, which says what it is
        values = data.flatten()
        if values.null_count:
            return None
        return cls(more=more, values=values, content=content, by_json=by_json)

    def __len__(self) -> int:
        return self._stop - self._start

    def __bool__(self) -> bool:
        return self._stop > self._start

    def __getitem__(self, key: slice) -> RecordPage:
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("a page is sliced in order")
        cut = RecordPage(self._records, more=self.more, values=self._values, content=self._content,
                         start=self._start + start, stop=self._start + max(start, stop), by_json=self._by_json)
        if self._ids is not None:
            cut._ids = self._ids[start:max(start, stop)]
        return cut

    @property
    def by_arrow(self) -> bool:
        """Decoded by Arrow's JSON reader (False: by ``json``)."""
        return self._values is not None

    @property
    def ids(self) -> list[str]:
        """Every record's id, as text."""
        if self._ids is None:
            if self._values is not None:
                self._ids = [str(i) for i in self._values.field("id")[self._start:self._stop].to_pylist()]
            else:
                self._ids = [str(r["id"]) for r in self.records]
        return self._ids

    @property
    def records(self) -> list[Row]:
        """The records as dicts (decoded from the page's JSON on first use)."""
        if self._records is None:
            body = json.loads(self._content or b"{}")
            self._records = list(body.get("data") or [])
        return self._records[self._start:self._stop]

    def to_batch(self, ts: TableSchema, columns: list[str]) -> pa.RecordBatch:
        """The page as a batch of exactly ``columns`` (see :func:`.convert.records_to_batch`)."""
        fields = [pa.field(name, ts.by_name[name].arrow) for name in columns]
        if self._values is not None:
            values = self._values[self._start:self._stop]
            try:
                records = self.records if self._by_json.intersection(columns) else []
                arrays = [column_from_values(ts, col, [r.get(col.field) for r in records])
                          if name in self._by_json else _column(ts, col, values)
                          for name, col in ((name, ts.by_name[name]) for name in columns)]
                return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
            except _Slow:
                pass
        return records_to_batch(ts, columns, self.records)


def _at_scale(raw: pa.Array, t: pa.Decimal128Type, largest: float | None) -> pa.Array | None:
    """Currency read as doubles, as decimals of the column's scale in one cast, when that is what rounding
    each value's text half-even gives (:mod:`.convert`): when every value is a number of that many decimals
    (rounding it to them in double gives it back), so there is nothing to round, and small enough (times
    10**scale below 2**52) that no two such numbers share a double. None: a value has more decimals than
    the scale (2.675 at 2 places: its text rounds to 2.68, its double to 2.67), value by value then."""
    if raw.type != pa.float64() or largest is not None and largest * 10.0 ** t.scale >= _AT_SCALE:
        return None
    if not pc.all(pc.equal(pc.round(raw, t.scale, round_mode="half_to_even"), raw)).as_py():
        return None
    try:
        return raw.cast(t)
    except _ARROW_ERRORS:
        return None  # past the column's precision: value by value, whose error says which value


def _digits(raw: pa.Array, t: pa.DataType) -> pa.Array | None:
    """Integers given as text (bigint) in one cast, when each value is an optional minus and decimal digits
    (what ``int()`` reads the same way; Arrow's cast also takes forms ``int()`` refuses, such as ``0x1F``) and
    the column's width holds them. None: value by value, with :mod:`.convert`'s rules and errors."""
    if not pa.types.is_integer(t) or not pc.all(pc.match_substring_regex(raw, r"^-?[0-9]+$")).as_py():
        return None
    try:
        return raw.cast(t)
    except _ARROW_ERRORS:
        return None  # past the column's width: value by value, whose error says which value


def _column(ts: TableSchema, col: Column, values: pa.StructArray) -> pa.Array:
    raw = values.field(col.field)
    if col.part in ("id", "name"):
        return lookup_part(raw, col.part).cast(col.arrow)
    t = col.arrow
    if pa.types.is_decimal(t):
        largest = pc.max(pc.abs(raw)).as_py() if len(raw) else None
        if largest is not None and largest >= _EXACT:
            raise _Slow  # json keeps such a whole number exact, a double does not
        cast = _at_scale(raw, t, largest)
        return cast if cast is not None else column_from_values(ts, col, raw.to_pylist())
    temporal = pa.types.is_timestamp(t) or pa.types.is_date(t)
    if raw.type == pa.string() and not (temporal or pa.types.is_string(t) or pa.types.is_large_string(t)):
        whole = _digits(raw, t)
        # a number as text (bigint): in one cast when every value is plain digits, else convert's rules
        return whole if whole is not None else column_from_values(ts, col, raw.to_pylist())
    if temporal and pc.any(pc.equal(raw, "")).as_py():
        return column_from_values(ts, col, raw.to_pylist())  # Zoho's empty value: convert's rules
    if raw.type == t:
        return raw
    try:
        return raw.cast(t)  # ISO 8601 text with its offset to UTC, int64 to the column's width
    except _ARROW_ERRORS:
        return column_from_values(ts, col, raw.to_pylist())
