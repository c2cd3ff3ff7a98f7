"""The data-center table: hosts per region and instance type, Domain forms, host lookup."""

from __future__ import annotations

import pytest

from connector.config import (
    INSTANCE_TYPES,
    REGIONS,
    parse_connection_string,
    region_by_name,
    region_for_domain,
    region_for_host,
    region_for_location,
)

# code -> (accounts server, production API, upload host), from oauth-and-regions.md section 1
EXPECTED_HOSTS: dict[str, tuple[str, str, str]] = {
    "US": ("https://accounts.zoho.com", "https://www.zohoapis.com", "https://content.zohoapis.com"),
    "EU": ("https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://content.zohoapis.eu"),
    "IN": ("https://accounts.zoho.in", "https://www.zohoapis.in", "https://content.zohoapis.in"),
    "AU": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://content.zohoapis.com.au"),
    "JP": ("https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://content.zohoapis.jp"),
    "CN": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://content.zohoapis.com.cn"),
    "CA": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://upload.zohocloud.ca"),
    "SA": ("https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://files.zoho.sa"),
    "UK": ("https://accounts.zoho.uk", "https://www.zohoapis.uk", "https://content.zohoapis.uk"),
    "AE": ("https://accounts.zoho.ae", "https://www.zohoapis.ae", "https://content.zohoapis.ae"),
}
PREFIX = {"Production": "www", "Sandbox": "sandbox", "Developer": "developer"}


def test_table_has_every_region() -> None:
    assert list(REGIONS) == list(EXPECTED_HOSTS)
    assert [code for code, r in REGIONS.items() if not r.confirmed] == ["UK", "AE"]


@pytest.mark.parametrize("code", list(EXPECTED_HOSTS))
@pytest.mark.parametrize("instance_type", INSTANCE_TYPES)
def test_hosts_per_region_and_instance_type(code: str, instance_type: str) -> None:
    accounts, production, upload = EXPECTED_HOSTS[code]
    api = production.replace("https://www.", f"https://{PREFIX[instance_type]}.")
    config = parse_connection_string(f"Region={code};InstanceType={instance_type}")
    assert config.accounts_server == accounts
    assert config.api_domain == api
    assert config.api_base == f"{api}/crm/v8"
    assert config.bulk_base == f"{api}/crm/bulk/v8"
    assert config.content_server == upload  # the SDK uses one upload host for every environment
    assert config.upload_url == f"{upload}/crm/v8/upload"
    assert REGIONS[code].api_domains[instance_type] == api
    assert REGIONS[code].location == code.lower()


def test_development_is_developer_for_hosts() -> None:
    assert REGIONS["EU"].api_domain("Development") == "https://developer.zohoapis.eu"
    with pytest.raises(ValueError):
        REGIONS["EU"].api_domain("Staging")


@pytest.mark.parametrize(
    ("text", "code"),
    [("United States", "US"), ("Europe", "EU"), ("India", "IN"), ("Australia", "AU"), ("Japan", "JP"),
     ("China", "CN"), ("Canada", "CA"), ("Saudi Arabia", "SA"), ("United Kingdom", "UK"), ("uae", "AE"),
     ("eu", "EU"), (" jp ", "JP"), ("USA", "US")],
)
def test_region_names(text: str, code: str) -> None:
    region = region_by_name(text)
    assert region is not None and region.code == code


DOMAIN_FORMS: list[tuple[str, str]] = [
    ("eu", "EU"), ("com", "US"), ("in", "IN"), ("com.au", "AU"), ("jp", "JP"), ("com.cn", "CN"),
    ("ca", "CA"), ("zohocloud.ca", "CA"), ("sa", "SA"), ("uk", "UK"), ("ae", "AE"),
    ("zoho.eu", "EU"), ("crm.zoho.eu", "EU"), ("accounts.zoho.eu", "EU"), ("www.zohoapis.eu", "EU"),
    ("https://www.zohoapis.eu/", "EU"), ("sandbox.zohoapis.com.au", "AU"), ("CRM.ZOHO.COM", "US"),
    ("crm.zohocloud.ca", "CA"), ("accounts.zohocloud.ca", "CA"), ("zoho.com.cn", "CN"), (".eu", "EU"),
    ("crm.zoho.in.", "IN"), ("Europe", "EU"), ("US", "US"),
]


@pytest.mark.parametrize(("form", "code"), DOMAIN_FORMS)
def test_domain_forms(form: str, code: str) -> None:
    region = region_for_domain(form)
    assert region is not None and region.code == code
    assert parse_connection_string({"Domain": form}).region == code


def test_domain_forms_do_not_collide() -> None:
    seen: dict[str, str] = {}
    for region in REGIONS.values():
        for form in region.domain_forms():
            assert seen.setdefault(form, region.code) == region.code, form


@pytest.mark.parametrize(
    ("url", "code"),
    [("https://accounts.zohocloud.ca", "CA"), ("https://www.zohoapis.ca", "CA"), ("https://accounts.zoho.ca", "CA"),
     ("https://accounts.zoho.com", "US"), ("https://www.zohoapis.com/crm/v8/Leads", "US"),
     ("https://accounts.zoho.com.au", "AU"), ("https://sandbox.zohoapis.com.au", "AU"),
     ("https://content.zohoapis.com.cn", "CN"), ("https://files.zoho.sa", "SA"), ("https://crm.zoho.eu", "EU"),
     ("https://developer.zohoapis.in:443/", "IN"), ("accounts.zoho.jp", "JP"), ("https://some.other.zoho.uk", "UK"),
     ("HTTPS://ACCOUNTS.ZOHO.EU", "EU")],
)
def test_region_for_host(url: str, code: str) -> None:
    region = region_for_host(url)
    assert region is not None and region.code == code


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:8765", "https://example.com", "https://notzoho.com",
            "https://evilzoho.eu", "eu", "", "http://[::1", "https://zoho.example.com"],
)
def test_region_for_host_is_none_for_other_hosts(url: str) -> None:
    assert region_for_host(url) is None


@pytest.mark.parametrize(("location", "code"), [(r.location, r.code) for r in REGIONS.values()])
def test_region_for_location(location: str, code: str) -> None:
    region = region_for_location(location.upper())
    assert region is not None and region.code == code
    assert region_for_location("mars") is None


def test_region_str_is_its_code() -> None:
    assert str(REGIONS["EU"]) == "EU"
    assert REGIONS["CA"].domain == "zohocloud.ca" and REGIONS["AU"].domain == "com.au"
