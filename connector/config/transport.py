"""How a connection's properties shape a ``requests`` session: proxies, TLS trust, timeouts.

Both the OAuth layer (token endpoint) and the HTTP client (CRM calls) build
their sessions through :func:`configure_session`, so a proxy or a pinned
certificate applies to every request the connector makes.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import warnings
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from connector.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from connector.config.config import ConnectionConfig


def timeouts(config: ConnectionConfig) -> tuple[float, float] | None:
    """(connect, read) seconds; Timeout=0 disables the client-side timeout."""
    if not config.timeout:
        return None
    return (min(15.0, float(config.timeout)), float(config.timeout))


def proxies(config: ConnectionConfig) -> dict[str, str]:
    """Proxy URLs for requests, from the Proxy* and Firewall* properties."""
    if config.firewall_type in ("SOCKS4", "SOCKS5"):
        try:
            import socks  # noqa: F401  (PySocks, requests' socks extra)
        except ImportError:
            raise ConfigError(
                f"FirewallType={config.firewall_type} needs SOCKS support",
                hint="pip install 'zohocrm-connector[socks]'") from None
        if not config.firewall_server:
            raise ConfigError("FirewallType is SOCKS but FirewallServer is empty")
        scheme = "socks5h" if config.firewall_type == "SOCKS5" else "socks4a"
        url = f"{scheme}://{_userinfo(config.firewall_user, config.firewall_password)}" \
              f"{config.firewall_server}:{config.firewall_port or 1080}"
        return {"http": url, "https": url}
    if config.firewall_type == "TUNNEL":
        if not config.firewall_server:
            raise ConfigError("FirewallType=TUNNEL needs FirewallServer")
        url = f"http://{_userinfo(config.firewall_user, config.firewall_password)}" \
              f"{config.firewall_server}:{config.firewall_port or 80}"
        return {"http": url, "https": url}
    if config.proxy_server:
        # requests speaks only Basic to proxies; sending Basic to a Digest/NTLM proxy would just
        # fail with 407 after handing it the password in the clear, so refuse up front.
        if config.proxy_auth_scheme in ("NTLM", "NEGOTIATE") or (
                config.proxy_auth_scheme == "DIGEST" and config.proxy_user):
            raise ConfigError(
                f"ProxyAuthScheme={config.proxy_auth_scheme} is not supported",
                hint="use BASIC, or run a local authenticating proxy (e.g. cntlm) and point ProxyServer at it")
        user = config.proxy_user if config.proxy_auth_scheme == "BASIC" else None
        password = config.proxy_password if config.proxy_auth_scheme == "BASIC" else None
        server = config.proxy_server
        if "://" not in server:
            server = "http://" + server
        scheme, _, host = server.partition("://")
        url = f"{scheme}://{_userinfo(user, password)}{host}:{config.proxy_port}"
        return {"http": url, "https": url}
    return {}


def _userinfo(user: str | None, password: object | None) -> str:
    if not user:
        return ""
    secret = password.reveal() if hasattr(password, "reveal") else (password or "")
    return f"{quote(user, safe='')}:{quote(str(secret), safe='')}@" if secret else f"{quote(user, safe='')}@"


# PEM text given inline is written once per distinct certificate (not once per session) and
# removed at exit; requests wants a path.
_pem_files: dict[str, str] = {}


def verify_setting(config: ConnectionConfig) -> bool | str:
    """requests' ``verify``: True (system trust), a CA bundle path, or False for SSLServerCert=*."""
    cert = (config.ssl_server_cert or "").strip()
    if not cert:
        return True
    if cert == "*":
        warnings.warn("SSLServerCert=* accepts any server certificate; use it only for testing",
                      stacklevel=2)
        return False
    if "-----BEGIN CERTIFICATE-----" in cert:
        cached = _pem_files.get(cert)
        if cached and os.path.exists(cached):
            return cached
        fd, path = tempfile.mkstemp(prefix="zohocrm-cert-", suffix=".pem")
        with os.fdopen(fd, "w") as fh:
            fh.write(cert if cert.endswith("\n") else cert + "\n")
        _pem_files[cert] = path
        return path
    if not os.path.exists(cert):
        raise ConfigError(f"SSLServerCert file not found: {cert}",
                          hint="give a PEM file path, PEM text, or * (testing only)")
    return cert


@atexit.register
def remove_certificate_files() -> None:
    """The temporary PEM files made for ``SSLServerCert`` given as text: removed at exit, and by a process
    that leaves without running its exit handlers (:func:`connector.cli.migrate_cmd.leave`)."""
    for p in _pem_files.values():
        try:
            os.unlink(p)
        except OSError:
            pass


def configure_session(session: requests.Session, config: ConnectionConfig) -> requests.Session:
    """Apply proxies, TLS trust and environment-proxy detection to a session."""
    session.trust_env = bool(config.proxy_auto_detect)
    prox = proxies(config)
    if prox:
        session.proxies.update(prox)
    session.verify = verify_setting(config)
    session.headers["User-Agent"] = "zohocrm-connector/0.1 (+python-requests)"  # replaces requests' own
    return session


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


def _reason(exc: BaseException) -> BaseException | None:
    """urllib3's own reason inside a requests error (MaxRetryError.reason), when there is one."""
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", None) if inner is not None else None


#: how :func:`describe_unreachable` begins when nothing listens at a local address (a broker or emulator not
#: started, a wrong port): no backoff makes it listen, so callers say it at once instead of retrying
NOTHING_LISTENING = "nothing is listening at"


def certificate_rejected(exc: BaseException) -> bool:
    """Whether the connection failed because the server's TLS certificate did not verify.

    No backoff makes an untrusted or mismatched certificate trusted: the caller says so at once (and what
    to give, SSLServerCert) instead of retrying. Other TLS failures (a handshake cut off) may pass and are
    retried like any dropped connection.
    """
    import ssl

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
            return True
        todo.extend([e.__cause__, e.__context__, _reason(e), *(a for a in e.args if isinstance(a, BaseException))])
    return False


def describe_unreachable(exc: BaseException, url: str, config: ConnectionConfig | None = None) -> tuple[str, str]:
    """What went wrong when ``url`` gave no HTTP answer at all, and what to do: ``(message, hint)``.

    Each cause gets its own words: nothing listening on this machine is not an outage at Zoho,
    a name that does not resolve is not a refused connection.
    """
    import requests
    import urllib3

    origin = _origin(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = _reason(exc)
    uses_proxy = bool(config and (config.proxy_server or config.firewall_type != "NONE" or config.proxy_auto_detect))
    seconds = f" within {config.timeout} s" if config and config.timeout else ""
    if isinstance(exc, requests.exceptions.ProxyError):
        return (f"the proxy did not pass the request on to {origin}",
                "check ProxyServer, ProxyPort, ProxyUser and ProxyPassword (or the Firewall* settings)")
    if isinstance(exc, requests.exceptions.SSLError):
        return (f"the TLS certificate of {origin} could not be verified",
                "if a proxy or gateway re-signs traffic, give its CA with SSLServerCert")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return (f"{origin} did not accept a connection{seconds}",
                "check the network, the firewall and the proxy settings, or raise Timeout")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return (f"{origin} accepted the connection but sent no answer{seconds}",
                "Zoho may be slow or overloaded: try again later, or raise Timeout")
    if isinstance(reason, urllib3.exceptions.NameResolutionError) and not uses_proxy:
        return (f"the host name {parts.hostname} could not be resolved",
                "check the network and DNS, and the spelling of the server (Region, AccountsServer, APIServer)")
    refused = "refused" in str(reason or exc).lower() or "errno 111" in str(reason or exc).lower()
    if refused and not uses_proxy:
        from connector.config.regions import is_loopback

        if is_loopback(url) and config is not None and config.broker:
            return (f"{NOTHING_LISTENING} {origin}",
                    "is `zohocrm broker serve` running there? Start it, or correct Broker")
        if is_loopback(url):
            return (f"{NOTHING_LISTENING} {origin}",
                    f"is `zohocrm emulator --port {port}` (or the local server you meant) running? "
                    "Start it, or correct AccountsServer/APIServer")
        return (f"{origin} refused the connection (nothing listens on port {port} there)",
                "check AccountsServer/APIServer and the port, and that a firewall does not block it")
    return (f"the connection to {origin} failed before an answer came ({type(exc).__name__})",
            "check the network and the proxy settings; if it persists, Zoho may be unreachable: try again later")
