"""The ``Logfile``: one handler per file, private, redacted, in text or JSON lines.

``Logfile=PATH`` appends the connector's log to PATH, created ``0600`` (missing folders ``0700``)
whatever the umask; ``Logfile=-`` writes it to stderr instead (for schedulers that collect
stderr). ``Verbosity`` picks how much is written (see :mod:`connector.http.calllog`) and
``LogFormat=json`` writes one JSON object per line, with ``time``, ``level``, ``logger``,
``message`` and the record's structured fields (``call``, ``credits``, ``seconds``...), so a
scheduler can parse it. A path that cannot be written is a :class:`FileAccessError` naming the
``Logfile`` setting, raised when the session opens rather than at the first log line.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.localfs import check_path_text, open_private, reporting_os_errors
from connector.redaction import RedactingFilter, redact

# Log levels of the Verbosity steps that have no standard level (see connector.http.calllog).
SUMMARY = 25   # Verbosity 1: a session's closing totals
REQUEST = 15   # Verbosity 3: request lines
TRACE = 5      # Verbosity 5: bodies
logging.addLevelName(SUMMARY, "SUMMARY")
logging.addLevelName(REQUEST, "REQUEST")
logging.addLevelName(TRACE, "TRACE")

#: Verbosity property value -> the lowest log level a Logfile at that verbosity writes.
VERBOSITY_LEVELS: dict[int, int] = {0: logging.ERROR, 1: SUMMARY, 2: logging.INFO, 3: REQUEST,
                                    4: logging.DEBUG, 5: TRACE}

log = logging.getLogger("connector")
STDERR = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the record's ``zohocrm`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, "zohocrm", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                entry.setdefault(key, value)
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["error"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PrivateFileHandler(logging.FileHandler):
    """A FileHandler whose file is created 0600 (folders 0700) and whose OS errors name the setting."""

    def __init__(self, path: Path) -> None:
        self._target = path
        super().__init__(path, mode="a", encoding="utf-8", delay=True)
        self.stream = self._open()  # open now: an unwritable path fails when the session opens

    def _open(self) -> io.TextIOWrapper:
        stream = open_private(self._target, "a", "log file", setting="Logfile", encoding="utf-8")
        assert isinstance(stream, io.TextIOWrapper)  # os.fdopen in text mode
        return stream


class _Entry:
    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self.users = 0
        self.levels: list[int] = []


# One handler per Logfile, shared by the sessions that name it and removed when the last closes
# (a long-lived process opening many sessions must not pile up handlers).
_HANDLERS: dict[str, _Entry] = {}
_LOCK = threading.Lock()


def logfile_on_stderr() -> bool:
    """Whether a session's ``Logfile=-`` writes the connector's log to stderr now."""
    with _LOCK:
        return STDERR in _HANDLERS


def open_logfile(logfile: Path | None, verbosity: int, log_format: str) -> str | None:
    """Attach the Logfile's handler (shared per path); returns the key to pass to :func:`close_logfile`."""
    if logfile is None:
        return None
    text = str(logfile)
    if text == STDERR:
        key = STDERR
    else:
        with reporting_os_errors(logfile, "log file", setting="Logfile"):
            key = str(check_path_text(logfile, "log file", "Logfile").expanduser().resolve())
    level = VERBOSITY_LEVELS.get(verbosity, logging.INFO)
    with _LOCK:
        entry = _HANDLERS.get(key)
        if entry is None:
            handler: logging.Handler = (logging.StreamHandler(sys.stderr) if key == STDERR
                                        else PrivateFileHandler(Path(key)))
            # Belt and braces: records are redacted where they are made (connector.redaction),
            # and again here in case another library replaced the record factory.
            handler.addFilter(RedactingFilter())
            handler.setFormatter(JsonLinesFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
            log.addHandler(handler)
            entry = _HANDLERS[key] = _Entry(handler)
        entry.users += 1
        entry.levels.append(level)
        entry.handler.setLevel(min(entry.levels))
        _apply_logger_level()
    return key


def close_logfile(key: str | None, verbosity: int) -> None:
    if key is None:
        return
    with _LOCK:
        entry = _HANDLERS.get(key)
        if entry is None:
            return
        entry.users -= 1
        level = VERBOSITY_LEVELS.get(verbosity, logging.INFO)
        if level in entry.levels:
            entry.levels.remove(level)
        if entry.users <= 0:
            log.removeHandler(entry.handler)
            entry.handler.close()
            del _HANDLERS[key]
        else:
            entry.handler.setLevel(min(entry.levels))
        _apply_logger_level()


def _apply_logger_level() -> None:
    """The ``connector`` logger lets through what the most verbose Logfile wants, and warnings always (a Logfile
    of errors only keeps them out of its file, not off the command's stderr), no more."""
    levels = [e.handler.level for e in _HANDLERS.values()]
    log.setLevel(min(*levels, logging.WARNING) if levels else logging.NOTSET)
