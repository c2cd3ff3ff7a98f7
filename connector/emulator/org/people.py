"""The org itself and who works in it: users, roles, profiles, layouts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserDef:
    id: int
    first_name: str
    last_name: str
    email: str
    role: str
    profile: str
    status: str = "active"
    zuid: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


USERS: tuple[UserDef, ...] = (
    UserDef(5843104000000424672, "Jane", "Admin", "jane.admin@acme.example", "CEO", "Administrator",
            zuid=665000101),
    UserDef(5843104000000424673, "Zo\u00eb", "\u00c5ngstr\u00f6m", "zoe.angstrom@acme.example", "Manager",
            "Standard", zuid=665000102),
    UserDef(5843104000000424674, "Rahul", "Sharma", "rahul.sharma@acme.example", "Manager", "Standard",
            zuid=665000103),
    UserDef(5843104000000424675, "Mar\u00eda Jos\u00e9", "O'Neil", "mj.oneil@acme.example", "Sales Rep",
            "Standard", zuid=665000104),
    UserDef(5843104000000424676, "\u674e", "\u96f7", "li.lei@acme.example", "Sales Rep", "Standard",
            zuid=665000105),
    UserDef(5843104000000424677, "Olu", "Adeyemi", "olu.adeyemi@acme.example", "Sales Rep", "Standard",
            zuid=665000106),
    UserDef(5843104000000424678, "Sam", "Retired", "sam.retired@acme.example", "Sales Rep", "Standard",
            status="disabled", zuid=665000107),
)
USERS_BY_ID = {u.id: u for u in USERS}
ADMIN_USER = USERS[0]
ACTIVE_USERS = tuple(u for u in USERS if u.status == "active")

LAYOUTS: dict[int, str] = {
    5843104000000091055: "Standard",
    5843104000000091057: "Partner Intake",
}
DEFAULT_LAYOUT_ID = 5843104000000091055

ROLES = {"CEO": 5843104000000026005, "Manager": 5843104000000026007, "Sales Rep": 5843104000000026009}
PROFILES = {"Administrator": 5843104000000026011, "Standard": 5843104000000026014}


@dataclass(frozen=True)
class OrgDef:
    id: int = 665000001
    zgid: int = 665000777
    company_name: str = "Acme Widgets GmbH & Co. KG"
    primary_email: str = "jane.admin@acme.example"
    time_zone: str = "Asia/Kolkata"
    iso_code: str = "USD"
    edition: str = "enterprise"
    users_licensed: int = 10
    domain_name: str = field(default="org665000001")


ORG = OrgDef()
