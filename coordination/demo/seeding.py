"""Seeding the whole demo data set in one transaction: officers, partners, then incidents."""

import datetime
import itertools
import random

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coordination.choices import IncidentStatus, UpdateKind
from coordination.demo.assignments import plan_assignments
from coordination.demo.contacts import create_demo_partner
from coordination.demo.errors import DemoDataError
from coordination.demo.incidents import IncidentPlanner
from coordination.demo.officers import create_officers
from coordination.demo.partners import plan_partners
from coordination.demo.play import play_incident
from coordination.demo.reference import load_reference
from coordination.demo.summary import DemoSummary
from partners.models import Partner

DEFAULT_SCALE = 300
DEFAULT_SEED = 2026
# Fewer incidents than this cannot show every category, severity and status at once.
MIN_SCALE = 20
MAX_SCALE = 20_000


def _seed_partners(rng, reference, officers, scale, summary) -> list[Partner]:
    partners = []
    for plan in plan_partners(rng, reference, scale):
        try:
            partner, contacts = create_demo_partner(rng, plan, reference, rng.choice(officers))
        except ValidationError as error:
            raise DemoDataError(
                f"Cannot create the demo partner {plan.name!r}: {' '.join(error.messages)} "
                "seed_demo expects a database holding only the reference data; nothing was saved."
            ) from error
        partners.append(partner)
        summary.partners[plan.kind] += 1
        summary.inactive_partners += not plan.active
        summary.contacts += contacts
    return partners


def _seed_incidents(planner: IncidentPlanner, assignments, summary) -> None:
    for assignment in assignments:
        plan = planner.plan(assignment)
        play = play_incident(plan)
        summary.incidents[play.incident.status] += 1
        summary.reopened_incidents += any(
            a == IncidentStatus.RESOLVED and b == IncidentStatus.ACTIVE
            for a, b in itertools.pairwise(plan.path)
        )
        summary.timeline.update(step.kind for step in plan.steps if step.kind in UpdateKind.values)
        summary.actions.update(action.status for action in play.actions.values())
        summary.overdue_actions += sum(action.is_overdue for action in play.actions.values())


def seed_demo(
    *, scale: int = DEFAULT_SCALE, seed: int = DEFAULT_SEED, now: datetime.datetime | None = None
) -> DemoSummary:
    """Seed the demo data set in one transaction: all of it or, on any error, nothing.

    Its times are placed relative to ``now`` (default: the present), which may be in the past,
    e.g. to seed the day as it stood late in the evening whatever the clock says; not in the
    future, since the data set tells what has already happened.
    Needs the reference data. Refuses to run twice (the demo officers mark a seeded database).
    Run it inside a request context (``command_context``) so the history carries a request id.
    """
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise DemoDataError(f"The scale must be between {MIN_SCALE} and {MAX_SCALE} incidents.")
    present = timezone.now()
    if now is None:
        now = present
    elif timezone.is_naive(now):
        raise DemoDataError("The moment to seed as of needs a time zone (or a UTC offset).")
    elif now > present:
        raise DemoDataError(
            f"Cannot seed as of {now.isoformat()}: it is in the future; the demo data set tells "
            "what has already happened."
        )
    with transaction.atomic():
        reference = load_reference()
        officers = create_officers()
        summary = DemoSummary(officers=len(officers))
        partners = _seed_partners(
            random.Random(f"{seed}:partners"), reference, officers, scale, summary
        )
        incident_rng = random.Random(f"{seed}:incidents")
        assignments = plan_assignments(incident_rng, scale)
        planner = IncidentPlanner(incident_rng, reference, officers, partners, now)
        _seed_incidents(planner, assignments, summary)
    return summary
