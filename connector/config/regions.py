"""Zoho data centers (regions): hosts per region and environment, and lookups.

A Zoho account lives in exactly one data center, and the accounts server, the
API host and the upload host must all belong to it; the wrong one is the most
common *silent* failure (Zoho answers ``invalid_client`` rather than "wrong
region"). This table is the one place that knows the hosts, so the auth layer
can say "your token came from EU, set Region=EU" via :func:`region_for_host`.

Source: ``shared/zoho-api/oauth-and-regions.md`` sections 1 and 2. CA is the odd
one: its accounts server is on ``zohocloud.ca`` while its API is ``zohoapis.ca``.
UK and AE appear in Zoho Accounts' multi-DC list but not in the CRM docs, so
their CRM hosts are unconfirmed (``Region.confirmed`` is False).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

InstanceTypeName = Literal["Production", "Sandbox", "Developer"]

INSTANCE_TYPES: tuple[InstanceTypeName, ...] = ("Production", "Sandbox", "Developer")

# Loome and the CData-style drivers call the developer edition "Development".
INSTANCE_TYPE_SYNONYMS: dict[str, InstanceTypeName] = {"Development": "Developer"}

# The environment picks the first label of the API host; the rest is the region's.
_API_HOST_PREFIX: dict[str, str] = {"Production": "www", "Sandbox": "sandbox", "Developer": "developer"}


@dataclass(frozen=True)
class Region:
    """One Zoho data center and every host a client needs in it."""

    code: str
    """Upper-case code used in connection strings (``Region=EU``)."""
    name: str
    """Long name; accepted as a synonym (``Region=Europe``)."""
    web_domain: str
    """Domain of the web app and accounts server: ``zoho.eu``, ``zohocloud.ca``."""
    api_tld: str
    """Suffix after ``zohoapis.``: ``eu``, ``com.au``, ``ca``."""
    content_server: str
    """Upload host for bulk write (``/crm/v8/upload``); the same for every environment."""
    location: str
    """The ``location`` value Zoho's OAuth redirect carries for this data center."""
    confirmed: bool = True
    note: str = ""
    synonyms: tuple[str, ...] = ()
    legacy_web_domains: tuple[str, ...] = ()
    """Domains other tools' docs print for this region that are not the real one."""

    def __str__(self) -> str:
        return self.code

    @property
    def domain(self) -> str:
        """The short ``Domain=`` form: ``com``, ``eu``, ``com.au``, ``zohocloud.ca``."""
        return self.web_domain.removeprefix("zoho.")

    @property
    def accounts_server(self) -> str:
        return f"https://accounts.{self.web_domain}"

    def api_domain(self, instance_type: str = "Production") -> str:
        """The CRM API origin for an environment (Production, Sandbox or Developer)."""
        canonical = canonical_instance_type(instance_type)
        if canonical is None:
            raise ValueError(f"unknown instance type {instance_type!r}; expected one of {INSTANCE_TYPES}")
        return f"https://{_API_HOST_PREFIX[canonical]}.zohoapis.{self.api_tld}"

    @property
    def api_domains(self) -> dict[str, str]:
        """Instance type -> API origin, for every environment."""
        return {kind: self.api_domain(kind) for kind in INSTANCE_TYPES}

    def domain_forms(self) -> frozenset[str]:
        """Every spelling of this region a user may put in ``Domain=`` (lower case)."""
        forms = {self.domain, self.api_tld, self.web_domain, f"zohoapis.{self.api_tld}"}
        for web in (self.web_domain, *self.legacy_web_domains):
            forms.update({web, f"crm.{web}", f"accounts.{web}"})
        forms.update(_host(url) for url in (*self.api_domains.values(), self.content_server))
        forms.add(f"content.zohoapis.{self.api_tld}")
        return frozenset(forms)

    def host_suffixes(self) -> tuple[str, ...]:
        """Registered domains whose hosts all belong to this region."""
        return (self.web_domain, *self.legacy_web_domains, f"zohoapis.{self.api_tld}", _host(self.content_server))


REGIONS: dict[str, Region] = {
    region.code: region
    for region in (
        Region("US", "United States", "zoho.com", "com", "https://content.zohoapis.com", "us",
               synonyms=("USA", "United States of America")),
        Region("EU", "Europe", "zoho.eu", "eu", "https://content.zohoapis.eu", "eu"),
        Region("IN", "India", "zoho.in", "in", "https://content.zohoapis.in", "in"),
        Region("AU", "Australia", "zoho.com.au", "com.au", "https://content.zohoapis.com.au", "au"),
        Region("JP", "Japan", "zoho.jp", "jp", "https://content.zohoapis.jp", "jp"),
        Region("CN", "China", "zoho.com.cn", "com.cn", "https://content.zohoapis.com.cn", "cn"),
        Region("CA", "Canada", "zohocloud.ca", "ca", "https://upload.zohocloud.ca", "ca",
               note="accounts server is on zohocloud.ca, API on zohoapis.ca; upload host from the SDK only",
               legacy_web_domains=("zoho.ca",)),
        Region("SA", "Saudi Arabia", "zoho.sa", "sa", "https://files.zoho.sa", "sa",
               note="upload host from the SDK only", synonyms=("KSA",)),
        Region("UK", "United Kingdom", "zoho.uk", "uk", "https://content.zohoapis.uk", "uk", confirmed=False,
               note="in Zoho Accounts' multi-DC list but not in the CRM docs; CRM hosts unconfirmed"),
        Region("AE", "United Arab Emirates", "zoho.ae", "ae", "https://content.zohoapis.ae", "ae",
               confirmed=False, note="zohoapis.ae exists for other Zoho products; not documented for CRM",
               synonyms=("UAE",)),
    )
}

DEFAULT_REGION = REGIONS["US"]


def canonical_instance_type(text: str) -> InstanceTypeName | None:
    """``production`` -> ``Production``, ``Development`` -> ``Developer``; None if unknown."""
    folded = text.strip().casefold()
    for kind in INSTANCE_TYPES:
        if kind.casefold() == folded:
            return kind
    for synonym, kind in INSTANCE_TYPE_SYNONYMS.items():
        if synonym.casefold() == folded:
            return kind
    return None


def _host(url_or_host: str) -> str:
    """The lower-case host name of a URL or bare host, without port or trailing dot."""
    text = url_or_host.strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError:  # e.g. an unbalanced '[' in an IPv6 literal
            return ""
    else:
        host = text.split("/", 1)[0].rsplit("@", 1)[-1]
        if not host.startswith("["):
            host = host.split(":", 1)[0]
    return host.strip().strip(".").lower()


def _build_name_index() -> dict[str, Region]:
    index: dict[str, Region] = {}
    for region in REGIONS.values():
        for spelling in (region.code, region.name, region.location, *region.synonyms):
            index[spelling.casefold()] = region
    return index


def _build_domain_index() -> dict[str, Region]:
    index: dict[str, Region] = {}
    for region in REGIONS.values():
        for form in region.domain_forms():
            index[form] = region
    return index


_BY_NAME = _build_name_index()
_BY_DOMAIN = _build_domain_index()
# Longest suffix first, so "zoho.com.au" wins over "zoho.com" when both could apply.
_SUFFIXES: tuple[tuple[str, Region], ...] = tuple(
    sorted(
        ((suffix, region) for region in REGIONS.values() for suffix in region.host_suffixes()),
        key=lambda pair: -len(pair[0]),
    )
)


def region_by_name(text: str) -> Region | None:
    """Region for a code or long name (``EU``, ``europe``, ``United Kingdom``); None if unknown."""
    return _BY_NAME.get(text.strip().casefold())


def region_for_domain(text: str) -> Region | None:
    """Region for a ``Domain=`` value: ``eu``, ``com.au``, ``crm.zoho.eu``, ``https://www.zohoapis.eu/``.

    A bare code or long name (``Domain=UK``) is accepted too, since users mix them up.
    """
    host = _host(text).lstrip(".")
    return _BY_DOMAIN.get(host) or region_by_name(text)


def region_for_host(url_or_host: str) -> Region | None:
    """Region that owns a Zoho host or URL; None for a host that is not Zoho's (the emulator).

    ``region_for_host("https://accounts.zohocloud.ca")`` is CA; used to detect a
    token or override that belongs to another data center than ``Region``.
    """
    host = _host(url_or_host)
    if not host:
        return None
    exact = _BY_DOMAIN.get(host)
    if exact is not None and "." in host:
        return exact
    for suffix, region in _SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return region
    return None


def region_for_location(location: str) -> Region | None:
    """Region for the ``location`` parameter of Zoho's OAuth redirect (``us``, ``eu``...)."""
    folded = location.strip().casefold()
    for region in REGIONS.values():
        if region.location == folded:
            return region
    return None


def is_loopback(url_or_host: str) -> bool:
    """Whether a URL or host name stays on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = _host(url_or_host).strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
