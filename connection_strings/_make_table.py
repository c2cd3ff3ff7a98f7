"""Regenerate the property and data-center tables in README.md from the code.

Run after changing connector/config/properties.py or regions.py:

    .venv/bin/python connection_strings/_make_table.py

tests/config/test_examples.py fails while the README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from connector.config.reference import update_readme

README = Path(__file__).with_name("README.md")


def main() -> int:
    changed = update_readme(README)
    print(f"{README}: {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
