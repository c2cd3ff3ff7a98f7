"""The generated org, straight from the store: deterministic, consistent, and the classic data unchanged.

* The same seed and size give the same org, table by table, in both org kinds.
* An enterprise org's classic modules hold exactly the data of a classic org of the same seed
  (the modules issue 13 added draw from their own random streams).
* Every lookup points at a record that exists (polymorphic ones in the module they name), and
  every note has its parent.
"""

from __future__ import annotations

import hashlib

import pytest

from connector.emulator import generate, schema
from connector.emulator.generate import module_sizes, populate
from connector.emulator.store import Store, module_column, q

RECORDS = 3_000


def build(kind: str, seed: int = 9, records: int = RECORDS) -> Store:
    store = Store(None)
    org = schema.org_schema(kind)
    populate(store, seed, module_sizes(records, None, org), org)
    return store


def digest(store: Store, module: str) -> str:
    rows = store.fetchall(f"SELECT * FROM {q(module)} ORDER BY id" if module != "tags" else
                          "SELECT * FROM record_tags ORDER BY module, record_id, tag_id")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def enterprise() -> Store:
    return build("enterprise")


def generated(kind: str, seed: int = 9, records: int = RECORDS) -> Store:
    """An org generated afresh, never copied from one kept (:func:`populate` keeps small orgs)."""
    store = Store(None)
    org = schema.org_schema(kind)
    generate._generate(store, seed, module_sizes(records, None, org), org)
    return store


def every_row(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, sorted (the files table is written by ``INSERT OR IGNORE``, whose rows DuckDB may
    store in another order from one generation to the next: the same rows, not the same scan order)."""
    names = [r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")]
    return {name: store.fetchall(f"SELECT * FROM {q(name)} ORDER BY ALL") for name in names}


def test_the_same_seed_gives_the_same_org(enterprise: Store) -> None:
    again = generated("enterprise")
    for m in schema.ALL_MODULES:
        assert digest(again, m.api_name) == digest(enterprise, m.api_name), m.api_name
    assert digest(again, "tags") == digest(enterprise, "tags")
    other = build("enterprise", seed=10)
    assert digest(other, "Notes") != digest(enterprise, "Notes")


def test_an_enterprise_org_keeps_the_classic_data_of_the_seed(enterprise: Store) -> None:
    classic = build("classic")
    for m in schema.MODULES:
        assert classic.count(m) > 0
        assert digest(classic, m.api_name) == digest(enterprise, m.api_name), m.api_name
    for m in schema.ENTERPRISE_ONLY:
        assert classic.count(m) == 0 and enterprise.count(m) > 0, m.api_name


def test_every_lookup_points_at_a_record_that_exists(enterprise: Store) -> None:
    checked = 0
    for m in schema.ALL_MODULES:
        for f in m.fields:
            if f.data_type not in ("lookup", "multi_module_lookup"):
                continue
            for target in f.targets or (f.lookup,):
                assert target is not None
                where = f"t.{q(f.api_name)} IS NOT NULL"
                if module_column(f):
                    where += f" AND t.{q(module_column(f) or '')} = '{target}'"
                sql = (f"SELECT count(*), count(*) FILTER (WHERE p.id IS NULL) FROM {q(m.api_name)} t "
                       f"LEFT JOIN {q(target)} p ON p.id = t.{q(f.api_name)} WHERE {where}")
                total, dangling = enterprise.fetchone(sql) or (0, 0)
                assert dangling == 0, f"{m.api_name}.{f.api_name} -> {target}: {dangling} of {total}"
                checked += total
            if module_column(f):
                unknown = enterprise.fetchone(
                    f"SELECT count(*) FROM {q(m.api_name)} WHERE {q(f.api_name)} IS NOT NULL AND "
                    f"{q(module_column(f) or '')} NOT IN (SELECT unnest(?))", [list(f.targets)])
                assert unknown == (0,), f"{m.api_name}.{f.api_name} names a module it cannot point at"
    assert checked > RECORDS


def test_every_note_has_a_parent_and_content(enterprise: Store) -> None:
    total, orphans, empty = enterprise.fetchone(
        'SELECT count(*), count(*) FILTER (WHERE Parent_Id IS NULL OR "Parent_Id$module" IS NULL), '
        "count(*) FILTER (WHERE Note_Content IS NULL OR Note_Content = '') FROM Notes") or (0, 0, 0)
    assert total == module_sizes(RECORDS, None, schema.ORGS["enterprise"])["Notes"] > 0
    assert orphans == 0 and empty == 0


def test_every_order_has_line_items_whose_prices_are_their_products(enterprise: Store) -> None:
    for parent, items in (("Quotes", "Quoted_Items"), ("Sales_Orders", "Ordered_Items"),
                          ("Purchase_Orders", "Purchase_Items"), ("Invoices", "Invoiced_Items")):
        bare = enterprise.fetchone(f'SELECT count(*) FROM "{parent}" o WHERE NOT EXISTS '
                                   f'(SELECT 1 FROM "{items}" i WHERE i.Parent_Id = o.id)')
        assert bare == (0,), parent
        mismatched = enterprise.fetchone(f'SELECT count(*) FROM "{items}" i JOIN "Products" p ON p.id = i.Product_Name '
                                         "WHERE i.List_Price <> p.Unit_Price")
        assert mismatched == (0,), items
        gaps = enterprise.fetchone(f'SELECT count(*) FROM (SELECT Parent_Id, max(Sequence_Number) AS top, count(*) AS n '
                                   f'FROM "{items}" GROUP BY Parent_Id) WHERE top <> n')
        assert gaps == (0,), items


def test_stage_history_walks_each_deal_to_its_stage(enterprise: Store) -> None:
    deals, last_matches, rows = enterprise.fetchone(
        'SELECT count(DISTINCT d.id), count(*) FILTER (WHERE h.Stage_Duration IS NULL AND h.Stage = d.Stage), '
        'count(h.id) FROM "Deals" d JOIN "Stage_History" h ON h.Deal_Name = d.id') or (0, 0, 0)
    assert deals == enterprise.fetchone('SELECT count(*) FROM "Deals"')[0]  # type: ignore[index]
    assert last_matches == deals and rows >= deals
    tagged = enterprise.fetchone("SELECT count(DISTINCT module), count(*) FROM record_tags") or (0, 0)
    assert tagged[0] >= 10 and tagged[1] > RECORDS / 10


@pytest.mark.parametrize("kind", ["classic", "enterprise"])
def test_an_org_asked_again_is_a_copy_of_the_one_generated_row_for_row(kind: str) -> None:
    """A small org asked twice in a process is kept and copied after that: the copy holds every table's rows,
    users, layouts and counters included; a change to one store reaches no copy."""
    org = schema.org_schema(kind)
    sizes = module_sizes(700, None, org)
    key = (23, tuple(sorted(sizes.items())), kind)
    generate._templates.pop(key, None)
    generate._asked.discard(key)
    populate(Store(None), 23, sizes, org)
    assert key not in generate._templates  # asked once: nothing kept
    first, copied = Store(None), Store(None)
    populate(first, 23, sizes, org)
    assert key in generate._templates
    first.execute("DELETE FROM users")
    first.execute(f"UPDATE {q('Leads')} SET {q('Last_Name')} = 'changed'")
    populate(copied, 23, sizes, org)
    assert every_row(copied) == every_row(generated(kind, seed=23, records=700))
    assert copied.fetchone("SELECT count(*) FROM users") == (len(schema.USERS),)


def test_a_large_org_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept orgs are small (a benchmark's org of a million records is generated and let go)."""
    org = schema.org_schema("classic")
    sizes = module_sizes(300, None, org)
    key = (5, tuple(sorted(sizes.items())), "classic")
    generate._templates.pop(key, None)
    monkeypatch.setattr(generate, "TEMPLATE_RECORDS", sum(sizes.values()) - 1)
    for _ in range(3):
        populate(Store(None), 5, sizes, org)
    assert key not in generate._templates
    monkeypatch.setattr(generate, "TEMPLATE_RECORDS", sum(sizes.values()))
    for _ in range(2):
        populate(Store(None), 5, sizes, org)
    assert key in generate._templates
