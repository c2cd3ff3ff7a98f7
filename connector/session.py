"""``ZohoSession``: everything one connection needs, built once from a connection string.

config -> token manager (sealed store) -> HTTP client (pool, retries, audit,
credits) -> catalog. Readers, writers, the SQL engine and the sync runners all
take a session; nothing else builds these pieces.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.auth.manager import TokenManager
from connector.auth.oauth import Tokens, ZohoOAuth
from connector.config import parse_connection_string
from connector.config.config import ConnectionConfig
from connector.http.client import ZohoHttp
from connector.redaction import RedactingFilter, register_secret
from connector.schema.catalog import Catalog

log = logging.getLogger("connector")
_VERBOSITY = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG, 4: logging.DEBUG,
              5: logging.DEBUG}


def _register_config_secrets(config: ConnectionConfig) -> None:
    for secret in (config.oauth_client_secret, config.oauth_access_token, config.oauth_refresh_token,
                   config.proxy_password, config.firewall_password):
        if secret:
            register_secret(secret.reveal())


# One FileHandler per Logfile path, shared by the sessions that name it and removed when the
# last of them closes (a long-lived process opening many sessions must not pile up handlers).
_LOGFILES: dict[Path, list[Any]] = {}
_LOGFILES_LOCK = threading.Lock()


def _setup_logfile(config: ConnectionConfig) -> Path | None:
    if not config.logfile:
        return None
    path = Path(config.logfile).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOGFILES_LOCK:
        entry = _LOGFILES.get(path)
        if entry is None:
            handler = logging.FileHandler(path, encoding="utf-8")
            # Belt and braces: records are redacted where they are made (connector.redaction),
            # and again here in case another library replaced the record factory.
            handler.addFilter(RedactingFilter())
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            entry = _LOGFILES[path] = [handler, 0]
        entry[1] += 1
    level = _VERBOSITY.get(config.verbosity, logging.INFO)
    if log.level == logging.NOTSET or level < log.level:
        log.setLevel(level)
    return path


def _release_logfile(path: Path | None) -> None:
    if path is None:
        return
    with _LOGFILES_LOCK:
        entry = _LOGFILES.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            handler = entry[0]
            log.removeHandler(handler)
            handler.close()
            del _LOGFILES[path]
            if not _LOGFILES:
                log.setLevel(logging.NOTSET)


class ZohoSession:
    def __init__(self, config: ConnectionConfig | str, *, login: Callable[[ZohoOAuth], Tokens] | None = None,
                 tokens: TokenManager | None = None, **http_kw: Any) -> None:
        self.config = config if isinstance(config, ConnectionConfig) else parse_connection_string(config)
        _register_config_secrets(self.config)
        self._logfile = _setup_logfile(self.config)
        try:
            self.tokens = tokens or TokenManager(self.config, login=login)
            self.http = ZohoHttp(self.config, self.tokens, **http_kw)
        except BaseException:  # e.g. ConfigError for a proxy or certificate: don't leak the log handler
            _release_logfile(self._logfile)
            raise
        self.catalog = Catalog(self.http)
        self._org: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ZohoSession({self.config!r})"

    def org(self) -> dict[str, Any]:
        if self._org is None:
            from connector.api.metadata import get_org

            self._org = get_org(self.http)
        return self._org

    def reader_context(self, progress: object | None = None) -> Any:
        from connector.readers.base import ReaderContext

        return ReaderContext(self.config, self.http, self.catalog, progress=progress)

    def close(self) -> None:
        self.http.close()
        _release_logfile(self._logfile)
        self._logfile = None

    def __enter__(self) -> ZohoSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
