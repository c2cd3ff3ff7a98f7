"""Connection files: comments, one property per line without semicolons, wrapped values."""

from __future__ import annotations

import pytest

from connector.config import load_connection_file
from connector.errors import ConfigError

CASES = [
    ("Region=EU\nInstanceType=Sandbox\n", {"region": "EU", "instance_type": "Sandbox"}),
    ("Region=EU;\nInstanceType=Sandbox;\n", {"region": "EU", "instance_type": "Sandbox"}),
    ("# comment\nRegion=IN\n\n# another\nTimeout=30\n", {"region": "IN", "timeout": 30}),
    ("Scope=ZohoCRM.modules.READ\n      ZohoCRM.org.READ\nRegion=AU\n",
     {"scope": ("ZohoCRM.modules.READ", "ZohoCRM.org.READ"), "region": "AU"}),
    ("Region=EU;InstanceType=Developer\nTimeout=5", {"region": "EU", "instance_type": "Developer", "timeout": 5}),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_line_per_property(tmp_path, text, expected):
    p = tmp_path / "c.txt"
    p.write_text(text)
    cfg = load_connection_file(p)
    for attr, value in expected.items():
        assert getattr(cfg, attr) == value


def test_errors_name_the_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("# header\nRegion=EU\nTimeout=abc\n")
    with pytest.raises(ConfigError, match="bad.txt"):
        load_connection_file(p)
