"""DESCRIBE's notes show the field facts of Zoho's metadata a data engineer asks about (issue 17): the display
label where it differs from the column, the help text (tooltip), read-only and history-tracked fields."""

from __future__ import annotations

from typing import Any

import pytest

from connector.emulator import schema
from connector.emulator.field_meta import field_json
from connector.engine.statements import describe
from connector.schema.types import FieldInfo, build_table_schema


def notes_of(module: str) -> dict[str, str]:
    """DESCRIBE's notes per column of a module, from the metadata the emulator answers for it."""
    m = schema.MODULES_BY_NAME[module]
    ts = build_table_schema(module, [field_json(m, f, i) for i, f in enumerate(m.fields)],
                            display_field=m.display_field, generated_type=m.generated_type)
    rows = describe(ts).to_pylist()
    return {r["column"]: r["notes"] for r in rows}


def test_describe_shows_labels_tooltips_read_only_and_history() -> None:
    leads, deals, accounts = notes_of("Leads"), notes_of("Deals"), notes_of("Accounts")
    assert "history tracked" in deals["Stage"] and "history tracked" not in deals["Amount"]
    assert "label: Account Image" in accounts["Record_Image"]
    assert "label:" not in leads["Last_Name"]  # "Last Name" says nothing new
    custom = [f.api_name for f in schema.LEADS.fields if f.custom and f.data_type not in ("lookup",)]
    assert custom and all("help: " in leads[name] for name in custom if name in leads)
    assert all("help: " not in leads[name] for name in ("Last_Name", "Email", "Company"))
    assert "read-only" in leads["Created_Time"]


@pytest.mark.parametrize("meta, tooltip, tracked", [
    ({"tooltip": None, "history_tracking": None}, "", False),
    ({"tooltip": {"name": "Info Icon", "value": "Ask finance"}}, "Ask finance", False),
    ({"tooltip": "not an object", "history_tracking_enabled": True}, "", True),
    ({"history_tracking": {"module": {"api_name": "Stage_History"}}}, "", True),
    ({}, "", False),
])
def test_field_info_reads_tooltip_and_history(meta: dict[str, Any], tooltip: str, tracked: bool) -> None:
    info = FieldInfo.from_meta({"api_name": "X", "data_type": "text", **meta})
    assert (info.tooltip, info.history_tracked) == (tooltip, tracked)
