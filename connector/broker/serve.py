"""The broker's HTTP front: 127.0.0.1 by default, TLS (a given certificate) anywhere else."""

from __future__ import annotations

import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connector.config.regions import is_loopback
from connector.errors import ConfigError

from .server import Answer, Broker, zoho_error

log = logging.getLogger("connector.broker")
MAX_BODY = 512 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: BrokerServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        log.debug("broker: " + format, *args)  # the audit log is the record; no request lines on stderr

    def _serve(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        if size > MAX_BODY:
            self._send(zoho_error(413, "INVALID_DATA", "request body too large for the broker"))
            return
        body = self.rfile.read(size) if size else b""
        origin = f"{self.server.scheme}://{self.headers.get('Host') or self.server.bound}"
        try:
            answer = self.server.broker.handle(self.command, self.path, dict(self.headers.items()), body, origin)
        except Exception:  # noqa: BLE001 - one call must never take the broker down
            log.exception("broker: unexpected failure serving %s %s", self.command, self.path.split("?", 1)[0])
            answer = zoho_error(500, "INTERNAL_ERROR", "the broker failed on this call; see its log")
        if answer.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        self.send_response_only(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if "Date" not in answer.headers:
            self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class BrokerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, broker: Broker, host: str, port: int, *, cert: Path | None = None,
                 key: Path | None = None) -> None:
        if not is_loopback(f"http://{host}") and cert is None:
            raise ConfigError(f"the broker listens on {host}, which is not this machine only: that needs TLS",
                              hint="give --cert and --key (PEM), or listen on 127.0.0.1")
        super().__init__((host, port), _Handler)
        self.broker = broker
        self.scheme = "https" if cert else "http"
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(cert), str(key) if key else None)
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.bound = f"{host}:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bound}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                                  name="zohocrm-broker")
        thread.start()
        return thread
