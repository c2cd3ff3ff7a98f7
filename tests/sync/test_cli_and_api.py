"""``zohocrm migrate`` and ``connector.migrate``: the user-facing doors to the same runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import connector
from connector.cli.common import EXIT_USAGE
from connector.cli.main import cli
from connector.emulator import Emulator
from connector.errors import ConfigError
from connector.sync import open_source, open_target

from .helpers import ALLOW, export

ROOT = Path(__file__).resolve().parents[2]


def test_cli_full_then_incremental_with_a_connection_file(tmp_path):
    with Emulator(records=200, seed=71) as emu:
        conn = tmp_path / "zoho.txt"
        conn.write_text(emu.connection_string + "\n")
        db = tmp_path / "crm.duckdb"
        runner = CliRunner()
        res = runner.invoke(cli, ["migrate", "--source", f"@{conn}", "--target", f"duckdb:{db}",
                                  "--modules", "leads,Accounts"])
        assert res.exit_code == 0, res.output
        assert "migration summary" in res.output and "Leads" in res.output and "credits" in res.output
        res = runner.invoke(cli, ["migrate", "--source", f"@{conn}", "--target", f"duckdb:{db}", "--modules",
                                  "Leads,Accounts", "--incremental", "--refresh-formulas"])
        assert res.exit_code == 0, res.output
        assert "incremental" in res.output


def test_cli_says_what_is_wrong_with_an_endpoint(tmp_path):
    res = CliRunner().invoke(cli, ["migrate", "--source", "nonsense", "--target", f"duckdb:{tmp_path / 'x.duckdb'}"])
    assert res.exit_code == 2 and "cannot tell what" in res.output
    res = CliRunner().invoke(cli, ["migrate", "--source", f"parquet:{tmp_path / 'missing'}", "--target",
                                   f"duckdb:{tmp_path / 'x.duckdb'}"])
    assert res.exit_code == 2 and "is not a directory" in res.output


def test_python_api_is_exported_lazily(tmp_path):
    with Emulator(records=100, seed=72) as emu:
        result = connector.migrate(emu.connection_string, f"parquet:{tmp_path / 'out'}", modules=["Deals"])
        assert result.ok and result.modules[0].module == "Deals"
        assert result.rows_written == len(export(emu, "Deals"))
        manifest = json.loads((tmp_path / "out" / "_zohocrm_state.json").read_text())
        assert manifest["modules"]["Deals"]["rows"] == result.rows_written and manifest["users"]


def test_registry_errors_and_install_hints(tmp_path):
    with pytest.raises(ConfigError, match="local path"):
        open_target("parquet:s3://bucket/x")
    with pytest.raises(ConfigError, match="no DuckDB file"):
        open_source(f"duckdb:{tmp_path / 'nope.duckdb'}")


@pytest.mark.parametrize("missing, url, words", [
    ("pyarrow.parquet", "parquet:{tmp}/out", "pip install 'pyarrow>=15'"),
    ("pyarrow.csv", "csv:{tmp}/out", "not pyarrow-core"),
    ("duckdb", "duckdb:{tmp}/crm.duckdb", "pip install 'duckdb>=1.1'"),
])
def test_a_backend_whose_package_is_missing_says_what_to_install(tmp_path, missing, url, words):
    """The real CLI, in a Python where one package cannot be imported: one line naming the package and the
    install that fixes it, exit status 2, no traceback."""
    blocked = f"import sys; sys.modules[{missing!r}] = None; from connector.cli.main import main; sys.exit(main())"
    where = url.format(tmp=tmp_path)
    proc = subprocess.run([sys.executable, "-c", blocked, "migrate", "--source", where, "--target", where],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert f"needs the package {missing!r}" in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_each_side_imports_only_its_own_backend():
    """A source or a target loads its own module alone: a run from Zoho into files never imports the Zoho
    target and its writers, nor DuckDB (0.07 s and 0.05 s at the start of every such run), nor one from files
    the Zoho source."""
    code = ("import json, sys; from connector.sync.backends import source_class, target_class\n"
            "source_class(sys.argv[1]); target_class(sys.argv[2])\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == 'duckdb' or m.startswith(("
            "'connector.sync.target_', 'connector.sync.source_', 'connector.writers', 'connector.sync.files')))))")

    def loaded(source: str, target: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-c", code, source, target], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        return list(json.loads(proc.stdout))

    assert loaded("zoho", "parquet") == ["connector.sync.files", "connector.sync.source_zoho"]
    assert loaded("csv", "csv") == ["connector.sync.files"]
    into_zoho = loaded("csv", "zoho")
    assert "connector.sync.target_zoho" in into_zoho and "connector.sync.source_zoho" not in into_zoho
    assert loaded("duckdb", "duckdb") == ["connector.sync.source_duckdb", "connector.sync.target_duckdb", "duckdb"]


def test_a_second_run_into_the_same_directory_waits_its_turn(tmp_path):
    first = open_target(f"csv:{tmp_path / 'out'}")
    try:
        with pytest.raises(Exception, match="another migration"):
            open_target(f"csv:{tmp_path / 'out'}")
    finally:
        first.close()


def test_source_id_field_lets_a_target_recognise_rows_without_a_natural_key(tmp_path):
    # Leads.External_Ref is a unique text field: used here as the field that carries the source id.
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company\n5843104130000000001,Plain,SidCo\n"
                                   "5843104130000000002,Plain,SidCo\n")
    with Emulator(records=0, seed=73) as b:
        kw = {"modules": ["Leads"], "state_path": str(tmp_path / "s.duckdb"), "source_id_field": "External_Ref"}
        assert connector.migrate(f"csv:{src}", b.connection_string + ALLOW, **kw).ok
        rows = [r for r in export(b, "Leads") if r.get("Company") == "SidCo"]
        assert sorted(r["External_Ref"] for r in rows) == ["5843104130000000001", "5843104130000000002"]
        # Forget the id map: the rows are recognised by the field, not inserted again.
        (tmp_path / "s.duckdb").unlink()
        again = connector.migrate(f"csv:{src}", b.connection_string + ALLOW, mode="upsert", **kw)
        assert again.ok, again.as_rows()
        assert len([r for r in export(b, "Leads") if r.get("Company") == "SidCo"]) == 2


def test_a_malformed_csv_source_is_named_not_an_internal_error(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "Leads.csv").write_text("id,Last_Name,Company\n1,Fine,Co\n2,Short\n")
    res = CliRunner().invoke(cli, ["migrate", "--source", f"csv:{src}", "--target", f"duckdb:{tmp_path / 'x.duckdb'}"])
    assert res.exit_code == 1, res.output
    assert "Leads.csv" in res.output.replace("\n", "") and "internal error" not in res.output
