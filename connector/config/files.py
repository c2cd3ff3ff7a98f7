"""Commented connection files, as in ``connection_strings/*.txt``.

A connection string with a dozen properties is unreadable on one line, and the
people who set it up want to say why each value is what it is. So a file holds
one string spread over lines, with ``#`` comment lines (whole lines only: a
``#`` inside a value is data). A line end separates properties like ``;`` does,
so one property per line needs no trailing semicolon. Comment lines are blanked rather than removed, so
a syntax error's position maps back to the line and column in the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from connector.config.config import ConnectionConfig, parse_connection_string
from connector.config.grammar import ConnectionStringSyntaxError
from connector.errors import ConfigError

_NEW_PROPERTY = re.compile(r"^[A-Za-z_\"'][^=;]*=")


def read_connection_file(path: str | os.PathLike[str]) -> str:
    """The connection string in a commented file: comment lines blanked, everything else kept."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: editors on Windows add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read connection file {os.fspath(path)}: {exc.__class__.__name__}") from None
    lines = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    out = list(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.endswith(";"):
            continue
        following = next((nxt for nxt in lines[i + 1:] if nxt.strip()), None)
        if following is None or _NEW_PROPERTY.match(following):
            # One property per line needs no trailing ';' (the next property starts a new
            # line); an indented line without Key= continues a wrapped value instead.
            out[i] = line.rstrip() + ";"
    return "\n".join(out)


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
