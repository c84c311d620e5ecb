"""Creating a planned partner with its 24/7 watch line and its (made-up) contacts."""

import random
import re

from coordination.demo.partners import PartnerPlan
from coordination.demo.reference import Reference
from partners.choices import PartnerKind, PartnerLevel
from partners.services import create_contact, create_partner

FIRST_NAMES = (
    "Alex", "Avery", "Blake", "Cameron", "Casey", "Dana", "Devon", "Drew", "Elliot", "Emerson",
    "Finley", "Gray", "Harper", "Hayden", "Jamie", "Jordan", "Kendall", "Lane", "Logan", "Morgan",
    "Parker", "Peyton", "Quinn", "Reese", "Riley", "Rowan", "Sage", "Sawyer", "Skyler", "Taylor",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Barrett", "Bishop", "Caldwell", "Castillo", "Chen", "Dalton", "Delgado", "Ellison",
    "Fairbanks", "Fletcher", "Garrison", "Haddad", "Hale", "Holloway", "Ingram", "Jennings",
    "Keller", "Kowalski", "Lambert", "Mercer", "Nash", "Navarro", "Nguyen", "Oakley", "Okafor",
    "Park", "Pruitt", "Quintero", "Ramsey", "Rivera", "Singh", "Sutton", "Thornton", "Tran",
    "Underwood", "Vance", "Whitaker", "Yates", "Zamora",
)  # fmt: skip

# Kind -> (title of the primary contact, other titles, title of the 24x7 contact, watch mailbox)
CONTACT_ROLES = {
    PartnerKind.GOVERNORS_OFFICE: (
        "Deputy Chief of Staff",
        ("Director of Intergovernmental Affairs", "Senior Advisor for Public Safety"),
        "State Watch Officer",
        "ops",
    ),
    PartnerKind.HOMELAND_SECURITY_ADVISOR: (
        "Homeland Security Advisor",
        ("Deputy Homeland Security Advisor", "Chief of Staff"),
        "Duty Officer",
        "hsa.watch",
    ),
    PartnerKind.LAW_ENFORCEMENT: (
        "Deputy Chief, Homeland Security Bureau",
        ("Intelligence Unit Commander", "Public Information Officer"),
        "Watch Commander",
        "watch",
    ),
    PartnerKind.CRITICAL_INFRASTRUCTURE: (
        "Chief Security Officer",
        ("Director of Emergency Preparedness", "Business Continuity Manager"),
        "Security Operations Center Shift Lead",
        "soc",
    ),
    PartnerKind.FUSION_CENTER: (
        "Fusion Center Director",
        ("Deputy Director", "Intelligence Analyst Supervisor"),
        "Watch Officer",
        "watch",
    ),
    PartnerKind.URBAN_AREA_OFFICE: (
        "Urban Area Program Manager",
        ("Regional Preparedness Coordinator", "Planning Lead"),
        "Duty Officer",
        "duty",
    ),
    PartnerKind.FEDERAL_AGENCY: (
        "Operations Chief",
        ("Liaison Officer", "Regional Watch Manager"),
        "Watch Officer",
        "watch",
    ),
    PartnerKind.EMERGENCY_MANAGEMENT: (
        "Director",
        ("Operations Section Chief", "Planning Section Chief"),
        "EOC Duty Officer",
        "eoc",
    ),
    PartnerKind.OTHER: (
        "Executive Director",
        ("Disaster Program Manager", "Liaison"),
        "On-call Coordinator",
        "duty",
    ),
}
STOP_WORDS = {"of", "the", "and", "for", "a"}


def _domain(plan: PartnerPlan) -> str:
    """A made-up email domain under a reserved example domain, e.g. boise-police-department.id."""
    name = plan.name.lower().replace("'", "")
    words = [w for w in re.findall(r"[a-z0-9]+", name) if w not in STOP_WORDS]
    label = "-".join(words[:4])
    if plan.state is not None:
        label += f".{plan.state.code.lower()}"
    parent = "example.com" if plan.level == PartnerLevel.PRIVATE else "example.org"
    return f"{label}.{parent}"


def _phone(rng: random.Random, area_code: str, extension: bool = False) -> str:
    """A fictitious number: 555-0100 to 555-0199 are reserved for fiction in every area code."""
    number = f"+1 {area_code} 555 01{rng.randrange(100):02d}"
    return f"{number} ext {rng.randint(10, 499)}" if extension else number


def _person(rng: random.Random, domain: str) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first} {last}", f"{first}.{last}@{domain}".lower()


def create_demo_partner(rng: random.Random, plan: PartnerPlan, reference: Reference, actor):
    """Create the partner of ``plan`` with a 24/7 watch line and one to three contacts."""
    primary_title, other_titles, watch_title, mailbox = CONTACT_ROLES[plan.kind]
    domain = _domain(plan)
    watch_phone = _phone(rng, plan.area_code)
    partner = create_partner(
        actor=actor,
        name=plan.name,
        kind=plan.kind,
        level=plan.level,
        state=plan.state,
        urban_area=plan.urban_area,
        sectors=[reference.sectors[key] for key in plan.sector_keys],
        watch_phone=watch_phone,
        watch_email=f"{mailbox}@{domain}",
        active=plan.active,
        reason="Demo data: partner directory",
    )
    count = rng.choice((1, 2, 2, 3))
    titles = [primary_title, *rng.sample(other_titles, count - 1)]
    if count > 1 and rng.random() < 0.6:
        titles[-1] = watch_title
    for position, title in enumerate(titles):
        name, email = _person(rng, domain)
        on_watch = title == watch_title
        create_contact(
            actor=actor,
            partner=partner,
            name=name,
            title=title,
            email=email,
            phone=watch_phone if on_watch else _phone(rng, plan.area_code, extension=True),
            is_primary=position == 0,
            is_24x7=on_watch or (position == 0 and rng.random() < 0.2),
            reason="Demo data: partner directory",
        )
    return partner, len(titles)
