"""The people and organisations of a benchmark database, saved the normal way.

They are few (hundreds), so they are saved one by one with their history records written by
simple-history itself: partners through :mod:`partners.services`, accounts and memberships
with :func:`~opsapi.audit.tracking.save_with_history` as the account services do (one record
per account holding its roles, rather than the services' two, to keep seeding quick). Only
the high-volume operational data (incidents, timelines, actions) goes through the bulk loader
in :mod:`bench.seed`.
"""

import dataclasses
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER
from opsapi.accounts.models import PartnerMembership
from opsapi.audit.tracking import save_with_history
from partners import services as partners
from partners.choices import PartnerKind, PartnerLevel, StateKind
from partners.models import Partner, Sector, State, UrbanArea

ADMINISTRATOR = "bench.admin"
OFFICER = "bench.officer{:02d}"
AUDITOR_NAME = "bench.auditor"
PARTNER_USERNAME = "bench.partner{}"
REASON = "Benchmark data set"

FEDERAL_AGENCIES = (
    "Federal Emergency Management Agency",
    "Federal Bureau of Investigation",
    "Cybersecurity and Infrastructure Security Agency",
    "U.S. Coast Guard",
    "Transportation Security Administration",
    "U.S. Secret Service",
    "Centers for Disease Control and Prevention",
    "Environmental Protection Agency",
    "Department of Energy",
    "Federal Aviation Administration",
    "U.S. Army Corps of Engineers",
    "National Weather Service",
    "Department of Health and Human Services",
)


@dataclasses.dataclass
class Directory:
    """Who acts in the seeded data: ids of officers, partners and each partner's user."""

    administrator: object
    officers: list[int]
    auditor: object
    partners: list[int] = dataclasses.field(default_factory=list)
    federal: list[int] = dataclasses.field(default_factory=list)
    by_state: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    partner_users: dict[int, int] = dataclasses.field(default_factory=dict)


def bench_data_present() -> bool:
    """Whether a benchmark data set was seeded here (its administrator marks it)."""
    return get_user_model()._base_manager.filter(username=ADMINISTRATOR).exists()


def _administrator():
    """The account that opens the others: created like ``ensure_admin`` does, by the system."""
    user = get_user_model()(username=ADMINISTRATOR, is_staff=True, is_superuser=True)
    user.set_unusable_password()
    return save_with_history(user, actor=None, reason=REASON)


def _account(admin, username: str, roles, partner=None, **fields):
    """An account with ``roles`` (and its ``partner`` organisation), nobody's to log in to."""
    user = get_user_model()(username=username, **fields)
    user.set_unusable_password()
    groups = list(Group.objects.filter(name__in=roles))
    save_with_history(user, actor=admin, reason=REASON, links={"groups": groups})
    if partner is not None:
        save_with_history(PartnerMembership(user=user, partner=partner), actor=admin, reason=REASON)
    return user


def _partner_plans(rng: random.Random, count: int) -> list[dict]:
    """What organisations to register, most important first, ``count`` of them."""
    states = list(State.objects.order_by("code"))
    sectors = list(Sector.objects.order_by("code"))
    areas = list(UrbanArea.objects.prefetch_related("states").order_by("name"))
    federal = [
        {"name": name, "kind": PartnerKind.FEDERAL_AGENCY, "level": PartnerLevel.FEDERAL}
        for name in FEDERAL_AGENCIES[: max(2, count // 40)]
    ]
    statewide = []
    for state in states:
        level = (
            PartnerLevel.TERRITORIAL if state.kind == StateKind.TERRITORY else PartnerLevel.STATE
        )
        for kind, name in (
            (PartnerKind.GOVERNORS_OFFICE, f"Office of the Governor of {state.name}"),
            (PartnerKind.EMERGENCY_MANAGEMENT, f"{state.name} Emergency Management Agency"),
            (PartnerKind.FUSION_CENTER, f"{state.name} Fusion Center"),
            (PartnerKind.HOMELAND_SECURITY_ADVISOR, f"{state.name} Homeland Security Advisor"),
            (PartnerKind.LAW_ENFORCEMENT, f"{state.name} State Police"),
        ):
            statewide.append({"name": name, "kind": kind, "level": level, "state": state})
    # Round-robin over states, so a small scale still spreads over the country.
    by_state = [statewide[i::5] for i in range(5)]
    plans = federal + [plan for group in by_state for plan in group]
    for area in areas:
        plans.append(
            {
                "name": f"{area.name} Urban Area Office",
                "kind": PartnerKind.URBAN_AREA_OFFICE,
                "level": PartnerLevel.LOCAL,
                "state": area.states.all()[0],
                "urban_area": area,
            }
        )
    n = 0
    while len(plans) < count:
        n += 1
        sector = sectors[n % len(sectors)]
        state = states[n % len(states)]
        plans.append(
            {
                "name": f"{sector.name} Operator {n}",
                "kind": PartnerKind.CRITICAL_INFRASTRUCTURE,
                "level": PartnerLevel.PRIVATE,
                "state": state,
                "sectors": [sector],
            }
        )
    plans = plans[:count]
    for plan in plans:
        plan.setdefault("sectors", rng.sample(sectors, rng.randint(0, 2)))
    return plans


def create_directory(rng: random.Random, partner_count: int, officer_count: int) -> Directory:
    """Administrator, officers, an auditor, ``partner_count`` partners with a partner user
    each."""
    admin = _administrator()
    officers = [
        _account(admin, OFFICER.format(i), [OPS_OFFICER], first_name="Officer", last_name=str(i))
        for i in range(1, officer_count + 1)
    ]
    auditor = _account(admin, AUDITOR_NAME, [AUDITOR])
    directory = Directory(administrator=admin, officers=[o.pk for o in officers], auditor=auditor)
    for n, plan in enumerate(_partner_plans(rng, partner_count)):
        officer = officers[n % len(officers)]
        partner = partners.create_partner(actor=officer, reason=REASON, **plan)
        user = _account(admin, PARTNER_USERNAME.format(partner.pk), [PARTNER_USER], partner=partner)
        directory.partners.append(partner.pk)
        directory.partner_users[partner.pk] = user.pk
        if partner.level == PartnerLevel.FEDERAL:
            directory.federal.append(partner.pk)
        else:
            directory.by_state.setdefault(partner.state_id, []).append(partner.pk)
    return directory


def partner_user_of(partner: Partner):
    """The benchmark's user at ``partner``."""
    return get_user_model().objects.get(username=PARTNER_USERNAME.format(partner.pk))
