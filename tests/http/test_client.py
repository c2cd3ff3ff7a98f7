"""ZohoHttp against the emulator: injected faults, ambiguous writes, credits, quota, scopes, concurrency,
the api_domain Zoho returns, and the transport settings (proxy, certificates, SOCKS)."""

from __future__ import annotations

import base64
import http.client
import random
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from connector.config import parse_connection_string
from connector.config.transport import configure_session, timeouts, verify_setting
from connector.emulator import Emulator
from connector.errors import AuthError, ConfigError, FatalApiError, QuotaExhaustedError, RetriableError
from connector.http.client import Backoff
from connector.session import ZohoSession
from tests.http.support import configure, conn, fast_session, free_port, grant, self_signed, stats

# Raw writes through session.http are governed like any other: these tests write Leads.
WRITES = {"AllowedOperations": "read,insert,update,upsert,delete", "AllowedModules": "Leads"}


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=30, seed=7)


def lead(n: int) -> dict[str, Any]:
    return {"Last_Name": f"Client-{n}", "Company": "Acme"}


# -- injected faults -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["500", "502", "503", "429", "error200", "drop"])
def test_injected_faults_are_retried_and_every_call_succeeds(emu, kind):
    with fast_session(conn(emu, MaxRetries=8)) as s:
        s.tokens.access_token()  # mint before the faults start: this test is about CRM calls
        configure(emu, fault_rate=0.4, fault_kinds=[kind])
        for _ in range(12):
            r = s.http.get("/org")
            assert r.status == 200 and r.body["org"][0]["id"]
        st = stats(emu)
        injected = st["faults_injected"].get(kind, 0)
        assert injected > 0 and st["statuses"][f"fault:{kind}"] == injected
        assert s.http.retries == injected and s.http.attempts == 12 + injected


def test_slow_answers_time_out_and_are_retried(emu):
    with fast_session(conn(emu, Timeout=1, MaxRetries=6)) as s:
        s.tokens.access_token()
        configure(emu, fault_rate=0.5, fault_kinds=["slow"], slow_fault_ms=1300)
        for _ in range(4):
            assert s.http.get("/org").status == 200
        injected = stats(emu)["faults_injected"]["slow"]
        assert injected > 0 and s.http.retries == injected


def test_retries_run_out_with_a_retriable_error(emu):
    with fast_session(conn(emu, MaxRetries=2)) as s:
        s.tokens.access_token()
        configure(emu, fault_rate=1.0, fault_kinds=["503"])
        with pytest.raises(RetriableError) as info:
            s.http.get("/org")
    assert info.value.status == 503 and stats(emu)["faults_injected"]["503"] == 3


def test_a_write_whose_answer_was_lost_is_ambiguous_and_not_replayed(emu):
    before = len(requests.get(f"{emu.origin}/__emulator/export/Leads", timeout=30).json()["data"])
    with fast_session(conn(emu, MaxRetries=5, **WRITES)) as s:
        s.tokens.access_token()
        configure(emu, fault_rate=1.0, fault_kinds=["drop_after"])
        with pytest.raises(RetriableError) as info:
            s.http.post("/Leads", json={"data": [lead(1)], "trigger": []})
        assert info.value.ambiguous is True and s.http.retries == 0
    configure(emu, fault_rate=0.0)
    st = stats(emu)
    assert st["calls"]["insert"] == 1 and st["faults_injected"]["drop_after"] == 1
    rows = requests.get(f"{emu.origin}/__emulator/export/Leads", timeout=30).json()["data"]
    assert len(rows) == before + 1  # the write landed once: the caller must reconcile, not resend


class _Answers(BaseHTTPRequestHandler):
    """Any call answered 200 with an empty JSON list: a server that was there once."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(b'{"data": []}')

    def _reply(self, body: bytes, length: int | None = None, **headers: str) -> None:
        """200 with a JSON ``body`` (``length``: the Content-Length said, when not the body's)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _CutAnswers(_Answers):
    """The first ``cut`` answers promise 4 MB and send 10 KB before closing (a connection lost mid-body);
    later ones are whole, gzip-encoded when the client accepts it (as Zoho's are)."""

    cut = 1
    answered = 0

    def _answer(self) -> None:
        import gzip

        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cls = type(self)
        cls.answered += 1
        body = b'{"data": [' + b",".join(b'{"id": "%d"}' % i for i in range(50_000)) + b"]}"
        if cls.answered <= cls.cut:
            self._reply(body[:10_000], length=len(body))
            self.wfile.flush()
            self.close_connection = True
        elif "gzip" in self.headers.get("Accept-Encoding", ""):
            self._reply(gzip.compress(body), Content_Encoding="gzip")
        else:
            self._reply(body)

    do_GET = do_POST = _answer


@pytest.fixture
def cut_server() -> Iterator[type[_CutAnswers]]:
    handler = type("CutOnce", (_CutAnswers,), {"answered": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    handler.origin = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_answer_cut_mid_body_is_a_lost_answer_retried_like_a_dropped_call(emu, cut_server):
    """A body is read whole in one call (not 10 KB at a time): a connection lost halfway through it is
    still a dropped call, a read retried, and the retry's gzip-encoded answer arrives decoded."""
    with fast_session(conn(emu, APIServer=cut_server.origin, MaxRetries=2, **WRITES)) as s:
        r = s.http.get("/Leads")
        assert len(r.body["data"]) == 50_000 and r.body["data"][-1] == {"id": "49999"}
        assert s.http.attempts == 2 and s.http.retries == 1 and cut_server.answered == 2


def test_a_write_whose_answer_is_cut_mid_body_is_ambiguous_and_not_replayed(emu, cut_server):
    with fast_session(conn(emu, APIServer=cut_server.origin, MaxRetries=2, **WRITES)) as s:
        with pytest.raises(RetriableError) as info:
            s.http.post("/Leads", json={"data": [lead(3)]})
        assert info.value.ambiguous is True and s.http.attempts == 1 and cut_server.answered == 1


def test_nothing_listening_at_a_local_address_never_reached_is_said_at_once(emu):
    """A broker or emulator not started, or a wrong port: no backoff starts it, so no retry waits for it."""
    dead = f"http://127.0.0.1:{free_port()}"
    with fast_session(conn(emu, APIServer=dead, MaxRetries=2, **WRITES)) as s:
        with pytest.raises(RetriableError) as info:
            s.http.post("/Leads", json={"data": [lead(2)]})
        assert info.value.ambiguous is False and info.value.now is False
        assert s.http.attempts == 1 and s.http.retries == 0
        assert "nothing is listening at " + dead in str(info.value) and "emulator" in (info.value.hint or "")


def test_a_refused_connection_where_a_server_answered_is_retried_even_for_a_write(emu):
    """Once the address has answered, a refusal is a restart under way: waited for, even for a write (a
    refused connection sent nothing, so nothing is ambiguous)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    with fast_session(conn(emu, APIServer=f"http://127.0.0.1:{server.server_port}", MaxRetries=2, **WRITES)) as s:
        assert s.http.get("/Leads").body == {"data": []}
        server.shutdown()
        server.server_close()
        thread.join()
        s.http.session.close()  # no kept-alive connection: the next call connects, and is refused
        with pytest.raises(RetriableError) as info:
            s.http.post("/Leads", json={"data": [lead(2)]})
        assert info.value.ambiguous is False and info.value.now is True
        assert s.http.attempts == 4 and s.http.retries == 2  # the GET, then the POST and its two retries


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server over TLS on loopback with a certificate of its own (no system trusts it): origin, certificate."""
    import ssl

    cert, key = self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", cert
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_certificate_that_does_not_verify_is_said_at_once_and_trusted_once_given(emu, tls_server):
    """No backoff makes an untrusted certificate trusted: one attempt, the words and what to give."""
    origin, cert = tls_server
    with fast_session(conn(emu, APIServer=origin, MaxRetries=3, **WRITES)) as s:
        with pytest.raises(RetriableError) as info:
            s.http.get("/Leads")
        assert info.value.now is False and info.value.ambiguous is False
        assert s.http.attempts == 1 and s.http.retries == 0
        assert f"the TLS certificate of {origin} could not be verified" in str(info.value)
        assert "SSLServerCert" in (info.value.hint or "")
    with fast_session(conn(emu, APIServer=origin, SSLServerCert=str(cert), **WRITES)) as s:
        assert s.http.get("/Leads").body == {"data": []}


def test_an_accounts_server_whose_certificate_does_not_verify_is_said_at_once(emu, tls_server, caplog):
    from connector.auth.oauth import AccountsServerUnavailable

    origin, _ = tls_server
    with fast_session(conn(emu, AccountsServer=origin)) as s, caplog.at_level("DEBUG", logger="connector"):
        with pytest.raises(AccountsServerUnavailable, match=f"the TLS certificate of {origin}") as info:
            s.http.get("/Leads")
    assert "SSLServerCert" in (info.value.hint or "")
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]  # not one of the waits was taken
    assert s.http.attempts == 0  # no token, no call to Zoho


# -- credits and quota ------------------------------------------------------------------------

def test_credits_are_counted_per_call_like_zoho_counts_them(emu, tmp_path):
    with fast_session(conn(emu, **{**WRITES, "AllowedModules": "Leads,Nope"})) as s:
        s.tokens.access_token()
        before = stats(emu)["credits_used"]
        h = s.http
        h.get("/org")
        h.get("/users", params={"type": "CurrentUser"})
        page = h.get("/Leads", params={"fields": "Last_Name", "per_page": 5})
        h.get(f"/Leads/{page.body['data'][0]['id']}")
        for limit in (50, 500, 1500):  # COQL: 1, 2 and 3 credits by LIMIT
            h.post("/coql", json={"select_query": f"select Last_Name from Leads where Last_Name is not null "
                                                  f"limit {limit}"})
        h.post("/Leads", json={"data": [lead(i) for i in range(25)], "trigger": []}, batch=True)  # 3
        h.post("/read", base="bulk", json={"query": {"module": {"api_name": "Leads"}}})  # 50
        with pytest.raises(FatalApiError):
            h.get("/Nope")  # refused after processing: 1
        expected = 1 + 1 + 1 + 1 + (1 + 2 + 3) + 3 + 50 + 1
        assert h.meter.total == expected == stats(emu)["credits_used"] - before
        assert h.meter.by_kind["post"] == 1 + 2 + 3 + 3 + 50


def test_running_out_of_credits_is_quota_exhausted_not_retried(emu):
    with fast_session(conn(emu, MaxRetries=5)) as s:
        token = s.tokens.access_token()
        configure(emu, credits=stats(emu)["credits_used"] + 3)
        for _ in range(3):
            s.http.get("/org")
        assert s.http.meter.remaining == 0
        with pytest.raises(QuotaExhaustedError, match="credits") as info:
            s.http.get("/org")
        assert info.value.status == 429 and s.http.retries == 0
    # What makes the classification reliable: Zoho's 429 body is the same for concurrency and
    # credits; only the credits one says X-API-CREDITS-REMAINING: 0.
    raw = requests.get(f"{emu.api_domain}/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {token.reveal()}"},
                       timeout=30)
    assert raw.status_code == 429 and raw.headers["X-API-CREDITS-REMAINING"] == "0"


# -- scopes, concurrency, hosts -------------------------------------------------------------------

def test_a_token_without_the_scope_is_an_auth_error_with_the_hint(emu):
    rt = grant(emu, scopes="ZohoCRM.modules.READ")["refresh_token"]
    with fast_session(conn(emu, refresh_token=rt)) as s:
        with pytest.raises(AuthError) as info:
            s.http.get("/org")
        assert s.tokens.refreshes == 1  # not mistaken for an expired token
    assert info.value.zoho_error == "OAUTH_SCOPE_MISMATCH" and "Scope" in (info.value.hint or "")
    assert stats(emu)["statuses"]["401"] == 1


def _burst(s: ZohoSession, threads: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        try:
            s.http.get("/org")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


def test_max_concurrency_keeps_calls_under_zohos_limit(make_emulator):
    emu = make_emulator(records=10, concurrency=2, latency_ms=150)
    with fast_session(conn(emu, MaxConcurrency=2, MaxRetries=0)) as s:
        s.tokens.access_token()
        assert _burst(s, 6) == [] and stats(emu)["rejected_429"] == 0
    # The control: without the client-side limit the same burst meets Zoho's 429.
    with fast_session(conn(emu, MaxConcurrency=6, MaxRetries=0)) as s:
        errors = _burst(s, 6)
    assert errors and all(isinstance(e, RetriableError) and e.status == 429 for e in errors)
    assert stats(emu)["rejected_429"] == len(errors)


def test_calls_go_to_the_api_domain_zoho_returns(emu):
    # No APIServer: Region=US would mean www.zohoapis.com; the token answer names the emulator.
    with fast_session(conn(emu, api_server=False)) as s:
        assert s.http.get("/org").status == 200
        assert s.http.api_domain == emu.api_domain


def test_a_path_without_its_leading_slash_means_the_same(emu):
    with fast_session(conn(emu)) as s:
        for base, prefix in (("api", "/crm/v8"), ("bulk", "/crm/bulk/v8"), ("root", "")):
            assert s.http.url("Leads", base) == s.http.url("/Leads", base) == f"{emu.api_domain}{prefix}/Leads"
        assert s.http.get("org").status == 200  # what Zoho would answer INVALID_URL_PATTERN for at /crm/v8org


# -- proxy, TLS, SOCKS ---------------------------------------------------------------------------

class ForwardProxy(ThreadingHTTPServer):
    """A minimal forward HTTP proxy: absolute-URI requests are replayed to the origin and counted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[tuple[str, str]] = []
        self.auth: list[str | None] = []


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ForwardProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        target = urlsplit(self.path)
        assert target.scheme == "http" and target.hostname, self.path  # a proxy gets absolute URIs
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        self.server.seen.append((self.command, self.path))
        self.server.auth.append(self.headers.get("Proxy-Authorization"))
        hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "host"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body=body,
                         headers=headers)
        resp = upstream.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = _forward


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_every_call_goes_through_the_configured_proxy(emu, proxy):
    before = stats(emu)["calls_total"]
    text = conn(emu, ProxyServer="127.0.0.1", ProxyPort=proxy.server_address[1], ProxyUser="ops",
                ProxyPassword="proxy-pw-7731")
    with fast_session(text) as s:
        s.http.get("/org")
        s.http.get("/Leads", params={"fields": "Last_Name", "per_page": 3})
        s.http.post("/coql", json={"select_query": "select Last_Name from Leads where Last_Name is not null"})
        assert "proxy-pw-7731" not in repr(s) + str(s.config)
    made = stats(emu)["calls_total"] - before
    assert made == 4 and len(proxy.seen) == made  # the token mint and the three API calls
    assert proxy.seen[0] == ("POST", f"{emu.accounts_url}/oauth/v2/token")
    assert set(proxy.auth) == {"Basic " + base64.b64encode(b"ops:proxy-pw-7731").decode()}


def test_ssl_server_cert_settings(tmp_path):
    with pytest.raises(ConfigError, match="SSLServerCert file not found"):
        ZohoSession(conn_text(SSLServerCert=str(tmp_path / "missing.pem")))
    pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
    first = verify_setting(parse_connection_string(conn_text(SSLServerCert=pem)))
    assert isinstance(first, str) and Path(first).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert verify_setting(parse_connection_string(conn_text(SSLServerCert=pem))) == first  # one file per PEM
    cert_file = tmp_path / "ca.pem"
    cert_file.write_text(pem)
    assert verify_setting(parse_connection_string(conn_text(SSLServerCert=str(cert_file)))) == str(cert_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert verify_setting(parse_connection_string(conn_text(SSLServerCert="*"))) is False
    assert any("any server certificate" in str(w.message) for w in caught)


@pytest.mark.parametrize("busy", [False, True])
def test_a_certificate_given_as_text_leaves_no_file_behind_however_the_cli_exits(busy: bool) -> None:
    """The PEM file made for requests is removed at exit, and also when a stopped migration leaves at once
    (``os._exit``, no exit handlers) because one of its threads is still busy."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
    code = ("import sys, threading, time\n"
            "from connector.config import parse_connection_string\n"
            "from connector.config.transport import verify_setting\n"
            "from connector.cli.migrate_cmd import leave\n"
            f"print(verify_setting(parse_connection_string({conn_text(SSLServerCert=pem)!r})), flush=True)\n"
            "if sys.argv[1] == 'busy':\n"
            "    threading.Thread(target=time.sleep, args=(30,), name='zoho-busy', daemon=True).start()\n"
            "leave(143)\n")
    out = subprocess.run([sys.executable, "-c", code, "busy" if busy else "idle"], capture_output=True, text=True,
                         timeout=60)
    made = Path(out.stdout.strip())
    assert out.returncode == 143, out.stderr
    assert made.name.startswith("zohocrm-cert-") and not made.exists()


def conn_text(**props: Any) -> str:
    """A connection string for transport checks that never reach the network."""
    base = {"OAuthClientId": "1000.TEST", "OAuthClientSecret": "s3cret-value", "OAuthRefreshToken": "1000.r.t",
            "InitiateOAuth": "REFRESH", **props}
    return ";".join(f"{k}='{v}'" for k, v in base.items())


def test_socks_without_pysocks_is_a_config_error_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "socks", None)  # import socks -> ImportError, installed or not
    config = parse_connection_string(conn_text(FirewallType="SOCKS5", FirewallServer="127.0.0.1", FirewallPort=1080))
    with pytest.raises(ConfigError) as info:
        configure_session(requests.Session(), config)
    assert "SOCKS" in str(info.value) and "zohocrm-connector[socks]" in (info.value.hint or "")


@pytest.mark.parametrize("scheme", ["NTLM", "NEGOTIATE", "DIGEST"])
def test_proxy_schemes_requests_cannot_speak_are_refused(scheme):
    config = parse_connection_string(conn_text(ProxyServer="proxy.local", ProxyPort=3128, ProxyUser="u",
                                               ProxyPassword="p4ssword", ProxyAuthScheme=scheme))
    with pytest.raises(ConfigError, match=f"ProxyAuthScheme={scheme}"):
        configure_session(requests.Session(), config)


@pytest.mark.parametrize("value, expected", [(0, None), (1, (1.0, 1.0)), (60, (15.0, 60.0))])
def test_timeouts(value, expected):
    assert timeouts(parse_connection_string(conn_text(Timeout=value))) == expected


# -- backoff --------------------------------------------------------------------------------------

def _state(attempt: int, retry_after: float | None = None) -> Any:
    exc = RetriableError("x", retry_after=retry_after)
    return SimpleNamespace(attempt_number=attempt, outcome=SimpleNamespace(exception=lambda: exc))


@pytest.mark.parametrize("attempt, retry_after, low, high", [
    (1, None, 0.5, 1.0), (2, None, 1.0, 2.0), (3, None, 2.0, 4.0), (6, None, 4.0, 8.0),
    (1, 5.0, 5.0, 5.0), (1, 60.0, 8.0, 8.0),  # Retry-After wins, up to the cap
])
def test_backoff_is_exponential_jittered_and_honours_retry_after(attempt, retry_after, low, high):
    backoff = Backoff(base=1.0, cap=8.0)
    waits = [backoff(_state(attempt, retry_after)) for _ in range(50)]
    assert all(low <= w <= high for w in waits)


def test_backing_off_leaves_the_callers_random_sequence_alone():
    """The jitter has a generator of its own: a program that seeds ``random`` for its own draws gets the
    same draws whether or not the connector retried meanwhile."""
    backoff = Backoff(base=1.0, cap=8.0)
    random.seed(7)
    expected = [random.random() for _ in range(3)]
    random.seed(7)
    got = []
    for attempt in (1, 2, 3):
        backoff(_state(attempt))
        got.append(random.random())
    assert got == expected


def test_heavy_calls_wait_for_one_of_zohos_ten_heavy_slots(make_emulator):
    # MaxConcurrency 20 is the Enterprise limit, but COQL is heavy: Zoho takes 10 at once and refuses the
    # 11th with a 429 rather than queueing it. The connection queues the extra ones itself.
    emu = make_emulator(records=10, latency_ms=300)
    with fast_session(conn(emu, MaxConcurrency=20, MaxRetries=0)) as s:
        s.tokens.access_token()
        errors: list[Exception] = []

        def coql() -> None:
            try:
                s.http.post("/coql", json={"select_query": "select id from Leads where id is not null limit 1"},
                            kind="query")
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        pool = [threading.Thread(target=coql) for _ in range(14)] + [
            threading.Thread(target=lambda: s.http.get("/org")) for _ in range(6)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    seen = stats(emu)
    assert errors == [] and seen["rejected_429"] == 0
    assert seen["concurrency"]["peak_heavy"] == 10 and seen["concurrency"]["peak"] <= 20


@pytest.mark.parametrize(("method", "url", "params", "body", "heavy"), [
    ("POST", "https://x/crm/v8/coql", None, {"select_query": "select id from Leads"}, True),
    ("GET", "https://x/crm/v8/Leads", {"sort_by": "id", "per_page": 200}, None, True),
    ("GET", "https://x/crm/v8/Leads", {"cvid": "1"}, None, True),
    ("GET", "https://x/crm/v8/Leads", {"sort_by": None, "fields": "id"}, None, False),
    ("GET", "https://x/crm/v8/Leads", None, None, False),
    ("POST", "https://x/crm/v8/Leads", None, {"data": [{}] * 11}, True),
    ("POST", "https://x/crm/v8/Leads/upsert", None, {"data": [{}] * 11}, True),
    ("PUT", "https://x/crm/v8/Leads", None, {"data": [{}] * 10}, False),
    ("POST", "https://x/crm/v8/Leads/1/actions/convert", None, {"data": [{}]}, True),
    ("POST", "https://x/crm/bulk/v8/read", None, {"query": {"module": {"api_name": "Leads"}}}, False),
    ("GET", "https://x/crm/v8/org", None, None, False),
])
def test_which_calls_are_heavy(method, url, params, body, heavy):
    from connector.http.concurrency import is_heavy

    assert is_heavy(method, url, params, body) is heavy
