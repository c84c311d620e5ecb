"""Mutation inputs of the coordination app. IDs are global IDs of the named type.

Every mutation that changes an existing incident or action takes the ``version`` the client
read; if someone changed it since, the mutation fails with ``stale_version`` and writes nothing.
"""

import datetime

import strawberry
from strawberry import UNSET

from coordination.graphql.enums import (
    ActionKind,
    ActionOutcome,
    ActionPriority,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
    UpdateKind,
)

REASON = "Why the change is made; recorded in the object's history."
VERSION = "The version you read; the change is refused if it is no longer current."


@strawberry.input(description="A point on the map (WGS 84).")
class LocationInput:
    latitude: float
    longitude: float


@strawberry.input(description="A new incident; it gets a reference number OPS-<year>-<number>.")
class CreateIncidentInput:
    title: str
    category: IncidentCategory
    severity: Severity
    summary: str = ""
    tlp: Tlp | None = strawberry.field(default=None, description="Default AMBER.")
    occurred_at: datetime.datetime | None = None
    reported_at: datetime.datetime | None = strawberry.field(
        default=None, description="Default: now."
    )
    states: list[strawberry.ID] | None = strawberry.field(default=None, description="State IDs.")
    urban_areas: list[strawberry.ID] | None = strawberry.field(
        default=None, description="UrbanArea IDs."
    )
    sectors: list[strawberry.ID] | None = strawberry.field(default=None, description="Sector IDs.")
    shared_with: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Partner IDs to share the incident with."
    )
    location: LocationInput | None = None
    source: str = ""
    lead: strawberry.ID | None = strawberry.field(default=None, description="A User ID.")
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Changes to an incident; fields left out stay as they are.")
class UpdateIncidentInput:
    id: strawberry.ID
    version: int = strawberry.field(description=VERSION)
    title: str | None = UNSET
    summary: str | None = UNSET
    category: IncidentCategory | None = UNSET
    severity: Severity | None = UNSET
    tlp: Tlp | None = UNSET
    occurred_at: datetime.datetime | None = UNSET
    reported_at: datetime.datetime | None = UNSET
    states: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the list of states."
    )
    urban_areas: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the list of urban areas."
    )
    sectors: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the list of sectors."
    )
    location: LocationInput | None = strawberry.field(
        default=UNSET, description="null removes the location."
    )
    source: str | None = UNSET
    lead: strawberry.ID | None = strawberry.field(
        default=UNSET, description="A User ID, or null for none."
    )
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Move an incident to another status.")
class ChangeIncidentStatusInput:
    id: strawberry.ID
    version: int = strawberry.field(description=VERSION)
    status: IncidentStatus
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="A new entry on an incident's timeline.")
class AddIncidentUpdateInput:
    incident: strawberry.ID = strawberry.field(description="An Incident ID.")
    body: str
    kind: UpdateKind = UpdateKind.NOTE
    partner_visible: bool = strawberry.field(
        default=False, description="Show to partners the incident is shared with."
    )
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Partners (and named partner users) to share an incident with.")
class ShareIncidentInput:
    id: strawberry.ID = strawberry.field(description="The Incident ID.")
    version: int = strawberry.field(description=VERSION)
    partners: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Partner IDs."
    )
    users: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="User IDs of partner users to name on the incident (TLP:RED needs them).",
    )
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Partners (and named users) to stop sharing an incident with.")
class UnshareIncidentInput(ShareIncidentInput):
    pass


@strawberry.input(description="A request to one partner about one incident.")
class CreateCoordinationActionInput:
    incident: strawberry.ID = strawberry.field(description="An Incident ID.")
    partner: strawberry.ID = strawberry.field(description="A Partner ID.")
    kind: ActionKind
    instructions: str
    priority: ActionPriority = ActionPriority.ROUTINE
    due_at: datetime.datetime | None = None
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Changes to an open action; fields left out stay as they are.")
class UpdateCoordinationActionInput:
    id: strawberry.ID
    version: int = strawberry.field(description=VERSION)
    kind: ActionKind | None = UNSET
    instructions: str | None = UNSET
    priority: ActionPriority | None = UNSET
    due_at: datetime.datetime | None = strawberry.field(
        default=UNSET, description="null removes the due time."
    )
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="An action the partner acknowledges having received.")
class AcknowledgeCoordinationActionInput:
    id: strawberry.ID
    version: int = strawberry.field(description=VERSION)
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="An open action the center withdraws.")
class CancelCoordinationActionInput(AcknowledgeCoordinationActionInput):
    pass


@strawberry.input(description="A partner's response to an action.")
class RespondToCoordinationActionInput:
    id: strawberry.ID
    version: int = strawberry.field(description=VERSION)
    outcome: ActionOutcome
    response: str = strawberry.field(description="What was done, or why it is declined.")
    change_reason: str | None = strawberry.field(default=None, description=REASON)
