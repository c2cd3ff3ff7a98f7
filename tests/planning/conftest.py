"""Table schemas for planner tests, built offline from the emulator's field metadata (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.emulator import schema as emu_schema
from connector.emulator.handlers.metadata import field_json
from connector.schema.types import TableSchema, build_table_schema


def build_tables() -> dict[str, TableSchema]:
    out = {}
    for m in emu_schema.MODULES:
        meta = [field_json(m, f, i) for i, f in enumerate(m.fields)]
        out[m.api_name] = build_table_schema(m.api_name, meta, display_field=m.display_field,
                                             generated_type=m.generated_type)
    return out


TABLES = build_tables()


def resolve(name: str) -> TableSchema | None:
    """What the engine's resolver does: exact or case-insensitive api_name, else None (a DuckDB table)."""
    low = name.lower()
    return next((t for api, t in TABLES.items() if api.lower() == low), None)


@pytest.fixture(scope="session")
def tables() -> dict[str, TableSchema]:
    return TABLES


@pytest.fixture(scope="session")
def resolver() -> Callable[[str], TableSchema | None]:
    return resolve
