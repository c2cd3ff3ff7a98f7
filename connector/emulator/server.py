"""HTTP/1.1 server (stdlib, threaded, keep-alive) in front of :class:`~.app.App`."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import handlers  # noqa: F401  (registers every route)
from .app import DROP, App
from .http import Headers, Request, Response

MAX_BODY = 64 * 1024 * 1024
#: a client that goes away mid-request (closed socket, reset, timeout): its business, not a server error
CLIENT_GONE = (ConnectionError, TimeoutError)
STOP_WAIT_S = 10.0  # how long a stop lets requests in flight finish before the store closes
#: how often the accept loop looks for a stop: the longest a stop waits for it (every test stops emulators)
POLL_S = 0.05


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An error page (send_error) still goes out in two writes; with Nagle on, its body would wait for
    # the client's delayed ACK (~40 ms per call on Linux), as every answer's did when they were two.
    disable_nagle_algorithm = True
    server_version = "ZohoCRM-Emulator/1.0"
    app: App  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the stats endpoint tells what happened

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the virtual clock, so clients can learn "server now".
        from email.utils import formatdate

        return formatdate(self.app.clock.time() if timestamp is None else timestamp, usegmt=True)

    def _serve(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        try:
            with server.in_flight():
                self._answer()
        except CLIENT_GONE:
            # The client closed the socket (a reader stopped early, a timeout, Ctrl-C): there is
            # nobody left to answer, and it is not the emulator's fault, so no traceback.
            self.close_connection = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client left before its body was whole (killed mid-upload): an HTTP server acts on no
            # part of it, and Zoho keeps nothing of it (a cut multipart would land as a file of the wrong
            # bytes). Nobody is left to answer.
            self.close_connection = True
            return
        headers = Headers({k.lower(): v for k, v in self.headers.items()})
        req = Request.build(self.command, self.path, headers, body, self.client_address[0])
        try:
            resp = self.app.dispatch(req)
        except Exception as exc:  # a bug in a handler must still answer like Zoho's 500
            if not getattr(self.server, "stopping", False):  # the store closing under a late request is no bug
                import traceback
                traceback.print_exc()
            resp = Response.json({"code": "INTERNAL_ERROR", "details": {"emulator_bug": repr(exc)[:300]},
                                  "message": "Internal server error occurred.", "status": "error"}, 500)
        if resp is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        assert isinstance(resp, Response)
        try:
            self._send(resp)
        finally:
            if resp.stream is not None:
                resp.stream.close()

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if resp.status not in (204, 304):
            self.send_header("Content-Length", str(resp.length))
        buffered = getattr(self, "_headers_buffer", None)  # none for an HTTP/0.9 request line: no headers
        with_body = self.command != "HEAD" and resp.status not in (204, 304)
        if resp.stream is not None and with_body:
            self.end_headers()
            self.connection.sendfile(resp.stream)  # kernel to socket: no copy of the file through Python
            return
        if resp.body and with_body:
            if buffered is None:
                self.end_headers()
                self.wfile.write(resp.body)
                return
            # headers and body in one write: one send per answer instead of two (every call pays it)
            buffered += [b"\r\n", resp.body]
            self.flush_headers()
        else:
            self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    stopping = False

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._active = 0
        self._idle = threading.Condition()
        #: the connections being served (keep-alive: a thread per client connection), by their thread
        self._open: dict[threading.Thread, socket.socket] = {}
        #: called in a connection's thread as it ends (the store's cursor of that thread closed there)
        self.on_thread_end: Callable[[], None] | None = None

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        me = threading.current_thread()
        with self._idle:
            self._open[me] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            try:
                if self.on_thread_end is not None:
                    self.on_thread_end()
            finally:
                with self._idle:
                    self._open.pop(me, None)
                    self._idle.notify_all()

    def connection_threads(self) -> list[threading.Thread]:
        """The threads serving a connection now (one per client connection)."""
        with self._idle:
            return list(self._open)

    def close_connections(self, timeout: float) -> None:
        """End the connections still open (a client's idle keep-alive ones: their threads wait for its next
        request) and wait for their threads, so that none outlives the server and ends while the process exits."""
        with self._idle:
            open_now = list(self._open.items())
        for _, sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed by its client meanwhile
        with self._idle:
            self._idle.wait_for(lambda: not self._open, timeout=timeout)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request while it is answered, so a stop can let it finish before the store closes."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        """Until no request is being answered (a big export a client walked away from, say), or ``timeout``."""
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Disconnects outside _serve (reading the request line, flushing at the end) land here;
        # socketserver would print a traceback for each. Anything else is a real bug: keep it.
        if isinstance(sys.exc_info()[1], CLIENT_GONE) or self.stopping:
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """Binds, serves in a background thread, stops cleanly."""

    def __init__(self, app: App) -> None:
        self.app = app
        handler = type("BoundHandler", (_Handler,), {"app": app})
        self.httpd = _Server((app.settings.host, app.settings.port), handler)
        self.httpd.on_thread_end = lambda: app.store.release_cursor()  # (the store as it is then: a reset replaces it)
        host, port = self.httpd.server_address[:2]
        # server_address holds the host as text for AF_INET (typeshed also allows bytes, for AF_UNIX).
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        app.origin = f"http://{advertised_host(host_text, app.settings.advertise_host)}:{port}"
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": POLL_S},
                                       name="zoho-emulator", daemon=True)
        self.thread.start()

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=POLL_S)

    def stop(self) -> None:
        self.httpd.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(timeout=5)
        # Requests still being answered use the store: let them finish before it closes; then the connections
        # left open end, each thread closing its own cursor.
        self.httpd.wait_idle(STOP_WAIT_S)
        self.httpd.close_connections(STOP_WAIT_S)
        self.app.save_state()
        self.app.store.close()
        for kept in list(self.app.state.values()):  # bulk job files, backup zips: temp folders of this run
            discard = getattr(kept, "discard_files", None)
            if callable(discard):
                discard()


def advertised_host(bound: str, advertise: str | None) -> str:
    """The host clients are told to use: ``advertise`` when given; for a wildcard bind (0.0.0.0,
    every interface) the machine's name, since 0.0.0.0 is not an address another machine can call."""
    if advertise:
        return advertise
    if bound in ("0.0.0.0", ""):
        return socket.gethostname()
    return bound
