"""Which TLS failures no retry mends: a certificate that does not verify, however the libraries wrap it."""

from __future__ import annotations

import ssl

import pytest
import requests
import urllib3

from connector.config.transport import certificate_rejected


def _wrapped(reason: BaseException) -> requests.exceptions.SSLError:
    """How requests hands over a TLS failure: its SSLError around urllib3's MaxRetryError and its reason."""
    inner = urllib3.exceptions.MaxRetryError(None, "/crm/v8/Leads", reason=urllib3.exceptions.SSLError(reason))
    return requests.exceptions.SSLError(inner)


def _chained(reason: BaseException) -> requests.exceptions.SSLError:
    try:
        try:
            raise reason
        except BaseException as exc:
            raise requests.exceptions.SSLError("TLS failed") from exc
    except requests.exceptions.SSLError as outer:
        return outer


@pytest.mark.parametrize(("exc", "rejected"), [
    (_wrapped(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")), True),
    (_chained(ssl.SSLCertVerificationError(1, "certificate verify failed: Hostname mismatch")), True),
    (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] unable to get local issuer certificate"), True),
    (_wrapped(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")), False),  # a handshake cut off
    (_chained(ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed")), False),
    (requests.exceptions.ConnectionError("Connection refused"), False),
    (requests.exceptions.ReadTimeout("read timed out"), False),
])
def test_certificate_rejected(exc: BaseException, rejected: bool) -> None:
    assert certificate_rejected(exc) is rejected
