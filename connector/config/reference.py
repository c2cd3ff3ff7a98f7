"""Markdown reference tables generated from the property and region tables.

``connection_strings/README.md`` embeds these between marker comments;
``connection_strings/_make_table.py`` rewrites them and a test fails when the
README and the tables disagree, so the documentation cannot drift.
"""

from __future__ import annotations

from pathlib import Path

from connector.config.properties import PROPERTIES
from connector.config.regions import INSTANCE_TYPES, REGIONS
from connector.config.values import Property, PropType

BEGIN_MARKER = "<!-- BEGIN GENERATED TABLES: edit connector/config/properties.py, then run _make_table.py -->"
END_MARKER = "<!-- END GENERATED TABLES -->"
BOOL_VALUES = "true/false, yes/no, on/off, 1/0 (any case)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(prop: Property) -> str:
    if prop.alias_of is not None:
        return f"(sets {prop.alias_of})"
    if prop.default is None:
        return "(not set)"
    return f"`{prop.format(prop.default)}`" if prop.format(prop.default) else "(empty)"


def _values_text(prop: Property) -> str:
    if prop.values_doc:
        return prop.values_doc
    if prop.type is PropType.ENUM or prop.allowed:
        return prop.expected_values()
    if prop.type is PropType.BOOL:
        return BOOL_VALUES
    if prop.type is PropType.INT:
        low = "" if prop.minimum is None else str(prop.minimum)
        high = "" if prop.maximum is None else str(prop.maximum)
        return f"{low}..{high}" if high else f">= {low}"
    if prop.type is PropType.URL:
        return "http:// or https:// URL"
    return ""


def render_property_table() -> str:
    rows = ["| Property | Type | Default | Allowed values | Description |", "|---|---|---|---|---|"]
    for prop in PROPERTIES:
        cells = (f"`{prop.name}`", prop.type.value, _default_text(prop), _values_text(prop), prop.doc)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def render_region_table() -> str:
    header = ("Region", "Name", "Domain", "Accounts server", *INSTANCE_TYPES, "Upload host", "location", "Note")
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for region in REGIONS.values():
        note = region.note if region.confirmed else f"unconfirmed: {region.note}"
        cells = (region.code, region.name, region.domain, region.accounts_server,
                 *region.api_domains.values(), region.content_server, region.location, note)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def render_generated_block() -> str:
    return "\n\n".join(
        (BEGIN_MARKER, "### Properties", render_property_table(), "### Data centers", render_region_table(), END_MARKER)
    )


def extract_generated_block(readme_text: str) -> str | None:
    start = readme_text.find(BEGIN_MARKER)
    end = readme_text.find(END_MARKER)
    if start == -1 or end == -1 or end < start:
        return None
    return readme_text[start : end + len(END_MARKER)]


def update_readme(path: Path) -> bool:
    """Rewrite the generated block of ``path``; return True when the file changed."""
    text = path.read_text(encoding="utf-8")
    current = extract_generated_block(text)
    if current is None:
        raise ValueError(f"{path} has no {BEGIN_MARKER!r} ... {END_MARKER!r} block")
    updated = text.replace(current, render_generated_block())
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text
