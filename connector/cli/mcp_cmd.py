"""``zohocrm mcp``: a broker workspace's allowed operations as Model Context Protocol tools (stdio)."""

from __future__ import annotations

import click

from connector.errors import ConfigError

from .common import connection_option, err, friendly_errors, resolve_connection


@click.command()
@connection_option
@click.option("--max-rows", type=click.IntRange(1, 1000), default=1000, show_default=True,
              help="the most rows one tool answer may carry (a query's max_rows is capped here)")
def mcp(connection: str | None, max_rows: int) -> None:
    """Serve a broker workspace to an AI agent over MCP (stdin/stdout).

    The connection is a broker connection (Broker=URL;BrokerKey=KEY or BrokerKeyFile=FILE): this
    process holds a workspace key, never a Zoho secret, and offers as tools only what the
    workspace's policy allows (query, get_record, list_records, search_records, and the writes,
    with dry_run on by default).
    """
    with friendly_errors():
        try:
            import mcp  # noqa: F401 - only to say in words when the optional extra is missing
        except ImportError:
            raise ConfigError("zohocrm mcp needs the Model Context Protocol SDK, an optional extra",
                              hint="pip install 'zohocrm-connector[mcp]'") from None
        from connector.broker.client import BrokerClient
        from connector.config import parse_connection_string
        from connector.mcp.server import WorkspaceTools, serve_stdio

        config = parse_connection_string(resolve_connection(connection))
        if not config.broker:
            raise ConfigError("zohocrm mcp talks to a zohocrm broker, and this connection is a direct Zoho one",
                              hint="connect with Broker=<url of zohocrm broker serve>;BrokerKeyFile=<workspace key "
                                   "file> (an agent's process should hold no Zoho secret)")
        client = BrokerClient.from_config(config)
        try:
            tools = WorkspaceTools(client, max_rows=max_rows)
            err(f"zohocrm mcp: workspace {tools.info.get('workspace')} on org {tools.info.get('org_id')}; tools: "
                f"{', '.join(tools.by_name) or 'none (the policy allows none of them)'}")
            serve_stdio(tools)
        finally:
            client.close()
