"""Live updates about incidents and coordination actions (GraphQL subscriptions)."""

import datetime
from collections.abc import AsyncGenerator

import strawberry
from strawberry import Info

from coordination import models
from coordination.graphql.filters import CoordinationActionFilter, IncidentFilter
from coordination.graphql.types import CoordinationAction, Incident
from opsapi.graphql.changes import ChangeKind, changes


@strawberry.type(description="An incident was opened or changed.")
class IncidentChange:
    incident: Incident = strawberry.field(description="The incident as it is now.")
    change: ChangeKind
    changed_fields: list[str] = strawberry.field(
        description="The fields the change set (all of them on creation), as named in the API."
    )
    at: datetime.datetime = strawberry.field(description="When the change was recorded.")


@strawberry.type(description="A coordination action was issued or changed.")
class CoordinationActionChange:
    action: CoordinationAction = strawberry.field(description="The action as it is now.")
    change: ChangeKind
    changed_fields: list[str] = strawberry.field(
        description="The fields the change set (all of them on creation), as named in the API."
    )
    at: datetime.datetime = strawberry.field(description="When the change was recorded.")


@strawberry.type
class CoordinationSubscription:
    @strawberry.subscription(
        description="Incidents you may see as they are opened and changed, optionally only "
        "those the filters select. Visibility is checked again for every event: an incident "
        "unshared from you stops appearing."
    )
    async def incident_changed(
        self, info: Info, filters: IncidentFilter | None = None
    ) -> AsyncGenerator[IncidentChange, None]:
        async for change in changes(info, models.Incident, filters):
            yield IncidentChange(
                incident=change.obj,
                change=change.kind,
                changed_fields=change.changed_fields,
                at=change.at,
            )

    @strawberry.subscription(
        description="Coordination actions you may see as they are issued and changed "
        "(acknowledged, answered, escalated ...), optionally only those the filters select."
    )
    async def coordination_action_changed(
        self, info: Info, filters: CoordinationActionFilter | None = None
    ) -> AsyncGenerator[CoordinationActionChange, None]:
        async for change in changes(info, models.CoordinationAction, filters):
            yield CoordinationActionChange(
                action=change.obj,
                change=change.kind,
                changed_fields=change.changed_fields,
                at=change.at,
            )
