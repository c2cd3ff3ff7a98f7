"""Commented connection files, as in ``connection_strings/*.txt``.

A connection string with a dozen properties is unreadable on one line, and the
people who set it up want to say why each value is what it is. So a file holds
one string spread over lines, with ``#`` comment lines (whole lines only: a
``#`` inside a value is data). Comment lines are blanked rather than removed, so
a syntax error's position maps back to the line and column in the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from connector.config.config import ConnectionConfig, parse_connection_string
from connector.config.grammar import ConnectionStringSyntaxError
from connector.errors import ConfigError


def read_connection_file(path: str | os.PathLike[str]) -> str:
    """The connection string in a commented file: comment lines blanked, everything else kept."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: editors on Windows add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read connection file {os.fspath(path)}: {exc.__class__.__name__}") from None
    lines = text.splitlines()
    return "\n".join("" if line.lstrip().startswith("#") else line for line in lines)


def load_connection_file(path: str | os.PathLike[str]) -> ConnectionConfig:
    """Parse a commented connection file; syntax errors name the file, line and column."""
    text = read_connection_file(path)
    try:
        return parse_connection_string(text)
    except ConnectionStringSyntaxError as exc:
        line = text.count("\n", 0, exc.offset) + 1
        column = exc.offset - (text.rfind("\n", 0, exc.offset) + 1) + 1
        raise ConfigError(f"{os.fspath(path)}, line {line}, column {column}: {exc.message}", hint=exc.hint) from None
    except ConfigError as exc:
        raise ConfigError(f"{os.fspath(path)}: {exc.message}", hint=exc.hint) from None
