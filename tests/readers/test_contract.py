"""The reader contract, run against every reader (fsspec style: one base class, one subclass each).

Each reader must give, for the same module, columns and pushdown:
* batches whose schema is exactly the catalog's for the requested columns;
* the same rows and values as the ground truth (the export converted with
  the schema converter): lookups' ``_Id``/``_Name``/``_Module``, decimals,
  UTC timestamps, lists, JSON text, nulls, unicode, quotes and newlines;
* for a pushed filter, a superset of the matching rows, and exactly the
  matching rows once DuckDB re-applies the predicate;
* every module of an enterprise org the reader's API serves (columns only the
  records API returns — Tag, file uploads, Participants — filled in by id), and
  Zoho's own refusal, unchanged, for a module it does not (Notes through COQL);
* only records modified at or after ``modified_since``;
* every record of a module beyond the 2,000-record paging and search limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa
import pytest

from connector.emulator.schema import ORGS
from connector.errors import FatalApiError
from connector.model import Pushdown
from connector.readers import BulkReader, CoqlReader, Reader, ReaderContext, RestReader, SearchReader
from connector.readers.base import resolve_columns
from connector.schema.access import RECORDS_API

from .expected import assert_same_rows, expected_table, read_table, volatile_columns, where

#: every module an enterprise org lists, Attachments aside (read per parent: tests/engine/test_org_tables.py)
ALL_MODULES = [m.api_name for m in ORGS["enterprise"].listed if m.api_supported]
#: what each API answers for a module it does not serve (tests/emulator/test_api_coverage.py)
REFUSALS = {"COQL": "INVALID_MODULE", "Search": "INVALID_MODULE", "Bulk": "MODULE_NOT_SUPPORTED"}


def pred(sql: str, criteria: str, coql: str, bulk: dict[str, Any]) -> dict[str, Any]:
    return {"sql": sql, "pushdown": Pushdown(criteria=criteria, coql_where=coql, bulk_criteria=bulk)}


def cond(field: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value}


# The same predicate in the engine's SQL and in each API's filter language (what the planner renders).
FILTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "picklist-equals": ("Leads", pred("Lead_Source = 'Web Download'", "(Lead_Source:equals:Web Download)",
                                      "Lead_Source = 'Web Download'", cond("Lead_Source", "equal", "Web Download"))),
    "unicode-starts-with": ("Contacts", pred("starts_with(Last_Name, 'Ó')", "(Last_Name:starts_with:Ó)",
                                             "Last_Name like 'Ó%'", cond("Last_Name", "starts_with", "Ó"))),
    "currency-range": ("Deals", pred("Amount >= 1421809.15", "(Amount:greater_equal:1421809.15)",
                                     "Amount >= 1421809.15", cond("Amount", "greater_equal", 1421809.15))),
    "owner-lookup": ("Tasks", pred("Owner_Id = '5843104000000424673'", "(Owner:equals:5843104000000424673)",
                                   "Owner = 5843104000000424673", cond("Owner", "equal", "5843104000000424673"))),
    "converted-leads": ("Leads", pred("Converted__s", "(Converted__s:equals:true)", "Converted__s = true",
                                      cond("Converted__s", "equal", True))),
    # Matches ~2,250 leads: more than search can list, so the search reader must fall back.
    "over-search-cap": ("Leads", pred("NOT Email_Opt_Out", "(Email_Opt_Out:equals:false)",
                                      "Email_Opt_Out = false", cond("Email_Opt_Out", "equal", False))),
    "matches-nothing": ("Leads", pred("Lead_Source = 'No such source'", "(Lead_Source:equals:No such source)",
                                      "Lead_Source = 'No such source'",
                                      cond("Lead_Source", "equal", "No such source"))),
}


class ReaderContract:
    """The tests every reader must pass; subclasses say which reader."""

    reader_cls: ClassVar[type]

    def reader(self, ctx: ReaderContext) -> Reader:
        r: Reader = self.reader_cls(ctx)
        return r

    def read(self, ctx: ReaderContext, module: str, columns: list[str] | None = None,
             pushdown: Pushdown | None = None) -> pa.Table:
        ts = ctx.catalog.table(module)
        schema = ts.select(resolve_columns(ts, columns))
        return read_table(self.reader(ctx).batches(module, columns, pushdown), schema)

    @pytest.mark.parametrize("module", ALL_MODULES)
    def test_every_column_equals_the_export(self, ctx: ReaderContext, truth: dict[str, Any], module: str) -> None:
        ts = ctx.catalog.table(module)
        if self.reader_cls.name not in ts.read_apis:
            assert ts.read_apis == RECORDS_API, ts.read_apis
            with pytest.raises(FatalApiError) as refused:
                self.read(ctx, module)
            assert refused.value.code == REFUSALS[self.reader_cls.name]
            return
        got = self.read(ctx, module)
        assert_same_rows(got, expected_table(truth[module], ts), tolerant=volatile_columns(ts),
                         label=f"{self.reader_cls.name} {module}")

    @pytest.mark.parametrize("module", ["Leads", "Tasks", "Deals"])
    def test_projection(self, ctx: ReaderContext, truth: dict[str, Any], module: str) -> None:
        ts = ctx.catalog.table(module)
        # Every third column, plus name/module parts without their id (bulk must still find them).
        columns = [c.name for i, c in enumerate(ts.columns) if i % 3 == 1]
        columns += [c.name for c in ts.columns if c.part in ("name", "module") and c.name not in columns][:4]
        got = self.read(ctx, module, columns)
        assert got.column_names == resolve_columns(ts, columns)
        assert "id" in got.column_names
        assert_same_rows(got, expected_table(truth[module], ts, columns), tolerant=volatile_columns(ts),
                         label=f"{self.reader_cls.name} {module} projection")

    def test_id_only(self, ctx: ReaderContext, truth: dict[str, Any]) -> None:
        got = self.read(ctx, "Deals", ["id"])
        assert got.column_names == ["id"]
        assert sorted(got.column("id").to_pylist()) == sorted(r["id"] for r in truth["Deals"])

    @pytest.mark.parametrize("case", list(FILTERS))
    def test_pushed_filter(self, ctx: ReaderContext, truth: dict[str, Any], case: str) -> None:
        module, p = FILTERS[case]
        ts = ctx.catalog.table(module)
        want = where(expected_table(truth[module], ts), p["sql"])
        got = self.read(ctx, module, None, p["pushdown"])
        assert set(want.column("id").to_pylist()) <= set(got.column("id").to_pylist()), "not a superset"
        assert_same_rows(where(got, p["sql"]), want, tolerant=volatile_columns(ts),
                         label=f"{self.reader_cls.name} {case}")

    @pytest.mark.parametrize("module", ["Contacts", "Leads"])
    def test_modified_since(self, ctx: ReaderContext, truth: dict[str, Any], module: str) -> None:
        ts = ctx.catalog.table(module)
        times = sorted(r["Modified_Time"] for r in truth[module])
        since = datetime.fromisoformat(times[len(times) * 3 // 4])  # the newest quarter, boundary included
        columns = ["Modified_Time", "Last_Name", "Owner_Name"]
        got = self.read(ctx, module, columns, Pushdown(modified_since=since))
        want = where(expected_table(truth[module], ts, columns), f"Modified_Time >= '{since.isoformat()}'")
        assert want.num_rows >= len(times) // 4
        assert_same_rows(got, want, label=f"{self.reader_cls.name} {module} modified_since")

    def test_leads_beyond_paging_limit(self, ctx: ReaderContext, truth: dict[str, Any]) -> None:
        got = self.read(ctx, "Leads", ["Last_Name", "Converted__s", "Interests"])
        assert got.num_rows == len(truth["Leads"]) > 2_000
        assert any(got.column("Converted__s").to_pylist()), "converted leads belong to the table"


class TestRestReader(ReaderContract):
    reader_cls = RestReader


class TestCoqlReader(ReaderContract):
    reader_cls = CoqlReader


class TestSearchReader(ReaderContract):
    reader_cls = SearchReader


class TestBulkReader(ReaderContract):
    reader_cls = BulkReader

    def reader(self, ctx: ReaderContext) -> Reader:
        return BulkReader(ctx, poll_initial=0.25)  # the emulator finishes small jobs in 0.2 virtual s
