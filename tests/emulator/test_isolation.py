"""The emulator is a separate world: it imports nothing from the rest of ``connector`` (STYLE.md layers).

Checked on the source with :mod:`ast`, so an import hidden in a function body or under
``TYPE_CHECKING`` counts too. Allowed: its own package, the standard library, and the few
third-party packages it is built on.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import connector.emulator

PACKAGE = Path(connector.emulator.__file__).parent
ALLOWED_THIRD_PARTY = {"duckdb", "pyarrow", "numpy", "orjson"}  # orjson: optional (fastjson.py)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file; relative imports resolved."""
    rel = path.relative_to(PACKAGE.parent.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a module (or an __init__) sits in
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def test_the_emulator_imports_only_itself_the_stdlib_and_its_engines():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30  # the walk found the package
    bad = []
    for path in files:
        for line, name in _imports(path):
            top = name.split(".")[0]
            inside = name == "connector.emulator" or name.startswith("connector.emulator.")
            if inside or top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__":
                continue
            bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert bad == []


def test_relative_imports_are_resolved_against_the_right_package():
    names = {name for _, name in _imports(PACKAGE / "handlers" / "common.py")}
    assert "connector.emulator.schema" in names and "connector.emulator.zoho_errors" in names
