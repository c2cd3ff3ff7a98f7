"""Which modules an emulated org has: ``enterprise`` (the default) or ``classic``.

``classic`` is the ten-module org the emulator served before issue 13 (Accounts, Contacts,
Leads, Deals, Tasks and the Projects custom module with its subform and linking
modules), kept for tests and benchmarks that want exactly those. ``enterprise``
is a standard Enterprise org: the classic modules (with the fields a full org adds,
such as ``Tag``) plus Notes, Attachments, activities, inventory, Campaigns, Cases,
Solutions. The same seed generates the same classic data in both.

Module definitions are global (:mod:`..schema` looks them up by name for joins and
subforms); an :class:`OrgSchema` is what one org *shows*: the handlers resolve request
module names through ``app.org`` so a classic org answers ``INVALID_MODULE`` for Notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .types import ModuleDef

ORG_KINDS = ("classic", "enterprise")


@dataclass(frozen=True, eq=False)  # one instance per kind: hashed by identity (the caches key on it)
class OrgSchema:
    kind: str
    modules: tuple[ModuleDef, ...]

    @cached_property
    def by_name(self) -> dict[str, ModuleDef]:
        """Every table of the org by name, relation tables included (the admin export reads them)."""
        return {m.api_name: m for m in self.modules}

    @cached_property
    def listed(self) -> tuple[ModuleDef, ...]:
        """The modules ``/settings/modules`` lists."""
        return tuple(m for m in self.modules if m.listed)

    def module(self, api_name: str) -> ModuleDef | None:
        """The org's module of that exact api name (a near miss is INVALID_MODULE, as in Zoho)."""
        m = self.by_name.get(api_name)
        return m if m is not None and m.listed else None

    def has(self, api_name: str) -> bool:
        return api_name in self.by_name
