"""The zohocrm source's options (no secret in here: a Settings travels with the reader to executors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.errors import ConfigError

APIS = ("Auto", "REST", "COQL", "Search", "Bulk")


@dataclass(frozen=True)
class Settings:
    """What a read needs besides the connection (no secret in here: it travels with the reader)."""

    module: str | None
    query: str | None
    api: str | None
    partitions: int | None

    @classmethod
    def of(cls, options: Any) -> Settings:
        module = options.get("module") or options.get("path") or None
        query = options.get("query") or None
        if (module is None) == (query is None):
            raise ConfigError("the zohocrm data source reads one module (.load('Leads')) or one query "
                              "(.option('query', 'SELECT ...')), not both and not neither")
        api = options.get("api") or None
        if api is not None:
            match = [a for a in APIS if a.lower() == str(api).lower()]
            if not match:
                raise ConfigError(f"option api={api!r} is not a Zoho read API", hint="use one of " + ", ".join(APIS))
            api = match[0]
        n = options.get("numPartitions") or options.get("numpartitions")
        try:
            count = int(n) if n is not None else None
        except ValueError:
            raise ConfigError(f"option numPartitions={n!r} is not a whole number") from None
        if count is not None and count < 1:
            raise ConfigError(f"option numPartitions={n!r} must be at least 1")
        return cls(str(module) if module else None, str(query) if query else None, api, count)


def changes_option(options: Any) -> bool:
    value = str(options.get("changes") or "false").strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"option changes={value!r} must be true or false")
    return value == "true"


def config_for(connection: str, settings: Settings) -> str:
    return connection + (f";APIType={settings.api}" if settings.api else "")
