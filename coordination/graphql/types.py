"""GraphQL types of the coordination app."""

import strawberry
import strawberry_django
from strawberry import auto, relay

from coordination import models
from coordination.graphql.enums import (
    ActionKind,
    ActionPriority,
    ActionStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
    UpdateKind,
)
from coordination.graphql.filters import (
    CoordinationActionFilter,
    CoordinationActionOrder,
    IncidentFilter,
    IncidentOrder,
)
from opsapi.accounts.graphql.types import UserType
from opsapi.audit.graphql.types import history_entry_type, history_field
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.scoping import VisibleRows
from partners.graphql.types import Partner, Sector, State, UrbanArea

IncidentHistoryEntry = history_entry_type(models.Incident)
IncidentUpdateHistoryEntry = history_entry_type(models.IncidentUpdate)
CoordinationActionHistoryEntry = history_entry_type(models.CoordinationAction)


@strawberry.type(description="A point on the map (WGS 84).")
class Location:
    latitude: float
    longitude: float


@strawberry_django.type(models.Incident, filters=IncidentFilter, ordering=IncidentOrder)
class Incident(VisibleRows, relay.Node):
    reference: auto
    title: auto
    summary: auto
    category: IncidentCategory
    severity: Severity
    status: IncidentStatus
    tlp: Tlp
    occurred_at: auto
    reported_at: auto
    activated_at: auto
    monitoring_at: auto
    resolved_at: auto
    closed_at: auto
    states: list[State] = strawberry_django.field(description="States affected.")
    urban_areas: list[UrbanArea] = strawberry_django.field(description="Urban areas affected.")
    sectors: list[Sector] = strawberry_django.field(description="Sectors affected.")
    source: auto
    lead: UserType | None
    shared_with_users: list[UserType] = strawberry_django.field(
        description="Individual partner users named on the incident (needed for TLP:RED)."
    )
    version: auto
    created_at: auto
    updated_at: auto
    shared_with: KeysetConnection[Partner] = connection(
        description="Partner organisations the incident is shared with."
    )
    updates: KeysetConnection["IncidentUpdate"] = connection(
        description="Timeline entries, newest first."
    )
    actions: KeysetConnection["CoordinationAction"] = connection(
        description="Coordination actions about this incident, newest first."
    )
    history: KeysetConnection[IncidentHistoryEntry] = history_field(IncidentHistoryEntry)

    @strawberry_django.field(
        only=["latitude", "longitude"], description="Point location, if one was given."
    )
    def location(self) -> Location | None:
        if self.latitude is None or self.longitude is None:
            return None
        return Location(latitude=float(self.latitude), longitude=float(self.longitude))


@strawberry_django.type(models.IncidentUpdate)
class IncidentUpdate(VisibleRows, relay.Node):
    incident: Incident
    kind: UpdateKind
    body: auto
    partner_visible: auto
    author: UserType | None
    posted_at: auto
    history: KeysetConnection[IncidentUpdateHistoryEntry] = history_field(
        IncidentUpdateHistoryEntry
    )


@strawberry_django.type(
    models.CoordinationAction, filters=CoordinationActionFilter, ordering=CoordinationActionOrder
)
class CoordinationAction(VisibleRows, relay.Node):
    incident: Incident
    partner: Partner
    kind: ActionKind
    instructions: auto
    priority: ActionPriority
    due_at: auto
    status: ActionStatus
    acknowledged_at: auto
    acknowledged_by: UserType | None
    response: auto
    responded_at: auto
    responded_by: UserType | None
    closed_at: auto
    escalated_at: auto
    created_by: UserType | None
    version: auto
    created_at: auto
    updated_at: auto
    is_overdue: bool = strawberry_django.field(
        only=["status", "due_at"], description="Still open after its due time."
    )
    history: KeysetConnection[CoordinationActionHistoryEntry] = history_field(
        CoordinationActionHistoryEntry
    )
