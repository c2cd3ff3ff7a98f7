"""SQL DML through the writers: INSERT, upsert (ON CONFLICT), UPDATE and DELETE on Zoho modules.

Every statement becomes "a query that produces the rows to write" plus one
writer call, so the read path (planner pushdown, any API) finds the records
and DuckDB computes the new values; the writers do the rest
(AllowedOperations/AllowedModules, validation, DryRun, batching, the per-row
report):

* ``INSERT INTO Leads (Last_Name, Email) VALUES (...), (...)`` and
  ``INSERT INTO Leads (...) SELECT ...`` insert the rows;
* ``INSERT ... ON CONFLICT (Email) DO UPDATE SET c = excluded.c, ...`` is
  Zoho's upsert with ``Email`` as the duplicate-check field. Zoho's upsert
  writes every given column of a matched record, so the SET list must assign
  ``excluded.<col>`` to every inserted column but the key (anything else would
  mean a different statement than the one Zoho runs: NotSupportedError);
* ``UPDATE Leads SET c = <expr> WHERE ...`` reads ``id`` and the new values
  (``SELECT id, <expr> AS c FROM Leads WHERE ...``) and updates by id;
* ``DELETE FROM Leads WHERE ...`` reads the ids and deletes them.

UPDATE and DELETE need a WHERE clause (``WHERE true`` when every record is
meant): one forgotten clause must not rewrite a whole CRM. Permission is
checked before the read, so a refused write costs no credits. Failed rows never
abort the statement: they are in the report, and ``rowcount`` counts the rows
Zoho actually wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from connector.errors import NotSupportedError, ProgrammingError
from connector.http.guard import require_write
from connector.http.policy import acting_as
from connector.planning.statement import Params, Statement, derived
from connector.schema.org_tables import read_only_reason
from connector.schema.types import TableSchema
from connector.session import ZohoSession
from connector.writers import WriteReport, write

from .result import Result, table_reader


class Engine(Protocol):
    """What DML needs of the engine that runs it: its session, module names, and a query's rows.

    A protocol, not the engine's class: the engine hands DML statements here, so this module
    must not import it back.
    """

    @property
    def session(self) -> ZohoSession: ...

    def resolve(self, name: str) -> TableSchema | None: ...

    def query_table(self, statement: Statement) -> pa.Table: ...


@dataclass(frozen=True)
class DmlPlan:
    operation: str  # insert | upsert | update | delete
    module: str
    source: exp.Query  # the query whose rows are written (parameters kept as placeholders)
    columns: tuple[str, ...] | None = None  # INSERT's column list: names for the source's columns
    key: str | None = None  # upsert: the duplicate-check field
    upsert_set: tuple[str, ...] = ()  # upsert: the columns ON CONFLICT ... SET assigns from excluded


def _with(tree: exp.Expr) -> exp.With | None:
    """The statement's own ``WITH`` (``WITH x AS (...) INSERT ...``), which its source query needs."""
    found = tree.args.get("with_") or tree.args.get("with")
    return found if isinstance(found, exp.With) else None


def _with_ctes(query: exp.Query, outer: exp.With | None) -> exp.Query:
    """``query`` with the statement's CTEs in front of its own (so its FROM can name them)."""
    if outer is None:
        return query
    query = query.copy()
    inner = query.args.get("with_") or query.args.get("with")
    ctes = [c.copy() for c in outer.expressions] + (list(inner.expressions) if isinstance(inner, exp.With) else [])
    merged = exp.With(expressions=ctes, recursive=bool(outer.args.get("recursive"))
                      or bool(isinstance(inner, exp.With) and inner.args.get("recursive")))
    query.set("with_" if "with_" in query.arg_types else "with", merged)
    return query


def _target(engine: Engine, table: exp.Expr, verb: str) -> TableSchema:
    if not isinstance(table, exp.Table) or table.args.get("catalog") is not None:
        raise ProgrammingError(f"{verb} needs a Zoho module as its target", hint=f"{verb} Leads ...")
    db = table.args.get("db")
    if db is not None and db.name.lower() != "zoho":
        raise ProgrammingError(f"{verb} writes to Zoho modules only, not to {table.sql(dialect='duckdb')}")
    ts = engine.resolve(table.name)
    if ts is None:
        engine.session.catalog.resolve(table.name)  # INVALID_MODULE with the nearest api_name
        raise ProgrammingError(f"no module named {table.name!r}")
    refused = read_only_reason(ts)
    if refused is not None:
        why, hint = refused
        raise NotSupportedError(f"{ts.module} is a read-only table ({why}); {verb} cannot change it", hint=hint)
    return ts


def _refuse(tree: exp.Expr, *args: str) -> None:
    for name in args:
        if tree.args.get(name):
            raise NotSupportedError(f"{name.upper()} is not supported in DML on Zoho modules",
                                    hint="the per-row write report (cursor.write_report) has the record ids")


def _settable(ts: TableSchema, name: str, verb: str) -> str:
    col = ts.column(name)
    if col is None:
        import difflib

        close = difflib.get_close_matches(name, [c.name for c in ts.columns], n=1)
        raise ProgrammingError(f"{ts.module} has no column {name!r}",
                               hint=f"did you mean {close[0]}?" if close else "DESCRIBE the module")
    if col.field == "id":
        raise ProgrammingError(f"{verb} cannot set id: Zoho assigns record ids")
    f = ts.fields.get(col.field)
    if col.part == "name":
        raise ProgrammingError(f"{col.name} is read-only (lookup names follow the id)",
                               hint=f"set {col.field}_Id instead")
    if f is not None and not f.writable:
        raise ProgrammingError(f"{ts.module}.{col.name} is read-only ({f.data_type})")
    return col.name


def _insert(engine: Engine, tree: exp.Insert) -> DmlPlan:
    _refuse(tree, "returning", "overwrite", "alternative", "ignore", "by_name")
    target = tree.this
    names: tuple[str, ...] | None = None
    if isinstance(target, exp.Schema):
        names = tuple(i.name for i in target.expressions)
        target = target.this
    ts = _target(engine, target, "INSERT INTO")
    if names is not None:
        names = tuple(_settable(ts, n, "INSERT") for n in names)
    source = tree.expression
    if isinstance(source, exp.Values):
        if not names:
            raise ProgrammingError("INSERT ... VALUES needs a column list", hint="INSERT INTO Leads (Last_Name, "
                                                                                   "Email) VALUES (...)")
        alias = exp.TableAlias(this=exp.to_identifier("__zoho_values"),
                               columns=[exp.to_identifier(n, quoted=True) for n in names])
        rows: exp.Query = exp.select(exp.Star()).from_(exp.Subquery(this=source.copy(), alias=alias))
    elif isinstance(source, exp.Query):
        rows = _with_ctes(source, _with(tree))
    else:
        raise NotSupportedError("INSERT takes VALUES or a query", hint="INSERT INTO Leads (...) SELECT ...")
    conflict = tree.args.get("conflict")
    if conflict is None:
        return DmlPlan("insert", ts.module, rows, names)
    action = str(conflict.args.get("action") or "").upper()
    keys = conflict.args.get("conflict_keys") or []
    if conflict.args.get("duplicate") or "UPDATE" not in action:
        raise NotSupportedError("only INSERT ... ON CONFLICT (<field>) DO UPDATE SET ... is supported (Zoho's "
                                "upsert)", hint="DO NOTHING has no Zoho equivalent; insert and read the report")
    if len(keys) != 1:
        raise NotSupportedError("ON CONFLICT needs exactly one duplicate-check field", hint="ON CONFLICT (Email)")
    key_node = keys[0].this if isinstance(keys[0], exp.Ordered) else keys[0]
    key = _settable(ts, key_node.name, "ON CONFLICT")
    assigned = []
    for e in conflict.expressions or []:
        left, right = e.this, e.expression
        if not (isinstance(e, exp.EQ) and isinstance(right, exp.Column) and right.table.lower() == "excluded"
                and right.name.lower() == left.name.lower()):
            raise NotSupportedError(
                f"ON CONFLICT ... SET {e.sql(dialect='duckdb')}: Zoho's upsert writes the inserted value",
                hint="write SET <column> = excluded.<column> for each inserted column")
        assigned.append(_settable(ts, left.name, "ON CONFLICT ... SET"))
    plan = DmlPlan("upsert", ts.module, rows, names, key, tuple(assigned))
    if names is not None:
        _check_upsert_set(plan, list(names))  # before any read when the columns are known already
    return plan


def _check_upsert_set(plan: DmlPlan, columns: list[str]) -> None:
    missing = [c for c in columns if c != plan.key and c not in plan.upsert_set]
    if missing:
        raise NotSupportedError(f"ON CONFLICT ... SET leaves out {', '.join(missing)}, but Zoho's upsert "
                                "writes every inserted column of a matched record",
                                hint="assign excluded.<column> for every inserted column, or insert fewer columns")


def _source_select(target: exp.Table, ts: TableSchema, projections: list[exp.Expr], tree: exp.Expr,
                   verb: str) -> exp.Query:
    where = tree.args.get("where")
    if where is None:
        raise ProgrammingError(f"{verb} without WHERE would change every {ts.module} record",
                               hint="add WHERE true if that is really meant")
    alias = target.alias_or_name
    select = exp.select(exp.column("id", table=alias, quoted=True).as_("id", quoted=True), *projections)
    select = select.from_(target.copy())
    others = tree.args.get("from_") or tree.args.get("from")
    extra: list[exp.Expr] = [others.this] if others is not None else []
    extra += [u for u in (tree.args.get("using") or []) if isinstance(u, exp.Expr)]
    for e in extra:
        select = select.join(e.copy())
    for j in tree.args.get("joins") or []:
        select = select.join(j.copy())
    return _with_ctes(select.where(where.this.copy()), _with(tree))


def _update(engine: Engine, tree: exp.Update) -> DmlPlan:
    _refuse(tree, "returning", "order", "limit")
    ts = _target(engine, tree.this, "UPDATE")
    projections: list[exp.Expr] = []
    names = []
    for e in tree.expressions:
        if not isinstance(e, exp.EQ) or not isinstance(e.this, exp.Column):
            raise ProgrammingError(f"cannot read the assignment {e.sql(dialect='duckdb')}")
        name = _settable(ts, e.this.name, "UPDATE")
        names.append(name)
        projections.append(e.expression.copy().as_(name, quoted=True))
    if len(set(names)) != len(names):
        raise ProgrammingError("UPDATE sets a column twice")
    return DmlPlan("update", ts.module, _source_select(tree.this, ts, projections, tree, "UPDATE"))


def _delete(engine: Engine, tree: exp.Delete) -> DmlPlan:
    _refuse(tree, "returning", "order", "limit")
    ts = _target(engine, tree.this, "DELETE FROM")
    return DmlPlan("delete", ts.module, _source_select(tree.this, ts, [], tree, "DELETE"))


def plan_dml(engine: Engine, statement: Statement) -> DmlPlan:
    """What to read and which write to make for one DML statement (its placeholders kept)."""
    tree = statement.tree
    assert tree is not None, "a DML statement has a tree"
    if isinstance(tree, exp.Insert):
        return _insert(engine, tree)
    if isinstance(tree, exp.Update):
        return _update(engine, tree)
    if isinstance(tree, exp.Delete):
        return _delete(engine, tree)
    raise NotSupportedError(f"not a DML statement: {type(tree).__name__}")


def _rows(plan: DmlPlan, tables: list[pa.Table]) -> pa.Table:
    """The source rows, named for the write, checked against what the statement means."""
    if not tables:
        return pa.table({})
    rows = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    if plan.columns is not None:
        if len(plan.columns) != rows.num_columns:
            raise ProgrammingError(f"INSERT names {len(plan.columns)} columns but the query gives "
                                   f"{rows.num_columns}")
        rows = rows.rename_columns(list(plan.columns))
    if plan.operation == "upsert":
        _check_upsert_set(plan, rows.column_names)
    if plan.operation in ("update", "delete") and rows.num_rows:
        ids = rows.column("id")
        if pc.count_distinct(ids).as_py() != rows.num_rows:
            raise ProgrammingError(f"{plan.operation.upper()} matched a {plan.module} record more than once "
                                   "(a join in FROM/USING)", hint="make the join match one row per record")
    return rows


def run_dml(engine: Engine, statement: Statement, param_sets: Sequence[Params], *,
            report_path: str | Path | None = None) -> Result:
    """Plan, check permission (before any read), compute the rows, write them; one report for all sets."""
    plan = plan_dml(engine, statement)
    session = engine.session
    require_write(session.config, plan.operation, plan.module)  # one message naming what to add
    tables = []
    with acting_as(plan.operation, plan.module):  # finding the rows to write is part of the write
        for params in param_sets:
            # The rows to write are a query built as a tree from the statement's own: planned, never re-read.
            tables.append(engine.query_table(derived(plan.source, statement.with_params(params).params)))
    rows = _rows(plan, tables)
    if rows.num_columns == 0:
        report = WriteReport.from_entries([], module=plan.module, operation=plan.operation)
    else:
        report = write(session, plan.module, rows, plan.operation, key=plan.key, report_path=report_path)
    return Result(plan.operation, table_reader(report.table), report=report)
