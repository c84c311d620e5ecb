"""Planning the partner directory: which organisations to create, of what kind and where."""

import dataclasses
import random

from coordination.demo.organisations import (
    BRANDS,
    FBI_FIELD_OFFICES,
    FEDERAL_PARTNERS,
    NO_CITY_POLICE,
    OPERATORS,
    OTHER_PARTNERS,
    STATE_POLICE,
    TRIBAL_PARTNERS,
)
from coordination.demo.places import CITIES
from coordination.demo.reference import Reference
from partners.choices import PartnerKind, PartnerLevel, StateKind
from partners.models import State, UrbanArea


@dataclasses.dataclass(frozen=True)
class PartnerPlan:
    """A partner organisation to create."""

    name: str
    kind: str
    level: str
    state: State | None
    area_code: str
    urban_area: UrbanArea | None = None
    sector_keys: tuple[str, ...] = ()
    active: bool = True


# A few partners of these kinds are seeded inactive (a department merged, a plant closed); the
# statewide partners the center always needs stay active.
RETIRABLE_KINDS = {PartnerKind.LAW_ENFORCEMENT, PartnerKind.CRITICAL_INFRASTRUCTURE}


def _state_level(state: State) -> str:
    return PartnerLevel.TERRITORIAL if state.kind == StateKind.TERRITORY else PartnerLevel.STATE


def _area_code(state: State | None) -> str:
    cities = CITIES.get(state.code) if state else None
    return cities[0].area_code if cities else "202"


def _governors_office(state: State) -> PartnerPlan:
    # The District's executive is its mayor.
    name = (
        f"Executive Office of the Mayor, {state.name}"
        if state.kind == StateKind.DISTRICT
        else f"Office of the Governor of {state.name}"
    )
    return PartnerPlan(
        name, PartnerKind.GOVERNORS_OFFICE, _state_level(state), state, _area_code(state)
    )


def statewide_plans(reference: Reference) -> list[PartnerPlan]:
    """A governor's office and a homeland security advisor for every state, DC and territory."""
    plans = []
    for state in reference.states.values():
        plans.append(_governors_office(state))
        plans.append(
            PartnerPlan(
                f"{state.name} Homeland Security Advisor's Office",
                PartnerKind.HOMELAND_SECURITY_ADVISOR,
                _state_level(state),
                state,
                _area_code(state),
            )
        )
    return plans


def _per_state(
    reference: Reference, pattern: str, kind: str, sectors=(), level=None
) -> list[PartnerPlan]:
    return [
        PartnerPlan(
            pattern.format(state=state.name),
            kind,
            level or _state_level(state),
            state,
            _area_code(state),
            sector_keys=sectors,
        )
        for state in reference.states.values()
    ]


def _urban_area_offices(reference: Reference) -> list[PartnerPlan]:
    plans = []
    for area in reference.urban_areas:
        home = reference.urban_area_states[area.pk][0]
        plans.append(
            PartnerPlan(
                f"{area.name} {area.program} Office",
                PartnerKind.URBAN_AREA_OFFICE,
                PartnerLevel.LOCAL,
                home,
                _area_code(home),
                urban_area=area,
                sector_keys=("emergency",),
            )
        )
    return plans


def _law_enforcement(reference: Reference) -> list[PartnerPlan]:
    kind, emergency = PartnerKind.LAW_ENFORCEMENT, ("emergency",)
    plans = []
    for state in reference.states.values():
        name = STATE_POLICE.get(state.code, f"{state.name} State Police")
        level = PartnerLevel.LOCAL if state.kind == StateKind.DISTRICT else _state_level(state)
        plans.append(
            PartnerPlan(name, kind, level, state, _area_code(state), sector_keys=emergency)
        )
    for state, city in reference.cities():
        if state.code not in NO_CITY_POLICE:
            plans.append(
                PartnerPlan(
                    f"{city.name} Police Department",
                    kind,
                    PartnerLevel.LOCAL,
                    state,
                    city.area_code,
                    sector_keys=emergency,
                )
            )
        if city.county:
            plans.append(
                PartnerPlan(
                    f"{city.county} Sheriff's Office",
                    kind,
                    PartnerLevel.LOCAL,
                    state,
                    city.area_code,
                    sector_keys=emergency,
                )
            )
    for city_name, code in FBI_FIELD_OFFICES:
        if code in reference.states:
            state = reference.states[code]
            plans.append(
                PartnerPlan(
                    f"FBI {city_name} Field Office",
                    kind,
                    PartnerLevel.FEDERAL,
                    state,
                    _area_code(state),
                )
            )
    return _unique(plans)


def _tribal(reference: Reference) -> list[PartnerPlan]:
    return [
        PartnerPlan(
            name,
            kind,
            PartnerLevel.TRIBAL,
            reference.states[code],
            _area_code(reference.states[code]),
        )
        for name, kind, code in TRIBAL_PARTNERS
        if code in reference.states
    ]


def _federal(reference: Reference) -> list[PartnerPlan]:
    plans = []
    for name, code, sectors in FEDERAL_PARTNERS:
        if code is None or code in reference.states:
            state = reference.states.get(code) if code else None
            plans.append(
                PartnerPlan(
                    name,
                    PartnerKind.FEDERAL_AGENCY,
                    PartnerLevel.FEDERAL,
                    state,
                    _area_code(state),
                    sector_keys=sectors,
                )
            )
    return plans


def _operators(rng: random.Random, reference: Reference, count: int) -> list[PartnerPlan]:
    """``count`` critical-infrastructure operators with made-up names in real cities."""
    cities = reference.cities()
    plans, taken = [], set()
    for _ in range(count * 20):
        if len(plans) == count:
            break
        template, level, sectors = rng.choice(OPERATORS)
        state, city = rng.choice(cities)
        name = template.format(city=city.name, brand=rng.choice(BRANDS))
        if (name, state.code) in taken:
            continue
        taken.add((name, state.code))
        plans.append(
            PartnerPlan(
                name,
                PartnerKind.CRITICAL_INFRASTRUCTURE,
                level,
                state,
                city.area_code,
                sector_keys=sectors,
            )
        )
    return plans


def _others(reference: Reference) -> list[PartnerPlan]:
    return [
        plan
        for pattern in OTHER_PARTNERS
        for plan in _per_state(reference, pattern, PartnerKind.OTHER, level=PartnerLevel.PRIVATE)
        if plan.state.kind != StateKind.TERRITORY
    ]


def _unique(plans: list[PartnerPlan]) -> list[PartnerPlan]:
    """Drop repeated (name, state) pairs, keeping the first (e.g. two cities in one county)."""
    seen, unique = set(), []
    for plan in plans:
        key = (plan.name, plan.state.code if plan.state else None)
        if key not in seen:
            seen.add(key)
            unique.append(plan)
    return unique


def _sample(rng: random.Random, plans: list[PartnerPlan], count: int) -> list[PartnerPlan]:
    return rng.sample(plans, min(count, len(plans)))


def plan_partners(rng: random.Random, reference: Reference, scale: int) -> list[PartnerPlan]:
    """The partner directory: every state's executive, then organisations that grow with scale.

    At the default scale the directory holds about a fusion center and an emergency management
    agency for two states in three, and a few dozen police forces and operators.
    """
    fusion_centers = _per_state(reference, "{state} Fusion Center", PartnerKind.FUSION_CENTER)
    emergency_agencies = _per_state(
        reference,
        "{state} Emergency Management Agency",
        PartnerKind.EMERGENCY_MANAGEMENT,
        sectors=("emergency",),
    )
    growing = [
        *_sample(rng, fusion_centers, 8 + scale // 10),
        *_sample(rng, emergency_agencies, 8 + scale // 10),
        *_sample(rng, _urban_area_offices(reference), 4 + scale // 15),
        *_sample(rng, _law_enforcement(reference), 6 + scale // 6),
        *_tribal(reference),
        *_operators(rng, reference, 6 + scale // 5),
        *_sample(rng, _federal(reference), 3 + scale // 30),
        *_sample(rng, _others(reference), 2 + scale // 60),
    ]
    retirable = [i for i, plan in enumerate(growing) if plan.kind in RETIRABLE_KINDS]
    for i in rng.sample(retirable, min(len(retirable), max(2, len(growing) // 40))):
        growing[i] = dataclasses.replace(growing[i], active=False)
    return _unique(statewide_plans(reference) + growing)
