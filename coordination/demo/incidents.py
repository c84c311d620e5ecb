"""Planning incidents: where and what, the status path and the timeline of each."""

import dataclasses
import datetime
import re
from decimal import Decimal

from coordination.choices import IncidentStatus, Severity, Tlp, UpdateKind
from coordination.demo.actions import ActionPlanning
from coordination.demo.assignments import Assignment
from coordination.demo.lifecycles import (
    HISTORY_DAYS,
    OLD_PATH_WEIGHTS,
    PATHS,
    RECENT_PATH_WEIGHTS,
    REOPEN_GAP_HOURS,
    STATUS_GAP_HOURS,
    STATUS_REASONS,
    YOUNG_PATH_WEIGHTS,
    random_hours,
)
from coordination.demo.places import City
from coordination.demo.play import IncidentPlan, Step, change_status, post_update, share
from coordination.demo.reference import Reference
from coordination.demo.scenarios import (
    COORDINATION_SENTENCES,
    MAGNITUDES,
    NOTES,
    SCENARIOS,
    Scenario,
)
from partners.choices import PartnerKind
from partners.models import Partner, State, UrbanArea


@dataclasses.dataclass(frozen=True)
class Where:
    """Where an incident happens."""

    states: tuple[State, ...]
    urban_areas: tuple[UrbanArea, ...]
    place: str
    state_name: str
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class IncidentPlanner(ActionPlanning):
    """Plans incidents (where, what, and what happens when) from one random stream.

    Times are offsets from ``now``, the moment of seeding; everything else depends only on the
    random stream, the reference data and the partners, so a seed always tells the same story.
    """

    def __init__(self, rng, reference: Reference, officers, partners, now):
        self.rng = rng
        self.reference = reference
        self.officers = officers
        self.now = now
        # Nothing is planned closer to the present than this.
        self.horizon = now - datetime.timedelta(minutes=10)
        self.cities = reference.cities()
        active = [p for p in partners if p.active]
        self.by_state = {}
        for partner in active:
            self.by_state.setdefault(partner.state_id, []).append(partner)
        self.national = self.by_state.pop(None, [])
        self.area_offices = {
            p.urban_area_id: p for p in active if p.kind == PartnerKind.URBAN_AREA_OFFICE
        }
        self.advisors = {
            p.state_id: p for p in active if p.kind == PartnerKind.HOMELAND_SECURITY_ADVISOR
        }

    # where and what

    def _urban_area_of(self, state: State, city: City) -> tuple[UrbanArea, ...]:
        pattern = re.compile(rf"\b{re.escape(city.name)}\b", re.IGNORECASE)
        return tuple(
            area
            for area in self.reference.urban_areas
            if pattern.search(area.name) and state in self.reference.urban_area_states[area.pk]
        )[:1]

    def where(self) -> Where:
        """A city (with a point location, often) or a whole urban area."""
        rng = self.rng
        if rng.random() < 0.3:
            area = rng.choice(self.reference.urban_areas)
            states = self.reference.urban_area_states[area.pk]
            return Where(states, (area,), area.name, states[0].name)
        state, city = rng.choice(self.cities)
        areas = self._urban_area_of(state, city)
        where = Where((state,), areas, f"{city.name}, {state.code}", state.name)
        if rng.random() < 0.7:
            where = dataclasses.replace(
                where,
                latitude=Decimal(f"{city.latitude + rng.uniform(-0.05, 0.05):.5f}"),
                longitude=Decimal(f"{city.longitude + rng.uniform(-0.05, 0.05):.5f}"),
            )
        return where

    def _path(self, age: datetime.timedelta) -> str:
        weights = (
            YOUNG_PATH_WEIGHTS
            if age < datetime.timedelta(hours=12)
            else RECENT_PATH_WEIGHTS
            if age < datetime.timedelta(days=3)
            else OLD_PATH_WEIGHTS
        )
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _officer(self, lead):
        """Usually the lead acts; any officer on shift may."""
        if lead is not None and self.rng.random() < 0.7:
            return lead
        return self.rng.choice(self.officers)

    def _between(self, start, end, low=0.0, high=1.0):
        return start + (end - start) * self.rng.uniform(low, high)

    def _partners(self, scenario: Scenario, where: Where, count: int) -> list[Partner]:
        """``count`` partners to involve: those the scenario calls for first, then the rest."""
        pool = [p for state in where.states for p in self.by_state.get(state.pk, [])]
        pool += [self.area_offices[a.pk] for a in where.urban_areas if a.pk in self.area_offices]
        pool = list(dict.fromkeys(pool + self.national))
        preferred = [p for p in pool if p.kind in scenario.partner_kinds]
        rest = [p for p in pool if p.kind not in scenario.partner_kinds]
        chosen = self.rng.sample(preferred, min(count, len(preferred)))
        chosen += self.rng.sample(rest, min(count - len(chosen), len(rest)))
        return chosen

    # when

    def _status_times(self, path, reported_at) -> list[datetime.datetime]:
        """When the incident entered each status of ``path``, squeezed to fit before now."""
        gaps, previous = [], IncidentStatus.REPORTED
        for status in path:
            span = (
                REOPEN_GAP_HOURS
                if previous == IncidentStatus.RESOLVED
                else STATUS_GAP_HOURS[status]
            )
            gaps.append(random_hours(*span, self.rng))
            previous = status
        room = (self.horizon - reported_at) * 0.9
        squeeze = min(1.0, room / sum(gaps, datetime.timedelta())) if gaps else 1.0
        times, at = [], reported_at
        for gap in gaps:
            at += gap * squeeze
            times.append(at)
        return times

    # the plan

    def plan(self, assignment: Assignment) -> IncidentPlan:
        """Plan one incident from its assignment."""
        rng = self.rng
        age = (
            random_hours(72, HISTORY_DAYS * 24, rng)
            if assignment.path
            else random_hours(0.5, HISTORY_DAYS * 24, rng)
        )
        path = PATHS[assignment.path or self._path(age)]
        reported_at = self.now - age
        scenario = SCENARIOS[assignment.category]
        where = self.where()
        lead = rng.choice(self.officers) if path or rng.random() < 0.5 else None
        title = rng.choice(scenario.titles).format(
            place=where.place,
            state=where.state_name,
            magnitude=f"{rng.uniform(*MAGNITUDES[assignment.severity]):.1f}",
        )
        source = rng.choice(scenario.sources)
        fields = {
            "title": title,
            "summary": " ".join(
                (
                    f"{title}.",
                    f"First reported by: {source}.",
                    rng.choice(scenario.situations),
                    rng.choice(COORDINATION_SENTENCES),
                )
            ),
            "category": assignment.category,
            "severity": assignment.severity,
            "tlp": assignment.tlp,
            "source": source,
            "lead": lead,
            "occurred_at": (
                reported_at - random_hours(0.1, 12, rng) if rng.random() < 0.8 else None
            ),
            "latitude": where.latitude,
            "longitude": where.longitude,
            "states": list(where.states),
            "urban_areas": list(where.urban_areas),
            "sectors": [
                self.reference.sectors[key]
                for key in rng.sample(
                    scenario.sectors, rng.randint(1, min(2, len(scenario.sectors)))
                )
            ],
            "shared_with": self._first_shares(where, assignment.tlp),
            "reason": f"Initial report from {source}.",
        }
        plan = IncidentPlan(rng.choice(self.officers), reported_at, fields, path, [])
        self._plan_story(plan, scenario, where, assignment, lead)
        return plan

    def _first_shares(self, where: Where, tlp: str) -> list[Partner]:
        advisor = self.advisors.get(where.states[0].pk)
        if advisor is None or tlp == Tlp.RED or self.rng.random() < 0.2:
            return []
        return [advisor]

    def _plan_story(self, plan, scenario, where, assignment, lead) -> None:
        status_times = self._status_times(plan.path, plan.reported_at)
        previous = IncidentStatus.REPORTED
        for status, at in zip(plan.path, status_times, strict=True):
            reason = self.rng.choice(STATUS_REASONS[previous, status])
            run = change_status(status, reason)
            plan.steps.append(Step(at, self._officer(lead), UpdateKind.STATUS_CHANGE, run))
            previous = status
        settled_at = self._settled_at(plan.path, status_times)
        self._plan_updates(plan, scenario, where, lead, settled_at)
        self._plan_shares(plan, scenario, where, lead, settled_at)
        self._plan_actions(plan, scenario, where, assignment, lead, settled_at)

    def _settled_at(self, path, status_times) -> datetime.datetime:
        """When the incident last stopped asking anything of partners (or the horizon)."""
        if not path or path[-1] not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            return self.horizon
        settled = [
            at
            for status, at in zip(path, status_times, strict=True)
            if status == IncidentStatus.RESOLVED
        ]
        return settled[-1] if settled else status_times[-1]

    def _plan_updates(self, plan, scenario, where, lead, end) -> None:
        rng = self.rng
        count = rng.randint(0, 2) + (plan.fields["severity"] in (Severity.HIGH, Severity.CRITICAL))
        times = sorted(self._between(plan.reported_at, end, 0.02, 0.98) for _ in range(count))
        for number, at in enumerate(times, start=1):
            if rng.random() < 0.45:
                body = (
                    f"Situation report {number}: {rng.choice(scenario.situations)} "
                    f"Affected: {where.place}. Next report in {rng.choice((2, 4, 6, 12))} hours."
                )
                kind, visible = UpdateKind.SITUATION_REPORT, rng.random() < 0.8
            else:
                kind, body, visible = UpdateKind.NOTE, rng.choice(NOTES), rng.random() < 0.15
            plan.steps.append(Step(at, self._officer(lead), kind, post_update(kind, body, visible)))

    def _plan_shares(self, plan, scenario, where, lead, end) -> None:
        if self.rng.random() >= 0.4:
            return
        already = set(plan.fields["shared_with"])
        partners = [p for p in self._partners(scenario, where, 2) if p not in already]
        if partners:
            at = self._between(plan.reported_at, end, 0.05, 0.6)
            plan.steps.append(Step(at, self._officer(lead), "share", share(partners)))
