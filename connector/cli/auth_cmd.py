"""``zohocrm auth login|status|logout``, ``zohocrm check`` and ``zohocrm audit verify``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from connector.errors import ConnectorError

from .common import (
    EXIT_OK,
    EXIT_ZOHO,
    connection_option,
    err,
    exit_status,
    friendly_errors,
    resolve_connection,
)

if TYPE_CHECKING:
    from connector.session import ZohoSession


def _session(connection: str | None, **kw: Any) -> ZohoSession:
    from connector.session import ZohoSession

    return ZohoSession(resolve_connection(connection), **kw)


@click.group()
def auth() -> None:
    """Log in to Zoho, show or remove the stored tokens."""


@auth.command()
@connection_option
@click.option("--headless", is_flag=True, help="print the consent URL and paste the redirect back (no browser here)")
@click.option("--code", help="exchange a Self Client grant code from the API console instead; with --web, the "
                             "URL the browser was redirected to, or its code")
@click.option("--no-browser", is_flag=True, help="desktop flow but print the URL instead of opening a browser")
@click.option("--web", is_flag=True,
              help="web-server flow in two steps: without --code, print the consent URL for CallbackURL; then "
                   "--code with the URL the browser was redirected to (or just its code)")
@click.option("--state", help="with --web --code CODE: the state of the redirect, when only the code is pasted")
@click.option("--accounts-server", "accounts_server", metavar="URL",
              help="with --web --code CODE: the redirect's accounts-server (multi-DC), when only the code is pasted")
@click.option("--location", metavar="DC", help="with --web --code CODE: the redirect's location (us, eu, in...)")
def login(connection: str | None, headless: bool, code: str | None, no_browser: bool, web: bool,
          state: str | None, accounts_server: str | None, location: str | None) -> None:
    """Run the OAuth login and seal the tokens at OAuthSettingsLocation."""
    from connector.auth.login import exchange_self_client_code, login_desktop, login_headless

    if (state or accounts_server or location) and not (web and code):
        raise click.UsageError("--state, --accounts-server and --location go with --web --code")
    with friendly_errors(), _session(connection) as s:
        location_setting = s.config.oauth_settings_location
        if not location_setting or str(location_setting).strip().lower() == "memory":
            raise click.UsageError("set OAuthSettingsLocation to a file so the tokens can be kept (sealed) after login")
        if s.config.oauth_refresh_token:
            err("warning: the connection string also gives OAuthRefreshToken; while it is there it is used "
                "instead of the token this login stores — remove it to use the login")
        if web:
            from connector.auth.login import finish_web_login, pending_login_path, start_web_login

            pending = pending_login_path(location_setting)
            if not code:
                click.echo(start_web_login(s.tokens.oauth, pending))
                err("Open the URL above in a browser, sign in and accept. Then run this command again with "
                    "--code '<the URL the browser was redirected to>' (or just the code) within 15 minutes.")
                return
            tokens = finish_web_login(s.tokens.oauth, pending, code, state=state, accounts_server=accounts_server,
                                      location=location)
        elif code:
            tokens = exchange_self_client_code(s.tokens.oauth, code)
        elif headless:
            tokens = login_headless(s.tokens.oauth, input_fn=lambda prompt: click.prompt(prompt, err=True),
                                    output=lambda text: click.echo(text, err=True))
        else:
            if no_browser:
                tokens = login_desktop(s.tokens.oauth, open_browser=lambda url: click.echo(
                    f"Open this URL to sign in:\n{url}", err=True))
            else:
                tokens = login_desktop(s.tokens.oauth)
        s.tokens.save_login(tokens)
        click.echo(json.dumps({"logged_in": True, **s.tokens.status()}, indent=2))


@auth.command()
@connection_option
def status(connection: str | None) -> None:
    """Show what is stored (never the tokens themselves)."""
    with friendly_errors(), _session(connection) as s:
        click.echo(json.dumps(s.tokens.status(), indent=2))


@auth.command()
@connection_option
@click.option("--keep-remote", is_flag=True, help="delete the local tokens without revoking them at Zoho")
def logout(connection: str | None, keep_remote: bool) -> None:
    """Revoke the refresh token at Zoho and delete the stored tokens."""
    with friendly_errors(), _session(connection) as s:
        revoked = s.tokens.logout(revoke=not keep_remote)
        click.echo(json.dumps({"logged_out": True, "revoked_at_zoho": revoked}))


@click.command()
@connection_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (same as --format json)")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for schedulers and scripts")
def check(connection: str | None, as_json: bool, output_format: str) -> None:
    """Prove a connection the safe way (read-only): token, org, data center, modules, one record.

    Exits 0 when proven; otherwise with the status of the cause (2 settings, 3 OAuth, 5 Zoho's
    answer, 75 try again later) and the reason said once: on its FAIL line, or in the JSON.
    """
    from connector.check import CheckReport, run_check

    if as_json:
        output_format = "json"
    if output_format == "json":
        # Even a connection that cannot be opened is answered in JSON on stdout, and only there.
        with friendly_errors():  # a bug still ends in one line and status 70, never a traceback
            try:
                with _session(connection) as s:
                    report = run_check(s)
            except ConnectorError as exc:
                report = CheckReport(reason=str(exc), error=exc)
            status = EXIT_OK if report.ok else exit_status(report.error) if report.error else EXIT_ZOHO
            click.echo(json.dumps({**report.as_dict(), "exit_status": status}, indent=2))
        sys.exit(status)
    with friendly_errors(), _session(connection) as s:
        report = run_check(s)
    click.echo(report.render())
    if not report.ok:
        sys.exit(exit_status(report.error) if report.error else EXIT_ZOHO)


@click.group()
def audit() -> None:
    """Work with audit logs (AuditLog=...)."""


@audit.command()
@click.argument("file", type=click.Path(dir_okay=False))
def verify(file: str) -> None:
    """Replay the SHA-256 chain; exit 1 if any line was edited, removed or reordered."""
    from connector.http.audit import verify_audit_log

    with friendly_errors():
        verdict = verify_audit_log(file)
        click.echo(str(verdict))
        if not verdict.ok:
            sys.exit(1)
