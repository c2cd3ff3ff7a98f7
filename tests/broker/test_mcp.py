"""`zohocrm mcp` as a real process, driven by the MCP SDK's own client over stdio, against a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from connector.broker.policy import KeyRegistry
from connector.broker.serve import BrokerServer
from connector.broker.server import Broker
from connector.emulator import Emulator
from connector.http.audit import verify_audit_log
from connector.localfs import write_private
from tests.broker.conftest import Brokered
from tests.broker.test_broker_cli import emu_export
from tests.http.support import conn

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def served(connection: str, work: Callable[[ClientSession], Awaitable[T]], errlog: Path) -> T:
    """Run ``work`` against ``zohocrm mcp`` started on ``connection`` (given in the environment, not argv)."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "connector.cli", "mcp"], cwd=str(ROOT),
                                   env={"ZOHOCRM_CONNECTION": connection, "PYTHONPATH": str(ROOT)})

    async def main() -> T:
        with errlog.open("a") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return anyio.run(main)


async def call(session: ClientSession, tool: str, **args: Any) -> tuple[bool, str, Any]:
    result = await session.call_tool(tool, args)
    assert isinstance(result, CallToolResult)
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text and "zb_" not in text
    return result.is_error, text, result.structured_content


def audit(b: Brokered) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (b.state / "audit.jsonl").read_text().splitlines()]


def test_the_tools_listed_are_what_the_policy_allows(brokered: Brokered, tmp_path: Path) -> None:
    async def tools(session: ClientSession) -> dict[str, Any]:
        return {t.name: t for t in (await session.list_tools()).tools}

    expected = {"analytics": {"query", "get_record", "list_records", "search_records", "create_record",
                              "upsert_record"},
                "loader": {"query", "create_record"}, "scribe": {"create_record"}, "drafts": {"query", "create_record"}}
    served_tools = {}  # one server per workspace (each a process of its own)
    for workspace, names in expected.items():
        listed = served_tools[workspace] = served(brokered.connection(workspace), tools, tmp_path / "err.log")
        assert set(listed) == names, workspace
        for tool in listed.values():
            schema = tool.input_schema
            if "module" in schema["properties"]:
                allowed = brokered.service.workspaces[workspace].allowed_modules
                assert schema["properties"]["module"]["enum"] == list(allowed)
            assert tool.annotations is not None
            assert tool.annotations.read_only_hint == (tool.name in ("query", "get_record", "list_records",
                                                                     "search_records"))
    drafts = served_tools["drafts"]
    assert drafts["create_record"].input_schema["properties"]["dry_run"]["const"] is True
    # The field names of each named module are in the write schemas (read-only ones left out).
    writes = served_tools["scribe"]["create_record"].input_schema
    (leads,) = [r["then"] for r in writes["allOf"] if r["if"]["properties"]["module"]["const"] == "Leads"]
    names = leads["properties"]["records"]["items"]["propertyNames"]["enum"]
    assert "Last_Name" in names and "Created_Time" not in names and "id" not in names


def test_sql_answers_with_rows_as_json_and_says_when_it_cut_them(brokered: Brokered, tmp_path: Path) -> None:
    leads = emu_export(brokered.emu, "Leads")

    async def work(session: ClientSession) -> list[tuple[bool, str, Any]]:
        return [await call(session, "query", sql="SELECT count(*) AS n FROM Leads"),
                await call(session, "query", sql="SELECT id, Last_Name FROM Leads ORDER BY id", max_rows=7),
                await call(session, "list_records", module="Leads", fields=["Last_Name"], per_page=5),
                await call(session, "get_record", module="Leads", id=leads[0]["id"])]

    count, cut, page, one = served(brokered.connection("analytics"), work, tmp_path / "err.log")
    assert not count[0] and count[2]["rows"] == [{"n": len(leads)}] and count[2]["truncated"] is False
    assert not cut[0] and cut[2]["row_count"] == 7 and cut[2]["truncated"] is True and "first 7 rows" in cut[2]["note"]
    assert [r["id"] for r in cut[2]["rows"]] == sorted(r["id"] for r in leads)[:7]
    assert json.loads(cut[1]) == cut[2]  # the text is the same JSON, for clients that read only text
    assert page[2]["count"] == 5 and page[2]["more"] is True and page[2]["next_page_token"]
    assert one[2]["record"]["id"] == leads[0]["id"] and one[2]["record"]["Last_Name"] == leads[0]["Last_Name"]


def test_a_denied_operation_never_reaches_zoho(brokered: Brokered, tmp_path: Path) -> None:
    def denied(workspace: str, *calls: tuple[str, dict[str, Any]]) -> list[str]:
        """Each call refused, in one server of the workspace, and none of them reaching Zoho."""
        async def work(session: ClientSession) -> list[tuple[tuple[int, int], tuple[bool, str, Any], tuple[int, int]]]:
            out = []
            for tool, args in calls:
                before = brokered.counters()
                answer = await call(session, tool, **args)
                out.append((before, answer, brokered.counters()))
            return out

        texts = []
        for before, (is_error, text, _), after in served(brokered.connection(workspace), work, tmp_path / "err.log"):
            assert is_error and after == before, text
            texts.append(text)
        return texts

    # A tool the policy does not list is not there to call...
    assert "no tool 'query'" in denied("scribe", ("query", {"sql": "SELECT count(*) FROM Leads"}))[0]
    no_tool, text = denied("analytics", ("delete_record", {"module": "Leads", "ids": ["1"]}),
                           ("query", {"sql": "SELECT count(*) FROM Deals"}))
    assert "no tool 'delete_record'" in no_tool
    # ... and a module it does not list is refused by the broker, with an audit line that says so.
    assert "does not list Deals" in text
    assert any(e["decision"] == "deny" and e.get("module") == "Deals" and e["workspace"] == "analytics"
               for e in audit(brokered))
    assert verify_audit_log(brokered.state / "audit.jsonl").ok


def test_writes_validate_by_default_and_write_when_asked(brokered: Brokered, tmp_path: Path) -> None:
    rows = [{"Last_Name": "Mcp-Ng", "Company": "Acme"}, {"Company": "No last name"}]

    async def work(session: ClientSession) -> list[tuple[bool, str, Any]]:
        return [await call(session, "create_record", module="Leads", records=rows),
                await call(session, "create_record", module="Leads", records=rows[:1], dry_run=False)]

    before = len(emu_export(brokered.emu, "Leads"))
    dry, real = served(brokered.connection("analytics"), work, tmp_path / "err.log")
    assert dry[2]["dry_run"] is True and dry[2]["summary"] == {"would_insert": 1, "failed": 1, "total": 2}
    assert dry[2]["rows"][1]["code"] == "MANDATORY_NOT_FOUND"
    assert real[2]["dry_run"] is False and real[2]["summary"] == {"inserted": 1, "total": 1}
    after = emu_export(brokered.emu, "Leads")
    assert len(after) == before + 1  # the dry run wrote nothing
    assert [r["id"] for r in after if r["Last_Name"] == "Mcp-Ng"] == [real[2]["rows"][0]["record_id"]]
    assert any(e["decision"] == "allow" and e.get("operation") == "insert" for e in audit(brokered))


def test_a_dry_run_only_workspace_refuses_a_real_write_in_words(brokered: Brokered, tmp_path: Path) -> None:
    async def work(session: ClientSession) -> tuple[bool, str, Any]:
        return await call(session, "create_record", module="Leads", records=[{"Last_Name": "X"}], dry_run=False)

    is_error, text, _ = served(brokered.connection("drafts"), work, tmp_path / "err.log")
    assert is_error and "invalid arguments for create_record: dry_run" in text


def test_bad_input_is_a_clean_tool_error(brokered: Brokered, tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any], bool]] = [  # tool, arguments, whether it may reach Zoho
        ("get_record", {"module": "Deals", "id": "1"}, False),
        ("get_record", {"module": "Leads", "id": "1; DROP"}, False),
        ("query", {"sql": "DELETE FROM Leads WHERE Last_Name = 'x'"}, False),
        ("query", {"sql": "SELEC 1"}, False),
        ("list_records", {"module": "Leads", "fields": ["Nope"]}, False),
        ("get_record", {"module": "Leads", "id": "1"}, True),
        ("query", {"sql": "SELECT nope FROM Leads"}, True),
        ("search_records", {"module": "Leads", "criteria": "(Email:sounds_like:x)"}, True)]

    async def work(session: ClientSession) -> list[tuple[bool, str, bool]]:
        out = []
        for tool, args, _ in calls:
            before = brokered.counters()
            is_error, text, _ = await call(session, tool, **args)
            out.append((is_error, text, brokered.counters() != before))
        return out

    answers = served(brokered.connection("analytics"), work, tmp_path / "err.log")
    for (tool, _, may_send), (is_error, text, sent) in zip(calls, answers, strict=True):
        assert is_error and text.startswith((f"{tool} failed: ", f"invalid arguments for {tool}: ")), text
        assert may_send or not sent, text  # checked here, before anything was sent
    texts = [text for _, text, _ in answers]
    assert '"Deals" is not one of Leads, Contacts, Accounts' in texts[0]
    assert "id: '1; DROP' does not match" in texts[1]
    assert "DELETE writes; this runs read-only SQL" in texts[2]
    assert '"Nope" is not one of' in texts[4]
    assert "Leads has no record with id 1" in texts[5]
    assert "no column named 'nope'" in texts[6]
    assert "INVALID_QUERY" in texts[7]
    assert "Traceback" not in (tmp_path / "err.log").read_text()


def test_modules_and_fields_are_resources(brokered: Brokered, tmp_path: Path) -> None:
    async def work(session: ClientSession) -> tuple[Any, Any, str]:
        modules = await session.read_resource("zohocrm://modules")
        fields = await session.read_resource("zohocrm://modules/Leads/fields")
        try:
            await session.read_resource("zohocrm://modules/Deals/fields")
            other = ""
        except Exception as exc:  # noqa: BLE001 - the SDK's MCPError
            other = str(exc)
        return json.loads(modules.contents[0].text), json.loads(fields.contents[0].text), other  # type: ignore[union-attr]

    modules, fields, other = served(brokered.connection("analytics"), work, tmp_path / "err.log")
    assert [m["api_name"] for m in modules] == ["Leads", "Contacts", "Accounts"]
    last = next(f for f in fields if f["api_name"] == "Last_Name")
    assert last["mandatory"] is True and last["data_type"] == "text"
    assert "no resource zohocrm://modules/Deals/fields" in other


def test_a_sealed_workspace_serves_tools_through_its_key_file(brokered: Brokered, tmp_path: Path) -> None:
    key_file = tmp_path / "sealed.key"
    write_private(key_file, json.dumps(brokered.keys["sealed"]), "key file")

    async def work(session: ClientSession) -> tuple[bool, str, Any]:
        return await call(session, "query", sql="SELECT count(*) AS n FROM Contacts")

    is_error, text, answer = served(f"Broker={brokered.url};BrokerKeyFile={key_file}", work, tmp_path / "err.log")
    assert not is_error and answer["rows"] == [{"n": len(emu_export(brokered.emu, "Contacts"))}], text


def zohocrm_mcp(connection: str, *pre: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["ZOHOCRM_CONNECTION"] = connection
    return subprocess.run([sys.executable, *pre, "-m", "connector.cli", "mcp"], input="", capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)


def test_it_refuses_in_words_what_it_cannot_serve(brokered: Brokered) -> None:
    direct = zohocrm_mcp("Region=US;OAuthClientId=1000.X;OAuthClientSecret=abc")
    assert direct.returncode == 2 and "talks to a zohocrm broker" in direct.stderr
    wrong = zohocrm_mcp(f"Broker={brokered.url};BrokerKey=zb_not-a-key")
    assert wrong.returncode == 3 and "does not accept this workspace key" in wrong.stderr
    assert "zb_not-a-key" not in wrong.stderr
    gone = zohocrm_mcp("Broker=http://127.0.0.1:9;BrokerKey=zb_x;MaxRetries=0")
    assert gone.returncode == 75, gone.stderr
    for p in (direct, wrong, gone):
        assert "Traceback" not in p.stderr and p.stdout == ""


def test_without_the_mcp_extra_it_says_how_to_install_it(brokered: Brokered, tmp_path: Path) -> None:
    # A stand-in `mcp` that fails to import, first on the path: as if the extra were not installed.
    (tmp_path / "mcp").mkdir()
    (tmp_path / "mcp" / "__init__.py").write_text("raise ImportError('No module named mcp')\n")
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env.update(ZOHOCRM_CONNECTION=brokered.connection("analytics"), PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    p = subprocess.run([sys.executable, "-m", "connector.cli", "mcp"], input="", capture_output=True, text=True,
                       timeout=120, env=env, cwd=ROOT)
    assert p.returncode == 2 and "pip install 'zohocrm-connector[mcp]'" in p.stderr and "Traceback" not in p.stderr


def test_a_module_the_org_lacks_is_left_out_with_a_warning(make_emulator: Callable[..., Emulator],
                                                           tmp_path: Path) -> None:
    emu = make_emulator(records=40, seed=23)
    policy = tmp_path / "policy.toml"
    policy.write_text('[workspaces.w]\nallowed_org = "665000001"\nallowed_modules = ["leads", "Invoices_Old"]\n'
                      'allowed_operations = ["get_record"]\n')
    service = Broker(conn(emu, OAuthSettingsLocation=str(tmp_path / "t.sealed")), policy, tmp_path / "state")
    key = KeyRegistry(tmp_path / "state").issue(service.workspaces["w"], service.signer.mldsa_public)["key"]
    server = BrokerServer(service, "127.0.0.1", 0)
    server.start()

    async def modules(session: ClientSession) -> list[str]:
        (tool,) = (await session.list_tools()).tools
        return list(tool.input_schema["properties"]["module"]["enum"])

    try:
        assert served(f"Broker={server.url};BrokerKey={key}", modules, tmp_path / "err.log") == ["Leads"]
    finally:
        server.shutdown()
        server.server_close()
        service.close()
    assert "lists modules this org does not have: Invoices_Old" in (tmp_path / "err.log").read_text()
