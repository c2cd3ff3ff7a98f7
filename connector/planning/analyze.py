"""Read a SQL statement: which Zoho tables it scans, the columns and filters each one needs.

Uses sqlglot's scopes (DuckDB dialect), so CTE names shadow modules, a
subquery's WHERE belongs to the subquery's tables, and correlated references
go to the outer query. For every table occurrence that ``resolve`` knows:

* columns: everything the statement can reference (projection, WHERE, JOIN,
  GROUP, ORDER...); ``*``, ``t.*`` and ``SELECT t FROM t`` mean all columns;
* filters: the WHERE conjuncts that only reference that table, and only when
  that is safe: never into the null-supplying side of an outer join (``WHERE
  b.x IS NULL`` after ``LEFT JOIN b`` must see the unmatched rows), plus the
  ON conjuncts of the joined table itself (pre-filtering the right side of an
  inner or left join by its own ON terms does not change the join); no filters
  at all under ASOF/POSITIONAL/NATURAL/SEMI/ANTI joins or sampling;
* for a lone table in a plain top-level SELECT: LIMIT/OFFSET, ORDER BY, and
  whether the statement is just ``COUNT(*)``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from connector.errors import PlanningError
from connector.schema.types import Column, TableSchema

from .params import bind_params
from .predicates import Node, Opaque, build, conjuncts
from .statement import Statement, read_statement

Resolver = Callable[[str], TableSchema | None]
_ROW_GENERATORS = (exp.Unnest, exp.Explode)


@dataclass(frozen=True)
class Unit:
    """One pushable piece of a conjunct (NOT (a OR b) gives two units of the same conjunct)."""

    conjunct: int
    node: Node


@dataclass
class TableRef:
    """One occurrence of a Zoho table in the statement."""

    index: int  # position among the statement's table nodes (depth-first), for the rewrite
    node: exp.Table
    schema: TableSchema
    alias: str
    columns: set[str] = field(default_factory=set)
    all_columns: bool = False
    conjuncts: list[exp.Expr] = field(default_factory=list)  # the attributed conjuncts
    units: list[Unit] = field(default_factory=list)

    def conjunct_sql(self, i: int) -> str:
        return self.conjuncts[i].sql(dialect="duckdb", copy=False)  # generated once, for text only
    filters_allowed: bool = True
    lone: bool = False  # the only source of a plain top-level SELECT
    limit: int | None = None  # LIMIT + OFFSET rows needed from the source
    order_by: tuple[tuple[Column, bool], ...] | None = None  # None: an ORDER BY we cannot push
    count_only: bool = False  # SELECT COUNT(*) FROM t [WHERE ...]

    @property
    def module(self) -> str:
        return self.schema.module

    def column_list(self) -> tuple[str, ...]:
        if self.all_columns:
            return tuple(c.name for c in self.schema.columns)
        want = self.columns | {"id"}
        return tuple(c.name for c in self.schema.columns if c.name in want)


@dataclass
class Analysis:
    tree: exp.Expr  # the statement's tree (a copy with the values bound as literals, when it has placeholders)
    sql: str  # the text DuckDB runs (without a leading EXPLAIN)
    refs: list[TableRef]
    explain: bool = False


def analyze(statement: Statement | str, params: Sequence[Any] | Mapping[str, Any] | None = None,
            resolve: Resolver | None = None, *, schemas: Sequence[str] = ("zoho",)) -> Analysis:
    """The Zoho tables of a read statement (text is read leniently: any statement sqlglot reads)."""
    if isinstance(statement, str):
        statement = read_statement(statement, params, strict=False)
    assert resolve is not None, "analyze needs a resolver"
    if statement.tree is None:  # SHOW / DESCRIBE: no tables to read
        return Analysis(exp.Select(), statement.sql, [], statement.explain)
    tree = statement.tree
    if statement.params is not None and tree.find(exp.Placeholder) is not None:
        tree = tree.copy()  # values bound into a copy: the statement's own tree keeps its placeholders for DuckDB
        bind_params(tree, statement.params)
    tables = list(tree.find_all(exp.Table, bfs=False))
    refs: dict[int, TableRef] = {}
    try:
        scopes = traverse_scope(tree)
    except SqlglotError:
        scopes = []
    try:
        for scope in scopes:
            _collect_sources(scope, tables, resolve, schemas, refs)
        by_node = {id(r.node): r for r in refs.values()}
        for scope in scopes:
            _scope_columns(scope, by_node)
            _scope_filters(scope, by_node)
        if scopes:
            _lone_table(scopes[-1], by_node)
    except OptimizeError as exc:
        raise _scope_error(exc) from None
    if not scopes:  # sqlglot could not scope it: still find the tables, with no pushdown
        for i, t in enumerate(tables):
            ts = _resolve(t, resolve, schemas)
            if ts is not None:
                refs[id(t)] = TableRef(i, t, ts, t.alias_or_name, all_columns=True, filters_allowed=False)
    return Analysis(tree, statement.sql, sorted(refs.values(), key=lambda r: r.index), statement.explain)


_DUPLICATE_ALIAS = re.compile(r"Alias already used: (.+)")


def _scope_error(exc: OptimizeError) -> PlanningError:
    """What sqlglot's scope analysis refused, in words (DuckDB refuses the same statements)."""
    dup = _DUPLICATE_ALIAS.search(str(exc))
    if dup is not None:
        name = dup.group(1).strip()
        return PlanningError(f"the name {name!r} is given to two tables in the same FROM clause",
                             hint=f"give each its own alias: FROM {name} a JOIN {name} b ON ...")
    return PlanningError(f"cannot read the statement's tables and columns: {exc}")


def _resolve(t: exp.Table, resolve: Resolver, schemas: Sequence[str]) -> TableSchema | None:
    if not isinstance(t.this, exp.Identifier) or t.args.get("catalog") is not None:
        return None
    db = t.args.get("db")
    if db is not None and db.name.lower() not in {s.lower() for s in schemas}:
        return None  # another schema: a DuckDB table, not Zoho
    return resolve(t.name)


def _collect_sources(scope: Scope, tables: list[exp.Table], resolve: Resolver, schemas: Sequence[str],
                     refs: dict[int, TableRef]) -> None:
    for alias, source in scope.sources.items():
        if not isinstance(source, exp.Table) or id(source) in refs:
            continue  # CTE references and derived tables are Scopes, handled in their own scope
        ts = _resolve(source, resolve, schemas)
        if ts is None:
            continue
        index = next(i for i, t in enumerate(tables) if t is source)
        refs[id(source)] = TableRef(index, source, ts, alias)


def _zoho_sources(scope: Scope, by_node: dict[int, TableRef]) -> dict[str, TableRef]:
    return {alias.lower(): by_node[id(src)] for alias, src in scope.sources.items()
            if isinstance(src, exp.Table) and id(src) in by_node}


def _owner(col: exp.Column, scope: Scope | None, by_node: dict[int, TableRef]) -> tuple[TableRef, Column] | None:
    """The Zoho table (and its column) a column reference binds to, searching outwards."""
    name = col.name
    while scope is not None:
        zoho = _zoho_sources(scope, by_node)
        if col.table:
            ref = zoho.get(col.table.lower())
            if ref is not None:
                hit = ref.schema.column(name)
                if hit is None:
                    close = difflib.get_close_matches(name, [c.name for c in ref.schema.columns], n=1)
                    raise PlanningError(f"{ref.module} has no column {name!r}",
                                        hint=f"did you mean {close[0]}?" if close else "DESCRIBE the table")
                return ref, hit
            if col.table.lower() in {a.lower() for a in scope.sources}:
                return None  # a CTE, derived table or DuckDB table
        else:
            hits = [(r, c) for r in zoho.values() if (c := r.schema.column(name)) is not None]
            if len(hits) == 1:
                return hits[0]
            if hits:
                return None  # ambiguous between two Zoho tables: DuckDB decides (or complains)
        scope = scope.parent
    return None


def _scope_columns(scope: Scope, by_node: dict[int, TableRef]) -> None:
    zoho = _zoho_sources(scope, by_node)
    if not zoho:
        return
    select = scope.expression
    if isinstance(select, exp.Select):
        for e in select.expressions:
            if isinstance(e, exp.Star) or e.find(exp.Columns) is not None:
                for ref in zoho.values():
                    ref.all_columns = True
            elif isinstance(e, exp.Column) and isinstance(e.this, exp.Star):
                starred = zoho.get(e.table.lower())
                if starred is not None:
                    starred.all_columns = True
        for join in select.args.get("joins") or []:
            for ident in join.args.get("using") or []:
                for ref in zoho.values():
                    hit = ref.schema.column(ident.name)
                    if hit is not None:
                        ref.columns.add(hit.name)
    for col in scope.columns:
        if isinstance(col.this, exp.Star):
            continue
        owner = _owner(col, scope, by_node)
        if owner is not None:
            owner[0].columns.add(owner[1].name)
        elif not col.table and col.name.lower() in zoho:
            zoho[col.name.lower()].all_columns = True  # SELECT t FROM t: the row as a struct


def _scope_filters(scope: Scope, by_node: dict[int, TableRef]) -> None:
    select = scope.expression
    zoho = _zoho_sources(scope, by_node)
    if not zoho or not isinstance(select, exp.Select):
        return
    joins = select.args.get("joins") or []
    blocked = select.args.get("sample") is not None or any(
        j.method or j.kind in ("SEMI", "ANTI", "ASOF") for j in joins)
    blocked = blocked or any(r.node.args.get("sample") or r.node.args.get("pivots") for r in zoho.values())
    if blocked:
        for ref in zoho.values():
            ref.filters_allowed = False
        return
    from_ = select.args.get("from_") or select.args.get("from")
    order = [from_.this.alias_or_name.lower()] if from_ is not None else []
    nullable: set[str] = set()
    lone = len(scope.selected_sources) == 1 and len(zoho) == 1 and not joins and not select.args.get("laterals")

    def attribute(cond: exp.Expr, allowed: set[str]) -> None:
        for part in _split_and(cond):
            if lone:
                ref = next(iter(zoho.values()))  # the builder makes foreign references Opaque
            else:
                owners = [_owner(c, scope, by_node) for c in _own_columns(part)]
                refs = {id(o[0]): o[0] for o in owners if o is not None}
                if not owners or None in owners or len(refs) != 1:
                    continue  # several tables, or something we cannot see: DuckDB's job
                ref = next(iter(refs.values()))
                if all(ref is not z for z in zoho.values()):
                    continue  # an outer (correlated) table: not this scope's filter
            if ref.alias.lower() in allowed:
                _add_conjunct(ref, part, scope, by_node)

    for join in joins:
        alias = join.this.alias_or_name.lower()
        side = (join.side or "").upper()
        on = join.args.get("on")
        if on is not None:
            # ON terms of the joined table filter it before the join (inner and left joins);
            # for an inner join, terms of an earlier table act like WHERE terms.
            allowed = {alias} if side in ("", "LEFT") else set()
            if side == "" and (join.kind or "") in ("", "INNER"):
                allowed |= {a for a in order if a not in nullable}
            attribute(on, allowed)
        if side == "LEFT":
            nullable.add(alias)
        elif side == "RIGHT":
            nullable.update(order)
        elif side == "FULL":
            nullable.update(order + [alias])
        order.append(alias)
    where = select.args.get("where")
    if where is not None:
        attribute(where.this, {a for a in zoho if a not in nullable})


def _split_and(cond: exp.Expr) -> list[exp.Expr]:
    while isinstance(cond, exp.Paren):
        cond = cond.this
    return list(cond.flatten()) if isinstance(cond, exp.And) else [cond]


def _own_columns(e: exp.Expr) -> list[exp.Column]:
    """Column references of this scope (not those inside subqueries)."""
    return [c for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)
            and not any(isinstance(a, (exp.Subquery, exp.Query)) for a in _ancestors(c, e))]


def _ancestors(node: exp.Expr, stop: exp.Expr) -> list[exp.Expr]:
    out = []
    cur = node.parent
    while cur is not None and cur is not stop:
        out.append(cur)
        cur = cur.parent
    return out


def _add_conjunct(ref: TableRef, cond: exp.Expr, scope: Scope, by_node: dict[int, TableRef]) -> None:
    def bind(col: exp.Column) -> Column | None:
        owner = _owner(col, scope, by_node)
        return owner[1] if owner is not None and owner[0] is ref else None

    idx = len(ref.conjuncts)
    ref.conjuncts.append(cond)
    if cond.find(exp.Subquery, exp.Query) is not None:
        node: Node = Opaque(cond.sql(dialect="duckdb"), "subquery")
    else:
        node = build(cond, bind)
    ref.units.extend(Unit(idx, n) for n in conjuncts(node))


def _lone_table(root: Scope, by_node: dict[int, TableRef]) -> None:
    select = root.expression
    zoho = _zoho_sources(root, by_node)
    if not isinstance(select, exp.Select) or len(zoho) != 1 or len(root.selected_sources) != 1:
        return
    if select.args.get("joins") or select.args.get("laterals") or not next(iter(zoho.values())).filters_allowed:
        return
    ref = next(iter(zoho.values()))
    ref.lone = True
    grouped = any(select.args.get(k) for k in ("group", "having", "qualify", "distinct", "windows"))
    projections = select.expressions
    if _is_count_star(projections, ref, root, by_node) and not grouped and select.args.get("offset") is None:
        lim = _int_arg(select.args.get("limit"))
        ref.count_only = select.args.get("limit") is None or (lim is not None and lim > 0)
    if grouped or any(e.find(exp.AggFunc, exp.Window, *_ROW_GENERATORS) for e in projections):
        return
    limit, offset = select.args.get("limit"), select.args.get("offset")
    if limit is not None:
        n, skip = _int_arg(limit), (_int_arg(offset) if offset is not None else 0)
        if n is not None and skip is not None:
            ref.limit = n + skip
    ref.order_by = _order_keys(select, ref, root, by_node)


def _int_arg(node: exp.Expr | None) -> int | None:
    if node is None or node.args.get("limit_options") is not None:
        return None  # LIMIT 10% / WITH TIES: not a row count
    value = node.args.get("expression")
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _is_count_star(projections: list[exp.Expr], ref: TableRef, scope: Scope,
                   by_node: dict[int, TableRef]) -> bool:
    if len(projections) != 1:
        return False
    e = projections[0]
    e = e.this if isinstance(e, exp.Alias) else e
    if not isinstance(e, exp.Count) or e.args.get("expressions"):
        return False
    arg = e.this
    if isinstance(arg, exp.Star) or (isinstance(arg, exp.Literal) and not isinstance(arg, exp.Null)):
        return True
    if isinstance(arg, exp.Column):
        owner = _owner(arg, scope, by_node)
        return owner is not None and owner[0] is ref and owner[1].name == "id"
    return False


def _order_keys(select: exp.Select, ref: TableRef, scope: Scope,
                by_node: dict[int, TableRef]) -> tuple[tuple[Column, bool], ...] | None:
    order = select.args.get("order")
    if order is None:
        return ()
    aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
    keys = []
    for o in order.expressions:
        col = o.this
        if not isinstance(col, exp.Column) or (not col.table and col.name.lower() in aliases):
            return None  # an expression, an ordinal or a select alias: DuckDB's ordering only
        owner = _owner(col, scope, by_node)
        if owner is None:
            return None
        keys.append((owner[1], not o.args.get("desc")))
    return tuple(keys)
