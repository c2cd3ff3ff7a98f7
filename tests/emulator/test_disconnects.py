"""A client that goes away mid-answer is not a server error: no traceback on the emulator's stderr.

Real clients do this all the time (a reader stops after the rows it wanted, a timeout, Ctrl-C).
Each case below is a real socket against a real ``zohocrm emulator`` process; the answers are
tens of MB, far more than the socket buffers hold, so the server is still writing when the
client leaves, and gets a reset (SO_LINGER 0) or a broken pipe (plain close).
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import time
from urllib.parse import urlsplit

import requests

from ..conftest import ZohoClient
from .process import ready_line, start, stop

LEADS = 20_000  # ~45 MB of export JSON: still being built when a stop comes
#: ~11 MB of export JSON and a 5 MB bulk page: far past the socket buffers a client leaves unread
LEFT_LEADS = 5_000


def raw_request(origin: str, request: bytes, *, read: int, reset: bool) -> None:
    """Send ``request``, read ``read`` bytes of the answer, then leave (RST when ``reset``, else FIN)."""
    url = urlsplit(origin)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # no receive-window autotuning
    sock.connect((url.hostname, url.port))
    sock.sendall(request)
    got = b""
    while len(got) < read:
        chunk = sock.recv(read - len(got))
        if not chunk:
            break
        got += chunk
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    assert read == 0 or got.startswith(b"HTTP/1.1 200"), got[:200]


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def bulk_download_path(origin: str, token: str) -> str:
    """A completed Bulk Read job of every Lead: the download path of its first (big) page."""
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    job = requests.post(f"{origin}/crm/bulk/v8/read", headers=headers, timeout=60, json={
        "query": {"module": {"api_name": "Leads"}}}).json()["data"][0]["details"]["id"]
    for _ in range(600):
        result = requests.get(f"{origin}/crm/bulk/v8/read/{job}", headers=headers, timeout=60).json()["data"][0]
        if result["state"] == "COMPLETED":
            return str(urlsplit(result["result"]["download_url"]).path)
        time.sleep(0.1)
    raise AssertionError(f"bulk job {job} did not complete: {result}")


def test_clients_that_leave_mid_answer_leave_no_traceback(running):
    proc = start("--records", "100", "--size", f"Leads={LEFT_LEADS}")
    running.append(proc)
    info = ready_line(proc)
    origin = info["api_domain"]
    token = requests.post(f"{origin}/oauth/v2/token", timeout=60, data={
        "grant_type": "refresh_token", "client_id": info["client_id"], "client_secret": info["client_secret"],
        "refresh_token": info["refresh_token"]}).json()["access_token"]
    auth = f"Authorization: Zoho-oauthtoken {token}\r\n"
    download = bulk_download_path(origin, token)
    for reset in (True, False):
        raw_request(origin, get("/__emulator/export/Leads"), read=2048, reset=reset)
        raw_request(origin, get("/__emulator/export/Leads?format=jsonl"), read=0, reset=reset)
        raw_request(origin, get(download, auth), read=2048, reset=reset)
        # a request whose body never arrives in full, then the client leaves
        raw_request(origin, b"POST /crm/v8/Leads HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"data\"",
                    read=0, reset=reset)
        # half a request line
        raw_request(origin, b"GET /crm/v8/Le", read=0, reset=reset)
    # requests' own streaming client, closed after the first chunk of a big page
    with requests.get(f"{origin}/__emulator/export/Leads", stream=True, timeout=60) as r:
        next(r.iter_content(4096))
    # the server is fine afterwards, and answers in full
    assert len(requests.get(f"{origin}/__emulator/export/Accounts", timeout=60).json()["data"]) > 0
    stats = requests.get(f"{origin}/__emulator/stats", timeout=60).json()
    assert stats["module_sizes"]["Leads"] == LEFT_LEADS
    code, out, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert out == ""
    assert "Traceback" not in err and "Exception" not in err and "Error" not in err, err
    assert json.dumps(info)  # the announced line was all stdout held


def test_a_stop_while_a_left_request_is_still_being_answered_prints_nothing(running):
    # The export a client walked away from is still being built when the emulator is told to stop:
    # the stop lets it finish before the store closes, instead of pulling the store from under it
    # (which printed DuckDB's "Connection already closed" with a traceback).
    proc = start("--records", "100", "--size", f"Leads={LEADS}")
    running.append(proc)
    origin = ready_line(proc)["api_domain"]
    for _ in range(3):
        raw_request(origin, get("/__emulator/export/Leads"), read=0, reset=True)
    code, out, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err, err


def test_a_body_cut_short_by_a_client_that_left_is_not_acted_on(make_emulator):
    """A client killed mid-upload leaves half a multipart body: nothing of it lands (a server acts only on
    a whole request), where a cut part used to be stored as an attachment of the wrong bytes."""
    emu = make_emulator(records=20, seed=3)
    client = ZohoClient(emu)
    lead = client.export("Leads")[0]["id"]
    before = len(client.export("Attachments"))
    boundary = "cutcutcut"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contract.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    whole = part + b"%PDF-1.4 the rest never arrives" * 100 + f"\r\n--{boundary}--\r\n".encode()
    for cut in (len(part), len(part) + 40):  # right after the part's headers; inside its bytes
        head = (f"POST /crm/v8/Leads/{lead}/Attachments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Zoho-oauthtoken {client.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(whole)}\r\n\r\n")
        raw_request(emu.origin, head.encode() + whole[:cut], read=0, reset=False)
    time.sleep(0.5)  # the server has read to the end of what came
    assert len(client.export("Attachments")) == before
    assert emu.stats()["calls"].get("upload_attachment", 0) == 0  # not dispatched at all
    # a whole upload on the same server still lands
    r = client.post(f"/Leads/{lead}/Attachments", files={"file": ("contract.pdf", b"%PDF-1.4 whole")})
    assert r.status_code == 200, r.text
    assert len(client.export("Attachments")) == before + 1


def test_a_stop_ends_idle_keep_alive_connections_and_their_threads(make_emulator):
    """A client that keeps its connections open (requests' pool does) leaves a server thread waiting for its next
    request. A stop ends those connections and waits for their threads, each closing its store cursor as it ends:
    a thread left to end during the interpreter's exit would drop its DuckDB cursor past the point where that may
    take the GIL, and abort the process ("FATAL: exception not rethrown")."""
    emu = make_emulator(records=50)
    httpd = emu.server.httpd
    client = requests.Session()  # never closed here: its connection stays open, idle
    assert client.get(f"{emu.origin}/crm/v8/org", timeout=30).status_code == 401  # no token: the store was not used
    client.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30).raise_for_status()
    serving = httpd.connection_threads()
    assert serving and all(t.is_alive() for t in serving), "the idle keep-alive connection has a thread"
    emu.stop()
    assert not [t for t in serving if t.is_alive()], "a connection thread outlived the stop"
    assert not httpd.connection_threads()
