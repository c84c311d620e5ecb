"""Playing a planned incident: opening it, then running its steps in time order through the
services."""

import dataclasses
import datetime
from collections.abc import Callable

from coordination.models import CoordinationAction, Incident
from coordination.services import (
    add_incident_update,
    change_incident_status,
    create_incident,
    share_incident,
)
from partners.models import Partner


@dataclasses.dataclass
class Play:
    """An incident being played out: its latest version and its actions by number."""

    incident: Incident
    actions: dict[int, CoordinationAction] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Step:
    """Something an officer does to an incident at a simulated time."""

    at: datetime.datetime
    actor: object
    kind: str
    run: Callable[[Play, datetime.datetime, object], None]


@dataclasses.dataclass
class IncidentPlan:
    """An incident to open, and what happens to it afterwards."""

    creator: object
    reported_at: datetime.datetime
    fields: dict
    path: tuple[str, ...]
    steps: list[Step]


def change_status(status: str, reason: str):
    """A step run: the incident enters ``status`` at the step's time."""

    def run(play, at, actor):
        play.incident = change_incident_status(
            actor=actor,
            incident=play.incident,
            version=play.incident.version,
            status=status,
            reason=reason,
            now=at,
        )

    return run


def post_update(kind: str, body: str, partner_visible: bool):
    """A step run: a note or situation report posted at the step's time."""

    def run(play, at, actor):
        add_incident_update(
            actor=actor,
            incident=play.incident,
            body=body,
            kind=kind,
            partner_visible=partner_visible,
            now=at,
        )

    return run


def share(partners: list[Partner]):
    """A step run: the incident is shared with more partners."""

    def run(play, at, actor):
        play.incident = share_incident(
            actor=actor,
            incident=play.incident,
            version=play.incident.version,
            partners=partners,
            reason="Partners need the picture to support the response.",
        )

    return run


def play_incident(plan: IncidentPlan) -> Play:
    """Open the planned incident and play its steps in time order."""
    play = Play(create_incident(actor=plan.creator, now=plan.reported_at, **plan.fields))
    for step in sorted(plan.steps, key=lambda s: s.at):
        step.run(play, step.at, step.actor)
    return play
