"""``zohocrm mcp``: a Model Context Protocol server over stdio for one broker workspace.

The server holds a workspace key, never a Zoho secret: every tool call is a call of a broker
connection (``Broker=...;BrokerKey=...``), so the broker decides it by the workspace's policy,
audits it, and (for sealed workspaces) seals its answer. The tools are the workspace's allowed
operations only (:func:`connector.mcp.tools.tool_specs`); a failed call is an MCP tool error
carrying the connector's own message and hint, never a traceback. Two resources help an agent
write correct calls: the workspace's modules, and each module's fields.

Connector calls are blocking (requests, DuckDB), so they run in a worker thread, one at a time:
the connection's engine and session are not shared across concurrent calls.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import anyio
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from connector.api import metadata
from connector.broker.client import BrokerClient
from connector.errors import ConnectorError
from connector.redaction import redact

from .tools import MAX_ROWS, ModuleFields, ToolSpec, check_arguments, fit, jsonable, rows_answer, tool_specs

log = logging.getLogger("connector.mcp")
MODULES_URI = "zohocrm://modules"
FIELDS_URI = "zohocrm://modules/{module}/fields"
#: Above this many modules the per-module field names stay out of the schemas (the resource has them).
FIELDS_IN_SCHEMAS = 25


class WorkspaceTools:
    """The workspace as tools: what the broker allows this key, and the calls behind each tool."""

    def __init__(self, client: BrokerClient, *, max_rows: int = MAX_ROWS) -> None:
        self.client = client
        self.max_rows = max_rows
        self.info = client.workspace()
        # The session's catalog, which the SQL engine shares: the module list is asked of Zoho once.
        listed = {api: info.raw for api, info in client.session.catalog.modules().items()
                  if info.raw.get("api_supported", True) and info.generated_type != "metadata"}
        named = [str(m) for m in self.info.get("allowed_modules", [])]
        if named == ["*"]:
            named = list(listed)
        by_fold = {api.casefold(): api for api in listed}
        missing = [m for m in named if m.casefold() not in by_fold]
        if missing:  # a policy may name modules this org lacks: offering them would only fail
            log.warning("zohocrm mcp: the workspace lists modules this org does not have: %s", ", ".join(missing))
        named = [by_fold[m.casefold()] for m in named if m.casefold() in by_fold]
        self.modules = {m: listed[m] for m in named}
        self._lock = threading.Lock()
        self._fields: dict[str, list[dict[str, Any]]] = {}
        known = {}
        for m in named if len(named) <= FIELDS_IN_SCHEMAS else ():
            try:
                known[m] = ModuleFields.from_metadata(self.fields(m))
            except ConnectorError as exc:  # its schemas then check the names' form only
                log.warning("zohocrm mcp: no field list for %s (%s)", m, exc.message)
        self.specs = tool_specs([str(op) for op in self.info.get("allowed_operations", [])], named, known,
                                dry_run_only=bool(self.info.get("dry_run")), max_rows=max_rows)
        self.by_name = {s.name: s for s in self.specs}

    def fields(self, module: str) -> list[dict[str, Any]]:
        if module not in self._fields:
            self._fields[module] = metadata.list_fields(self.client.session.http, module)
        return self._fields[module]

    def instructions(self) -> str:
        ws = self.info
        return (f"Zoho CRM org {ws.get('org_id')} through a zohocrm broker, workspace {ws.get('workspace')}. "
                f"Modules: {', '.join(self.modules) or 'none'}. Every call is decided by the workspace's policy "
                "and audited; tools the policy does not allow are not offered. Read the "
                f"{FIELDS_URI} resource for a module's field API names. Writes validate only (dry_run) unless "
                "dry_run is false.")

    # -- calls (in a worker thread) ------------------------------------------------------------

    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, "_" + name)
            return handler(args)

    def _query(self, args: dict[str, Any]) -> dict[str, Any]:
        limit = int(args.get("max_rows", min(100, self.max_rows)))
        reader = self.client.read_sql(str(args["sql"]))
        rows: list[dict[str, Any]] = []
        try:
            for batch in reader:
                rows.extend(batch.to_pylist())
                if len(rows) > limit:
                    break  # one row past the limit is enough to say the result was cut
        finally:
            reader.close()
        return rows_answer(rows, max_rows=limit, more=len(rows) > limit, columns=reader.schema.names)

    def _get_record(self, args: dict[str, Any]) -> dict[str, Any]:
        record = self.client.get_record(args["module"], args["id"])
        if record is None:
            raise ConnectorError(f"{args['module']} has no record with id {args['id']}")
        return {"module": args["module"], "record": record}

    def _list_records(self, args: dict[str, Any]) -> dict[str, Any]:
        records, token = self.client.list_records(args["module"], args["fields"], page_token=args.get("page_token"),
                                                  per_page=int(args.get("per_page", 50)))
        out: dict[str, Any] = {"module": args["module"], "records": records, "count": len(records),
                               "more": token is not None}
        if token is not None:
            out["next_page_token"] = token
        return out

    def _search_records(self, args: dict[str, Any]) -> dict[str, Any]:
        page, per_page = int(args.get("page", 1)), int(args.get("per_page", 50))
        r = self.client.session.http.get(f"/{args['module']}/search", params={
            "criteria": args["criteria"], "page": page, "per_page": per_page}, kind="search")
        body = {} if r.empty or not isinstance(r.body, dict) else r.body
        records = list(body.get("data", []))
        more = bool(body.get("info", {}).get("more_records"))
        return {"module": args["module"], "records": records, "count": len(records), "page": page, "more": more}

    def _write(self, operation: str, args: dict[str, Any]) -> dict[str, Any]:
        module, dry = args["module"], bool(args.get("dry_run", True))
        if operation == "delete_record":
            report = self.client.delete_record(module, args["ids"], dry_run=dry)
        elif operation == "upsert_record":
            report = self.client.upsert_record(module, args["records"], args["key"], dry_run=dry)
        else:
            write = self.client.create_record if operation == "create_record" else self.client.update_record
            report = write(module, args["records"], dry_run=dry)
        rows = [{k: v for k, v in jsonable(row).items() if v is not None} for row in report.table.to_pylist()]
        return {"module": module, "operation": report.operation, "dry_run": report.dry_run,
                "summary": report.summary(), "rows": rows}

    def _create_record(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._write("create_record", args)

    def _update_record(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._write("update_record", args)

    def _upsert_record(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._write("upsert_record", args)

    def _delete_record(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._write("delete_record", args)

    # -- resources -----------------------------------------------------------------------------

    def module_list(self) -> list[dict[str, Any]]:
        keep = ("api_name", "singular_label", "plural_label", "creatable", "editable", "deletable")
        return [{k: m[k] for k in keep if k in m} for m in self.modules.values()]

    def field_list(self, module: str) -> list[dict[str, Any]]:
        with self._lock:
            fields = self.fields(module)
        out = []
        for f in fields:
            item = {"api_name": f.get("api_name"), "label": f.get("field_label"), "data_type": f.get("data_type"),
                    "mandatory": bool(f.get("system_mandatory")), "read_only": bool(f.get("read_only")),
                    "length": f.get("length")}
            if f.get("pick_list_values"):
                item["values"] = [v.get("actual_value") for v in f["pick_list_values"]][:200]
            if isinstance(f.get("lookup"), dict) and f["lookup"].get("module"):
                item["lookup_module"] = f["lookup"]["module"].get("api_name")
            out.append(item)
        return out


def tool_definition(spec: ToolSpec) -> types.Tool:
    return types.Tool(name=spec.name, description=spec.description, input_schema=spec.schema,
                      annotations=types.ToolAnnotations(read_only_hint=spec.read_only,
                                                        destructive_hint=spec.destructive,
                                                        idempotent_hint=spec.idempotent, open_world_hint=True))


def failure(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=redact(text))], is_error=True)


def message(exc: BaseException) -> str:
    """The connector's words for a failure; never a traceback, never a secret."""
    if isinstance(exc, ConnectorError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    log.error("zohocrm mcp: unexpected %s in a tool call", type(exc).__name__)
    return f"the tool failed unexpectedly ({type(exc).__name__}); the server's stderr has the details"


def build_server(tools: WorkspaceTools) -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool_definition(s) for s in tools.specs])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = tools.by_name.get(params.name)
        if spec is None:
            return failure(f"this workspace has no tool {params.name!r}; its tools are "
                           f"{', '.join(tools.by_name) or 'none'} (what its broker policy allows)")
        args = dict(params.arguments or {})
        problem = check_arguments(spec.schema, args)
        if problem:
            return failure(f"invalid arguments for {spec.name}: {problem}")
        try:
            answer = await anyio.to_thread.run_sync(tools.call, spec.name, args)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a tool error in words
            return failure(f"{spec.name} failed: {message(exc)}")
        answer, text = fit(answer, "rows" if "rows" in answer else "records")
        return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=answer)

    async def list_resources(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                             ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource(
            name="modules", uri=MODULES_URI, mime_type="application/json",
            description="the modules this workspace may use, with their labels")])

    async def list_templates(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                             ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            name="fields", uri_template=FIELDS_URI, mime_type="application/json",
            description="a module's fields: API name, label, type, mandatory, read-only, picklist values")])

    async def read_resource(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
                            ) -> types.ReadResourceResult:
        uri = str(params.uri)
        prefix, suffix = FIELDS_URI.split("{module}")
        if uri == MODULES_URI:
            data: Any = tools.module_list()
        elif uri.startswith(prefix) and uri.endswith(suffix) and uri[len(prefix):-len(suffix)] in tools.modules:
            try:
                data = await anyio.to_thread.run_sync(tools.field_list, uri[len(prefix):-len(suffix)])
            except Exception as exc:  # noqa: BLE001
                raise MCPError(-32603, redact(message(exc))) from None
        else:
            raise MCPError(-32002, f"no resource {uri[:200]}; modules are {', '.join(tools.modules)}")
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=uri, mime_type="application/json", text=json.dumps(jsonable(data), ensure_ascii=False))])

    return Server("zohocrm", version=_version(), instructions=tools.instructions(), on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources,
                  on_list_resource_templates=list_templates, on_read_resource=read_resource)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zohocrm-connector")
    except PackageNotFoundError:
        return "0"


def serve_stdio(tools: WorkspaceTools) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin."""
    server = build_server(tools)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
