"""The read proof (``zohocrm check``): token, org, data center, modules, one record.

Zoho can answer 200 with an error body, or 204 with nothing; a connection is proven only when
each answer has the content it must have. The data center is *proven*, never echoed from
``Region``: by the host that accepted the token, the ``api_domain`` of the token answer, the
accounts server that issued the token (its host, or what its own ``/oauth/serverinfo`` calls it)
and the ``location`` of the login redirect. When they name another data center than ``Region``,
the check fails and says which value to set; the org's type is held against ``InstanceType``
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.api import metadata, records
from connector.auth.datacenter import location_of_accounts_server
from connector.config.regions import region_for_host, region_for_location
from connector.errors import ConfigError, ConnectorError, FatalApiError
from connector.session import ZohoSession


@dataclass
class CheckReport:
    ok: bool = False
    reason: str = ""
    steps: list[tuple[str, bool, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    #: the error that failed the check, when one did (it decides the exit status)
    error: ConnectorError | None = None

    def step(self, name: str, ok: bool, detail: str, error: ConnectorError | None = None) -> bool:
        self.steps.append((name, ok, detail))
        if not ok and not self.reason:
            self.reason = f"{name}: {detail}"
            self.error = error
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "facts": self.facts,
                "steps": [{"step": n, "ok": o, "detail": d} for n, o, d in self.steps]}

    def render(self) -> str:
        """Steps, facts and a verdict; a failure's reason is on its FAIL line, and only there."""
        lines = [f"{'ok ' if o else 'FAIL'} {n}: {d}" for n, o, d in self.steps]
        width = max((len(k) for k in self.facts), default=0)
        lines += [f"  {k.ljust(width)}  {v}" for k, v in self.facts.items()]
        failed = next((n for n, o, _ in self.steps if not o), None)
        lines.append("connection OK" if self.ok else f"connection FAILED at step '{failed}'")
        return "\n".join(lines)


def run_check(session: ZohoSession, *, sample_module: str | None = None) -> CheckReport:
    rep = CheckReport()
    try:
        session.tokens.access_token()
    except ConnectorError as exc:
        rep.step("token", False, str(exc), exc)
        return rep
    scopes = session.tokens.scopes
    issued_by = getattr(session.tokens, "accounts_server", None)
    rep.step("token", True, f"issued by {issued_by}" if issued_by else "given in the connection string "
             "(OAuthAccessToken)")
    try:
        org = metadata.get_org(session.http)
    except ConnectorError as exc:
        rep.step("org", False, str(exc), exc)
        return rep
    except ValueError as exc:  # a 200 answer without an org in it
        rep.step("org", False, str(exc), FatalApiError(str(exc)))
        return rep
    if not rep.step("org", bool(org.get("id")), f"{org.get('company_name')} (id {org.get('id')})"
                    if org.get("id") else "GET /org answered without an org id",
                    None if org.get("id") else FatalApiError("GET /org answered without an org id")):
        return rep
    if not _prove_data_center(session, org, rep):
        return rep
    rep.facts.update({
        "edition": (org.get("license_details") or {}).get("paid_type", "unknown"),
        "org type": org.get("type", "unknown"),
        "api domain": session.http.api_domain,
        "scopes granted": " ".join(scopes) or "(not reported)",
    })
    try:
        mods = session.catalog.modules()
    except ConnectorError as exc:
        rep.step("modules", False, str(exc), exc)
        return rep
    except ValueError as exc:
        rep.step("modules", False, str(exc), FatalApiError(str(exc)))
        return rep
    if not rep.step("modules", bool(mods), f"{len(mods)} modules visible" if mods else "no module is visible",
                    None if mods else FatalApiError("no module is visible")):
        return rep
    rep.facts["modules visible"] = ", ".join(sorted(mods))
    module = sample_module or next((m for m in ("Leads", "Contacts", "Accounts") if m in mods), next(iter(mods)))
    name = f"one {module} record"
    try:
        ts = session.catalog.table(module)
        fields = ts.fields_for(None)[:5]
        page = records.list_page(session.http, module, fields, per_page=1)
    except ConnectorError as exc:
        rep.step(name, False, str(exc), exc)
        return rep
    except (ValueError, KeyError, AttributeError) as exc:  # a body without the shape it must have
        rep.step(name, False, str(exc), FatalApiError(f"the answer for {module} had an unexpected shape"))
        return rep
    if page.status == 204:
        rep.step(name, True, "the module is empty (HTTP 204), reading works")
    else:
        good = bool(page.records) and bool(page.records[0].get("id"))
        if not rep.step(name, good, f"record {page.records[0]['id']}" if good else "the answer had no record id",
                        None if good else FatalApiError("the answer had no record id")):
            return rep
    meter = session.http.meter.snapshot()
    rep.facts["credits used by this check"] = meter["credits"]
    rep.facts["credits left"] = meter["remaining"] if meter["remaining"] is not None else \
        "not reported (Zoho sends X-API-CREDITS-REMAINING once half the daily credits are used)"
    rep.ok = True
    return rep


def _evidence(session: ZohoSession) -> list[tuple[str, str]]:
    """(region code, how we know) from everything that answered, never from Region itself."""
    found: list[tuple[str, str]] = []
    answered = session.http.api_domain
    region = region_for_host(answered)
    if region is not None:
        found.append((region.code, f"the API host {answered} accepted the token"))
    token_domain = session.tokens.api_domain
    region = region_for_host(token_domain) if token_domain else None
    if region is not None and token_domain != answered:
        found.append((region.code, f"the token answer named api_domain {token_domain}"))
    issuer = getattr(session.tokens, "accounts_server", None)
    if issuer:
        region = region_for_host(issuer)
        if region is not None:
            found.append((region.code, f"the token was issued by {issuer}"))
        else:
            location = location_of_accounts_server(session.config, issuer)
            region = region_for_location(location) if location else None
            if region is not None:
                found.append((region.code, f"the accounts server {issuer} that issued the token calls itself "
                                           f"'{location}' in its /oauth/serverinfo"))
    location = getattr(session.tokens, "location", None)
    region = region_for_location(location) if location else None
    if region is not None:
        found.append((region.code, f"the login redirect said location={location}"))
    return found


def _prove_data_center(session: ZohoSession, org: dict[str, Any], rep: CheckReport) -> bool:
    cfg = session.config
    evidence = _evidence(session)
    codes = sorted({code for code, _ in evidence})
    why = "; ".join(f"{code}: {how}" for code, how in evidence)
    environment = str(org.get("type") or "").strip().lower()
    instance = cfg.instance_type.lower()
    if len(codes) > 1:
        return rep.step("data center", False, f"the servers of this connection are in different data centers "
                        f"({why}); tokens work only in their own", ConfigError("mixed data centers"))
    if codes and codes[0] != cfg.region:
        message = (f"Region={cfg.region}, but this connection is in the {codes[0]} data center ({why}); "
                   f"set Region={codes[0]}")
        return rep.step("data center", False, message, ConfigError(message))
    if environment in ("production", "sandbox", "developer") and environment != instance:
        message = (f"InstanceType={cfg.instance_type}, but the org is a {environment} org; "
                   f"set InstanceType={environment.capitalize()}")
        return rep.step("data center", False, message, ConfigError(message))
    if codes:
        rep.facts["data center"] = codes[0]
        return rep.step("data center", True, f"{codes[0]}, {instance} (proven: {why})")
    rep.facts["data center"] = f"not proven (Region={cfg.region} assumed)"
    return rep.step("data center", True, f"not proven: {session.http.api_domain} is not a Zoho host and the "
                    f"accounts server did not name its data center; Region={cfg.region} is assumed, "
                    f"{instance} per the org")
