"""The README's code blocks, and how each one is run against the emulator (the convention).

* Every ```bash block runs as one ``bash`` script (``set -euo pipefail``) in a fresh folder, with
  the installed ``zohocrm`` first on PATH; every ```python block runs as a script with this Python.
  Each must exit 0.
* :data:`PLACEHOLDERS`: text an example shows for a real org (``Region=US;...``) is replaced by the
  emulator's connection string. Nothing else in a block is changed.
* :data:`FILES`: the connection files examples name with ``@file`` are written in the block's
  folder, holding the emulator's connection string (plus what the file's role needs).
* :data:`SERVERS`: lines that start a long-running server are started on their own, checked and
  stopped with SIGINT (exit 0).
* :data:`NOT_RUN`: lines that cannot run here, each with the reason. Every entry must still be in
  the README, so the list cannot go stale.

A new block is picked up as it is; when it cannot run here, add its line to NOT_RUN with the reason.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
CONNECTION_FILES = sorted((REPO / "connection_strings").glob("*.txt"))
RUN_LANGUAGES = ("bash", "python")


@dataclass(frozen=True)
class Org:
    """What placeholders and files are made of: the emulated orgs of a test run."""

    source: str  # connection string of the org the examples read from
    target: str  # connection string of a second, empty org examples write into


Substitute = Callable[[Org], str]

#: text shown for a real org -> what the run uses instead (a function of the orgs), and why
PLACEHOLDERS: dict[str, tuple[Substitute, str]] = {
    "'Region=US;OAuthClientId=...;OAuthClientSecret=...;OAuthRefreshToken=...'": (
        lambda org: shlex.quote(org.source), "a real org's credentials, quoted for the shell"),
    '"Region=US;..."': (lambda org: json.dumps(org.source), "a real org's connection string in Python"),
    "--port 8765": (lambda org: "--port 0",
                    "a fixed port may be taken on a shared test machine; the emulator prints the one it got"),
}

WRITES = ";AllowedOperations=read,insert,update,upsert;AllowedModules=Leads,Deals"
#: connection files named with @file in the examples -> their content in the block's folder, and why
FILES: dict[str, tuple[Substitute, str]] = {
    "zoho.txt": (lambda org: org.source, "the org migrations read from"),
    "other-org.txt": (lambda org: org.target + WRITES,
                      "a second org that takes writes (the README says it names AllowedOperations/AllowedModules)"),
    "web-app-login.txt": (lambda org: ";".join(p for p in org.source.split(";")
                                               if not p.startswith(("OAuthRefreshToken=", "InitiateOAuth=")))
                          + ";InitiateOAuth=GETANDREFRESH;CallbackURL=https://app.example.com/cb"
                            ";OAuthSettingsLocation=web.tokens",
                          "a web app's client without a refresh token yet: `--web` prints its consent URL"),
    "desktop-login.txt": (lambda org: org.source + ";AuditLog=audit.jsonl",
                          "stands in for the browser-login file once logged in; its AuditLog feeds `audit verify`"),
}

#: lines that start a server: run on their own, stopped by SIGINT
SERVERS = ("zohocrm emulator ",)

#: lines that cannot run in a test, with the reason
NOT_RUN: dict[str, str] = {
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/zohocrm demo":
        "makes a virtualenv and installs the package: CI and the new-user check run it; the demo it ends "
        "with is tests/docs/test_demo.py",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test,spark]' && .venv/bin/python -m pytest -n 3 -q":
        "is this test suite (what .ci/run runs)",
    "zohocrm auth login  -c @desktop-login.txt          # browser consent on CallbackURL (or --headless, --code)":
        "a browser login: needs a person at a browser (the flow is tested in tests/auth)",
    "zohocrm auth login  -c @web-app-login.txt --web --code 'https://app.example.com/cb?state=...&code=...'  "
    "# ... then exchanges it":
        "the code comes from a person's consent in a browser (the exchange is tested in "
        "tests/auth/test_web_login_cli.py)",
}


@dataclass(frozen=True)
class Block:
    language: str
    line: int  # of the opening fence, 1-based
    section: str
    text: str

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{slug}-line{self.line}-{self.language}"

    def lines(self) -> list[str]:
        return self.text.splitlines()


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced code blocks of the README in the languages that run, with their section."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks, section, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            if fence.group(1) in RUN_LANGUAGES:
                blocks.append(Block(fence.group(1), i + 1, section, "\n".join(lines[i + 1:end]) + "\n"))
            i = end
        i += 1
    return blocks


def runs_on_spark(block: Block) -> bool:
    """A Python block that starts Spark: run in the Spark tests' session (tests/spark/test_readme_example.py),
    whose JVM is already up, rather than in a process of its own."""
    return block.language == "python" and "pyspark" in block.text


def substitute(text: str, org: Org) -> str:
    for shown, (value, _why) in PLACEHOLDERS.items():
        text = text.replace(shown, value(org))
    return text


def runnable_lines(block: Block) -> tuple[list[str], list[str]]:
    """(script lines, server lines) of a bash block: NOT_RUN lines become comments, servers go apart."""
    script, servers = [], []
    for line in block.lines():
        if line.strip() in NOT_RUN:
            script.append(f"# not run here: {line}")
        elif line.lstrip().startswith(SERVERS):
            servers.append(line)
        else:
            script.append(line)
    return script, servers


def has_commands(lines: list[str]) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[object, ...]
    where: str


_SQL = re.compile(r'"((?:EXPLAIN\s+)?(?:SELECT|WITH)\b[^"]*)"(?:\s*,\s*(\([^()]*\)))?', re.I)


def example_queries(blocks: list[Block]) -> list[Query]:
    """Every SELECT the examples show, with the parameters written right after it (``"... ?", (50,)``)."""
    found = []
    for block in blocks:
        for m in _SQL.finditer(block.text):
            params = ast.literal_eval(m.group(2)) if m.group(2) else ()
            found.append(Query(m.group(1), tuple(params), block.name))
    return found
