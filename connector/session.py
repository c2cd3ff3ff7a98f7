"""``ZohoSession``: everything one connection needs, built once from a connection string.

config -> token manager (sealed store) -> HTTP client (pool, retries, audit,
credits) -> catalog. Readers, writers, the SQL engine and the sync runners all
take a session; nothing else builds these pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from connector.auth.manager import TokenManager
from connector.auth.oauth import Tokens, ZohoOAuth
from connector.config import parse_connection_string
from connector.config.config import ConnectionConfig
from connector.errors import ConfigError
from connector.http import calllog
from connector.http.client import ZohoHttp
from connector.logfile import close_logfile, open_logfile
from connector.readers.base import ReaderContext
from connector.redaction import register_secret
from connector.schema.catalog import Catalog
from connector.warm import arrow_in_background

log = logging.getLogger("connector")


def _register_config_secrets(config: ConnectionConfig) -> None:
    for secret in (config.oauth_client_secret, config.oauth_access_token, config.oauth_refresh_token,
                   config.proxy_password, config.firewall_password, config.broker_key):
        if secret:
            register_secret(secret)


class ZohoSession:
    def __init__(self, config: ConnectionConfig | str, *, login: Callable[[ZohoOAuth], Tokens] | None = None,
                 tokens: TokenManager | None = None, **http_kw: Any) -> None:
        self.config = config if isinstance(config, ConnectionConfig) else parse_connection_string(config)
        _register_config_secrets(self.config)
        if bool(self.config.broker) != bool(self.config.broker_key or self.config.broker_key_file):
            raise ConfigError("Broker needs the workspace key (BrokerKey or BrokerKeyFile), and those need Broker",
                              hint="set Broker to the URL `zohocrm broker serve` printed, and BrokerKey to the "
                                   "workspace key `zohocrm broker key new` printed")
        self._logfile = open_logfile(self.config.logfile, self.config.verbosity, self.config.log_format)
        try:
            self.tokens: TokenManager
            brokered = bool(self.config.broker) and tokens is None
            if brokered:  # the broker holds the Zoho connection (its envelopes' cryptography imported only then)
                from connector.http.brokered import BrokerTokens, EnvelopeOpener, load_credentials

                # A TokenProvider, not a TokenManager: OAuth commands (login, status) refuse it in words.
                broker_tokens = BrokerTokens(load_credentials(self.config))
                self.tokens = broker_tokens  # type: ignore[assignment]
            else:
                self.tokens = tokens or TokenManager(self.config, login=login)
            self.http = ZohoHttp(self.config, self.tokens, **http_kw)
            if brokered:  # opens sealed answers; refuses unsealed ones when sealed
                self.http.session.hooks["response"].append(EnvelopeOpener(broker_tokens.credentials))
        except BaseException:  # e.g. ConfigError for a proxy or certificate: don't leak the log handler
            close_logfile(self._logfile, self.config.verbosity)
            raise
        arrow_in_background()  # pyarrow's first conversion imports pandas: while the first calls are out
        self.catalog = Catalog(self.http)
        self.http.policy.lookup_target = self._lookup_target  # COQL lookups: checked module by module
        self._org: dict[str, Any] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"ZohoSession({self.config!r})"

    def _lookup_target(self, module: str, field: str) -> str | None:
        """The module a lookup field points to; "" for a user lookup; None when it is none (or several)."""
        fields = self.catalog.table(module).fields
        info = fields.get(field) or next((f for name, f in fields.items() if name.casefold() == field.casefold()),
                                         None)
        if info is None or not info.is_lookup or info.polymorphic or info.data_type == "multi_module_lookup":
            return None
        return "" if info.data_type in ("ownerlookup", "userlookup") else info.lookup_module

    def org(self) -> dict[str, Any]:
        if self._org is None:
            from connector.api.metadata import get_org

            self._org = get_org(self.http)
        return self._org

    def reader_context(self, progress: object | None = None) -> ReaderContext:
        """What a reader needs of this connection; ``progress`` gets (module, rows so far)."""
        return ReaderContext(self.config, self.http, self.catalog, progress=progress)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.http.close()
        try:
            self._log_summary()
        finally:
            close_logfile(self._logfile, self.config.verbosity)
            self._logfile = None

    def _log_summary(self) -> None:
        """Verbosity 1 and up: one line of totals as the session closes (2 adds where the time went)."""
        if not logging.getLogger("connector.http").isEnabledFor(calllog.SUMMARY):
            return
        meter = self.http.meter.snapshot()
        calllog.log_summary(self.http.stats, retries=self.http.retries, credits=meter["credits"],
                            remaining=meter["remaining"], token_seconds=getattr(self.tokens, "seconds_obtaining", 0.0),
                            refreshes=getattr(self.tokens, "refreshes", 0), api_domain=self.http.api_domain)

    def __enter__(self) -> ZohoSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
