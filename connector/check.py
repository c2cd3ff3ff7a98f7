"""The read proof (``zohocrm check``): org, modules, one record — bodies checked, not just statuses.

Zoho can answer 200 with an error body, or 204 with nothing; a connection is
proven only when each answer has the content it must have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.api import metadata, records
from connector.config.regions import region_for_host
from connector.errors import ConnectorError
from connector.session import ZohoSession


@dataclass
class CheckReport:
    ok: bool = False
    reason: str = ""
    steps: list[tuple[str, bool, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append((name, ok, detail))
        if not ok and not self.reason:
            self.reason = f"{name}: {detail}"
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "facts": self.facts,
                "steps": [{"step": n, "ok": o, "detail": d} for n, o, d in self.steps]}

    def render(self) -> str:
        lines = [f"{'ok ' if o else 'FAIL'} {n}: {d}" for n, o, d in self.steps]
        width = max((len(k) for k in self.facts), default=0)
        lines += [f"  {k.ljust(width)}  {v}" for k, v in self.facts.items()]
        lines.append("connection OK" if self.ok else f"connection FAILED: {self.reason}")
        return "\n".join(lines)


def run_check(session: ZohoSession, *, sample_module: str | None = None) -> CheckReport:
    rep = CheckReport()
    cfg = session.config
    try:
        org = metadata.get_org(session.http)
    except (ConnectorError, ValueError) as exc:  # ValueError: a 200 answer without an org in it
        rep.step("org", False, str(exc))
        return rep
    if not rep.step("org", bool(org.get("id")), f"{org.get('company_name')} (id {org.get('id')})"
                    if org.get("id") else "GET /org answered without an org id"):
        return rep
    api_domain = session.http.api_domain
    region = region_for_host(api_domain)
    location = getattr(session.tokens, "location", None)
    rep.facts.update({
        "data center": (region.code if region else cfg.region) + (f" (token location {location})"
                                                                   if location else ""),
        "edition": (org.get("license_details") or {}).get("paid_type", "unknown"),
        "org type": org.get("type", "unknown"),
        "api domain": api_domain,
        "scopes granted": " ".join(session.tokens.scopes) or "(not reported)",
    })
    try:
        mods = session.catalog.modules()
    except (ConnectorError, ValueError) as exc:
        rep.step("modules", False, str(exc))
        return rep
    if not rep.step("modules", bool(mods), f"{len(mods)} modules visible" if mods else "no module is visible"):
        return rep
    rep.facts["modules visible"] = ", ".join(sorted(mods))
    module = sample_module or next((m for m in ("Leads", "Contacts", "Accounts") if m in mods), next(iter(mods)))
    try:
        ts = session.catalog.table(module)
        fields = ts.fields_for(None)[:5]
        page = records.list_page(session.http, module, fields, per_page=1)
    except (ConnectorError, ValueError, KeyError, AttributeError) as exc:  # a body without the shape it must have
        rep.step(f"one {module} record", False, str(exc))
        return rep
    if page.status == 204:
        rep.step(f"one {module} record", True, "the module is empty (HTTP 204), reading works")
    else:
        good = bool(page.records) and bool(page.records[0].get("id"))
        if not rep.step(f"one {module} record", good, f"record {page.records[0]['id']}" if good
                        else "the answer had no record id"):
            return rep
    meter = session.http.meter.snapshot()
    rep.facts["credits used by this check"] = meter["credits"]
    rep.facts["credits left"] = meter["remaining"] if meter["remaining"] is not None else \
        "not reported (Zoho sends X-API-CREDITS-REMAINING once half the daily credits are used)"
    rep.ok = True
    return rep
