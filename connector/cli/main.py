"""Entry point of the ``zohocrm`` command."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import TextIO

import click

from connector.localfs import PRIVATE_UMASK
from connector.logfile import logfile_on_stderr
from connector.redaction import RedactingFilter
from connector.warm import command_process

from .auth_cmd import audit, auth, check
from .broker_cmd import broker
from .common import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, Terminated, install_signal_handlers, quiet_broken_pipe
from .demo_cmd import demo
from .emulator_cmd import emulator
from .mcp_cmd import mcp
from .migrate_cmd import migrate
from .query_cmd import query
from .state_cmd import state


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zohocrm-connector")
def cli() -> None:
    """Zoho CRM connector: SQL over Zoho, migrations, incremental sync, and a local Zoho CRM emulator."""


cli.add_command(emulator)
cli.add_command(demo)
cli.add_command(migrate)
cli.add_command(auth)
cli.add_command(check)
cli.add_command(audit)
cli.add_command(query)
cli.add_command(state)
cli.add_command(broker)
cli.add_command(mcp)


def warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    """A Python warning as one plain line on stderr (``warning: SSLServerCert=* accepts ...``): a user of the
    command learns what to mind, not the file and source line inside the package that raised it."""
    del category, filename, lineno, line
    click.echo(f"warning: {message}", err=True, file=file)


class WarningLines(logging.Handler):
    """The connector's WARNING (and worse) log records as ``warning: ...`` lines on stderr, as :func:`warning_line`
    shows Python warnings: without a handler, logging's last resort printed them bare, and with a Logfile
    they reached the file alone. Redacted like every record of the connector's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if logfile_on_stderr():
            return  # ``Logfile=-``: the log on stderr says it already
        if getattr(record, "zohocrm", {}).get("event") == "call_failed":
            return  # the failure reaches the command, which says it once (its error, a module's, a row's)
        try:
            click.echo(f"warning: {self.format(record)}", err=True)  # the stderr of now (click's runner swaps it)
        except Exception:  # noqa: BLE001 - a warning that cannot be shown must not stop the command
            self.handleError(record)


def show_warnings() -> None:
    """Python warnings and the connector's logged warnings, each once, as ``warning: ...`` lines on stderr."""
    warnings.showwarning = warning_line
    logger = logging.getLogger("connector")
    if not any(isinstance(h, WarningLines) for h in logger.handlers):
        logger.addHandler(WarningLines())


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the command's own process (its script, ``python -m connector.cli``): not a caller's
        command_process()
    install_signal_handlers()
    show_warnings()
    # Nothing the command writes (targets, state, reports, logs, DuckDB's WAL) is readable by others.
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)
    try:
        cli.main(args=argv, prog_name="zohocrm", standalone_mode=False)
    except BrokenPipeError:
        quiet_broken_pipe()
        return EXIT_OK
    except Terminated:
        click.echo("terminated", err=True)
        return EXIT_SIGTERM
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        return EXIT_SIGINT
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:  # click's --help / --version
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
