"""SELECT builder over one module: lookups joined for names, formulas and rollups computed.

Every read path (records list/get, search, COQL, bulk read, export) builds its
SQL here so a field reads the same everywhere. A field path is a list of api
names: ``["Account_Name"]`` is the lookup itself, ``["Account_Name",
"Account_Name"]`` follows it to the Accounts record (COQL dot notation),
``["Owner", "email"]`` reads a user column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import schema
from .schema import FieldDef, ModuleDef
from .store import display_expr, formula_sql, module_column, q

# Columns of the users table reachable with COQL dot notation (Owner.email, Owner.role.name ...).
USER_COLUMNS = {
    "id": "id", "first_name": "first_name", "last_name": "last_name", "full_name": "full_name",
    "name": "full_name", "email": "email", "status": "status", "zuid": "zuid",
    "role": "role_id", "role.name": "role_name", "role.id": "role_id",
    "profile": "profile_id", "profile.name": "profile_name", "profile.id": "profile_id",
}


class UnknownField(Exception):
    def __init__(self, path: str, module: str) -> None:
        super().__init__(path)
        self.path = path
        self.module = module


def base_relation(m: ModuleDef, now: datetime, *, as_of: datetime | None = None) -> str:
    """The module's rows with formula columns added; ``as_of`` gives the lagged search view."""
    formulas = [f for f in m.fields if f.data_type == "formula"]
    extra = "".join(f", ({formula_sql(f, now)}) AS {q(f.api_name)}" for f in formulas)
    table = q(m.api_name)
    if as_of is None:
        src = table
    else:
        ts = f"TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S.%f}'"
        hist = q(m.api_name + "$history")
        src = (f"(SELECT * FROM {table} WHERE _written_at IS NULL OR _written_at <= {ts} "
               f"UNION ALL SELECT * EXCLUDE (_superseded_at) FROM {hist} "
               # generated records were never written through the API: their _written_at is NULL
               f"WHERE (_written_at IS NULL OR _written_at <= {ts}) AND _superseded_at > {ts} "
               f"AND id IN (SELECT id FROM {table}))")
    if not extra:
        return src if as_of is not None else table
    # ``_self`` names the row for formulas that look at other tables (an order's Sub_Total sums its lines)
    return f"(SELECT *{extra} FROM {src} AS _self)"


@dataclass
class Selection:
    module: ModuleDef
    now: datetime
    as_of: datetime | None = None
    alias: str = "t"
    joins: list[str] = field(default_factory=list)
    _join_alias: dict[tuple[str, ...], str] = field(default_factory=dict)

    def from_clause(self) -> str:
        return f"{base_relation(self.module, self.now, as_of=self.as_of)} {self.alias}" + "".join(
            " " + j for j in self.joins)

    # -- joins --------------------------------------------------------------------

    def _join(self, key: tuple[str, ...], target: str, on_expr: str) -> str:
        alias = self._join_alias.get(key)
        if alias is None:
            alias = f"j{len(self._join_alias) + 1}"
            self._join_alias[key] = alias
            if target == "Users":
                rel = "users"
            elif target == "Layouts":
                rel = "layouts"
            else:
                tm = schema.MODULES_BY_NAME[target]
                rel = base_relation(tm, self.now)
            self.joins.append(f"LEFT JOIN {rel} {alias} ON {alias}.id = {on_expr}")
        return alias

    def lookup_alias(self, owner_alias: str, f: FieldDef, key: tuple[str, ...], target: str | None = None) -> str:
        target = target or f.lookup or "Users"
        on = f"{owner_alias}.{q(f.api_name)}"
        if f.targets:
            on = f"CASE WHEN {owner_alias}.{q(module_column(f) or '')} = '{target}' THEN {on} END"
        return self._join(key + (target,), target, on)

    # -- expressions ----------------------------------------------------------------

    def name_expr(self, f: FieldDef, owner_alias: str | None = None, key: tuple[str, ...] = ()) -> str:
        """SQL for the display name of the record a lookup points at."""
        owner_alias = owner_alias or self.alias
        key = key or (f.api_name,)
        if f.data_type in ("ownerlookup", "userlookup"):
            return f"{self.lookup_alias(owner_alias, f, key, 'Users')}.full_name"
        if f.data_type == "layout":
            return f"{self.lookup_alias(owner_alias, f, key, 'Layouts')}.name"
        targets = f.targets or ((f.lookup,) if f.lookup else ())
        parts = []
        for tgt in targets:
            a = self.lookup_alias(owner_alias, f, key, tgt)
            parts.append(display_expr(schema.MODULES_BY_NAME[tgt], a))
        if not parts:
            return "NULL"
        return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"

    def value_expr(self, f: FieldDef, owner_alias: str | None = None, module: ModuleDef | None = None) -> str:
        """SQL for the stored/computed value of a field (a lookup's id for lookups)."""
        owner_alias = owner_alias or self.alias
        m = module or self.module
        if f.virtual:
            raise UnknownField(f.api_name, m.api_name)  # kept outside the table: not for filters and joins
        if f.data_type == "rollup_summary":
            assert f.rollup is not None
            child, link, value = f.rollup
            return (f"(SELECT CAST(sum(c.{q(value)}) AS DECIMAL(18,2)) FROM {q(child)} c "
                    f"WHERE c.{q(link)} = {owner_alias}.id)")
        return f"{owner_alias}.{q(f.api_name)}"

    def path_expr(self, path: list[str]) -> tuple[str, FieldDef | None, str]:
        """Resolve a (possibly dotted) COQL field path.

        Returns (sql, field definition or None for user columns, kind) where kind is
        ``"field"``, ``"user"`` (a users-table column) or ``"id"``.
        """
        m = self.module
        alias = self.alias
        key: tuple[str, ...] = ()
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "id":
                if not last:
                    raise UnknownField(".".join(path), m.api_name)
                return f"{alias}.id", None, "id"
            f = m.field(part)
            if f is None:
                raise UnknownField(".".join(path), m.api_name)
            if last:
                return self.value_expr(f, alias, m), f, "field"
            key = key + (f.api_name,)
            if f.data_type in ("ownerlookup", "userlookup"):
                ua = self.lookup_alias(alias, f, key, "Users")
                rest = ".".join(path[i + 1:])
                col = USER_COLUMNS.get(rest)
                if col is None:
                    raise UnknownField(".".join(path), m.api_name)
                return f"{ua}.{col}", None, "user"
            if f.data_type != "lookup" or not f.lookup:
                raise UnknownField(".".join(path), m.api_name)
            target = f.lookup
            alias = self.lookup_alias(alias, f, key, target)
            m = schema.MODULES_BY_NAME[target]
        raise UnknownField(".".join(path), self.module.api_name)


def clauses(where: str = "", group_by: str = "", order_by: str = "") -> str:
    """`` WHERE ... GROUP BY ... ORDER BY ...``, each only when given."""
    return "".join(f" {keyword} {text}" for keyword, text in (("WHERE", where), ("GROUP BY", group_by),
                                                               ("ORDER BY", order_by)) if text)


def page_first(page: Selection, where: str, page_order: str, limit: int | None, offset: int, row_alias: str,
               row_order: str) -> tuple[str, str]:
    """``(head, tail)`` of ``{head}SELECT <list> FROM <relation>{tail}``: a page's ids chosen first from
    ``page`` (the module's rows and only the joins its filter and order need), and only those rows of the
    relation (alias ``row_alias``) joined to the select list, in ``row_order``. One statement (a CTE),
    so both halves read one snapshot; before, every row past the filter was joined and carried whole
    through the sort. The two orders must rank the rows alike and end in a unique key."""
    chosen = f"SELECT {page.alias}.id FROM {page.from_clause()}" + clauses(where=where, order_by=page_order)
    if limit is not None:
        chosen += f" LIMIT {int(limit)}"
    if offset:
        chosen += f" OFFSET {int(offset)}"
    return f"WITH _page AS ({chosen}) ", f" WHERE {row_alias}.id IN (SELECT id FROM _page)" + clauses(
        order_by=row_order)
