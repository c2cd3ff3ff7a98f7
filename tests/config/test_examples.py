"""Every example in connection_strings/ parses, and the README table matches the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import (
    load_connection_file,
    lookup_property,
    parse_connection_string,
    parse_pairs,
    read_connection_file,
)
from connector.config.reference import extract_generated_block, render_generated_block
from connector.emulator.tokens import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN
from connector.errors import ConfigError

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "connection_strings"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.txt"))

REQUIRED = {
    "emulator.txt", "us-production-refresh-token.txt", "eu-sandbox.txt", "desktop-login.txt",
    "headless-login.txt", "read-only-analytics.txt", "migration-target-writes.txt", "behind-proxy.txt",
    "socks-firewall.txt", "pasted-from-other-tools.txt", "nightly-sync-budget.txt",
    "through-a-broker.txt",
}


def test_every_scenario_has_a_file() -> None:
    assert REQUIRED <= {path.name for path in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_round_trips(path: Path) -> None:
    config = load_connection_file(path)
    assert parse_connection_string(config.to_connection_string(reveal_secrets=True)) == config


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_comments_explain_every_property_used(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#"), "start with a comment saying what the scenario is"
    comments = " ".join(line for line in lines if line.lstrip().startswith("#"))
    for key in parse_pairs(read_connection_file(path)):
        assert lookup_property(key).name in comments, f"{path.name}: no comment explains {key}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_credentials_are_placeholders(path: Path) -> None:
    config = load_connection_file(path)
    # emulator.txt names the emulator's published development credentials (--dev-credentials)
    dev = {DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN} if path.name == "emulator.txt" else set()
    for attr in ("oauth_client_secret", "oauth_access_token", "oauth_refresh_token", "proxy_password",
                 "firewall_password", "oauth_client_id"):
        value = getattr(config, attr)
        if value is not None:
            shown = value if isinstance(value, str) else value.reveal()
            assert "EXAMPLE" in shown or shown in dev, (path.name, attr)


def test_specific_examples() -> None:
    emulator = load_connection_file(EXAMPLES_DIR / "emulator.txt")
    assert emulator.accounts_server == emulator.api_domain == "http://127.0.0.1:8765"
    pasted = load_connection_file(EXAMPLES_DIR / "pasted-from-other-tools.txt")
    assert (pasted.region, pasted.instance_type, pasted.api_type) == ("EU", "Developer", "Bulk")
    assert "ZohoCRM.settings.READ" in pasted.scope and len(pasted.scope) == 6
    assert pasted.to_connection_string().startswith("Region=EU;InstanceType=Developer;")
    writes = load_connection_file(EXAMPLES_DIR / "migration-target-writes.txt")
    assert writes.dry_run and writes.is_write_allowed("upsert", "Deals")
    assert not writes.is_write_allowed("delete", "Deals")
    sandbox = load_connection_file(EXAMPLES_DIR / "eu-sandbox.txt")
    assert sandbox.api_domain == "https://sandbox.zohoapis.eu"
    proxy = load_connection_file(EXAMPLES_DIR / "behind-proxy.txt")
    assert (proxy.proxy_server, proxy.proxy_port, proxy.proxy_auth_scheme) == ("proxy.example.internal", 3128, "BASIC")
    socks = load_connection_file(EXAMPLES_DIR / "socks-firewall.txt")
    assert (socks.firewall_type, socks.firewall_port) == ("SOCKS5", 1080)


def test_comment_lines_are_blanked_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("# comment with Region=US;\nRegion=EU;\n  # indented comment\nPageSize='#1'x\n", encoding="utf-8")
    assert read_connection_file(path).splitlines()[1] == "Region=EU;"
    with pytest.raises(ConfigError, match=r"x\.txt, line 4, column 14: expected ';'"):
        load_connection_file(path)


def test_bad_value_in_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("Region=Mars;\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.txt: Region must be one of"):
        load_connection_file(path)
    with pytest.raises(ConfigError, match="cannot read connection file"):
        load_connection_file(tmp_path / "missing.txt")


def test_readme_table_matches_the_property_table() -> None:
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert extract_generated_block(readme) == render_generated_block(), (
        "connection_strings/README.md is out of date: run .venv/bin/python connection_strings/_make_table.py"
    )
