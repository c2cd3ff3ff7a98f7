"""Where a Spark job's Zoho sessions live: the driver holds the connection, executors get an access token.

Spark plans a Python data source (``schema``, ``pushFilters``, ``partitions``)
in processes the driver starts, and runs ``read``/``write`` in executor
processes that may be on other machines. The connection string — with its
refresh token or the sealed store that holds one — is used on the driver only:
there a :class:`~connector.session.ZohoSession` mints (or reuses, through the
sealed token store shared by the driver's processes) an access token, and what
travels to the executors is a connection with ``InitiateOAuth=OFF`` and that
access token alone. An executor therefore cannot refresh: however many
partitions run, the only token-endpoint calls are the driver's, within Zoho's
10 refreshes per 10 minutes. An executor whose token expired fails its task
with an AuthError saying so (Spark retries the task; the driver mints anew for
the next job).
"""

from __future__ import annotations

import threading

from connector.config import parse_connection_string
from connector.config.config import ConnectionConfig
from connector.errors import ConfigError
from connector.schema.catalog import CatalogSnapshot
from connector.session import ZohoSession

from .options import Settings, config_for

_lock = threading.Lock()
_driver: dict[str, ZohoSession] = {}


def connection_option(options: dict[str, str] | object) -> str:
    """The ``connection`` option (a connection string), or a ConfigError saying how to pass one."""
    get = getattr(options, "get", None)
    text = get("connection") if get is not None else None
    if not text:
        raise ConfigError("the zohocrm data source needs .option('connection', '<connection string>')",
                          hint="pass the connection string (from a secret scope on Databricks: "
                               "dbutils.secrets.get(...)); see the README's Spark section")
    return str(text)


def driver_session(connection: str) -> ZohoSession:
    """One session per connection string in this driver-side process (its catalog and token reused)."""
    with _lock:
        session = _driver.get(connection)
        if session is None:
            session = _driver[connection] = ZohoSession(connection)
        return session


def executor_config(session: ZohoSession) -> ConnectionConfig:
    """The driver's connection with its secrets swapped for a current access token: all an executor gets."""
    token = session.tokens.access_token()
    return session.config.replace(initiate_oauth="OFF", oauth_access_token=token, oauth_refresh_token=None,
                                  oauth_client_secret=None, oauth_settings_location=None,
                                  oauth_grant_type="authorization_code")


def executor_session(config: ConnectionConfig, catalog: CatalogSnapshot | None = None) -> ZohoSession:
    """An executor's session: the access token the driver minted, and the driver's metadata when given."""
    if config.oauth_refresh_token is not None or config.oauth_client_secret is not None:
        raise ConfigError("an executor was given a refresh token or client secret; only access tokens leave "
                          "the driver")
    session = ZohoSession(config)
    if catalog is not None:
        session.catalog.seed(catalog)  # every task would otherwise list the modules and fields again
    return session


def parse(connection: str) -> ConnectionConfig:
    return parse_connection_string(connection)


class PlannedOnDriver:
    """A reader Spark plans on the driver and pickles to its executors: the connection string stays behind."""

    def __init__(self, connection: str, settings: Settings, catalog: CatalogSnapshot | None = None) -> None:
        self._connection: str | None = connection
        self.settings = settings
        #: the metadata the driver loaded (module list, table schemas): Spark plans a read in several Python
        #: processes and runs it in more; each takes this instead of asking Zoho again (a credit a call)
        self.catalog = catalog

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_connection"] = None  # the connection string (refresh token, secret) never leaves the driver
        return state

    def _session(self) -> ZohoSession:
        if self._connection is None:
            raise ConfigError("this reader was planned elsewhere: it has no connection of its own")
        session = driver_session(config_for(self._connection, self.settings))
        if self.catalog is not None:
            session.catalog.seed(self.catalog)
        return session

    def _slices(self, session: ZohoSession) -> int:
        """How many slices to cut a read into: numPartitions, capped by MaxConcurrency (its default too)."""
        cap = max(1, session.config.max_concurrency)
        return min(self.settings.partitions or cap, cap)
