"""Incident and coordination-action mutations: resolve IDs within what the caller may see,
turn the input into service arguments, call one service."""

from decimal import Decimal

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import Info

from coordination import models, services
from coordination.graphql.inputs import (
    AcknowledgeCoordinationActionInput,
    AddIncidentUpdateInput,
    CancelCoordinationActionInput,
    ChangeIncidentStatusInput,
    CreateCoordinationActionInput,
    CreateIncidentInput,
    RespondToCoordinationActionInput,
    ShareIncidentInput,
    UnshareIncidentInput,
    UpdateCoordinationActionInput,
    UpdateIncidentInput,
)
from coordination.graphql.types import CoordinationAction, Incident, IncidentUpdate
from opsapi.accounts.access import visible_users
from opsapi.graphql.ids import get_visible, get_visible_list
from opsapi.graphql.inputs import named_input, provided, refuse_nulls
from opsapi.graphql.scoping import current_user
from partners.models import Partner, Sector, State, UrbanArea

INCIDENT_SCALARS = (
    "title",
    "summary",
    "category",
    "severity",
    "tlp",
    "occurred_at",
    "reported_at",
    "source",
)
INCIDENT_LISTS = {"states": State, "urban_areas": UrbanArea, "sectors": Sector}
NOT_NULL_ON_UPDATE = (*set(INCIDENT_SCALARS) - {"occurred_at"}, *INCIDENT_LISTS)
ACTION_FIELDS = ("kind", "instructions", "priority", "due_at")


def _coordinate(value: float) -> Decimal:
    return Decimal(str(round(value, 5)))


def _incident_arguments(changes: dict, user) -> dict:
    """Replace IDs and the location in ``changes`` by what the incident services take."""
    for name, model in {**INCIDENT_LISTS, "shared_with": Partner}.items():
        if name in changes:
            changes[name] = get_visible_list(model, changes[name], user=user, field=name)
    if "lead" in changes and changes["lead"] is not None:
        changes["lead"] = get_visible(
            get_user_model(), changes["lead"], user=user, field="lead", rows=visible_users(user)
        )
    if "location" in changes:
        location = changes.pop("location")
        changes["latitude"] = location and _coordinate(location.latitude)
        changes["longitude"] = location and _coordinate(location.longitude)
    return changes


def _sharing(data, user) -> dict:
    return {
        "version": data.version,
        "partners": get_visible_list(Partner, data.partners, user=user, field="partners"),
        "users": get_visible_list(
            get_user_model(), data.users, user=user, field="users", rows=visible_users(user)
        ),
        "reason": data.change_reason,
    }


def _incident(value, user, field="id") -> models.Incident:
    return get_visible(models.Incident, value, user=user, field=field)


def _action(value, user) -> models.CoordinationAction:
    return get_visible(models.CoordinationAction, value, user=user, field="id")


@strawberry.type
class CoordinationMutation:
    @strawberry_django.mutation(description="Open a new incident.")
    def create_incident(self, info: Info, data: named_input(CreateIncidentInput)) -> Incident:
        user = current_user(info)
        fields = provided(
            data, (*INCIDENT_SCALARS, *INCIDENT_LISTS, "shared_with", "location", "lead")
        )
        for name in (*INCIDENT_LISTS, "shared_with"):
            fields[name] = fields[name] or []
        if fields["location"] is None:
            del fields["location"]
        return services.create_incident(
            actor=user, reason=data.change_reason, **_incident_arguments(fields, user)
        )

    @strawberry_django.mutation(description="Change an incident's details (not its status).")
    def update_incident(self, info: Info, data: named_input(UpdateIncidentInput)) -> Incident:
        user = current_user(info)
        incident = _incident(data.id, user)
        changes = provided(data, (*INCIDENT_SCALARS, *INCIDENT_LISTS, "location", "lead"))
        refuse_nulls(changes, NOT_NULL_ON_UPDATE)
        return services.update_incident(
            actor=user,
            incident=incident,
            version=data.version,
            reason=data.change_reason,
            **_incident_arguments(changes, user),
        )

    @strawberry_django.mutation(
        description="Move an incident to another status (code invalid_transition if not allowed)."
    )
    def change_incident_status(
        self, info: Info, data: named_input(ChangeIncidentStatusInput)
    ) -> Incident:
        user = current_user(info)
        return services.change_incident_status(
            actor=user,
            incident=_incident(data.id, user),
            version=data.version,
            status=data.status,
            reason=data.change_reason,
        )

    @strawberry_django.mutation(description="Post a note or situation report on the timeline.")
    def add_incident_update(
        self, info: Info, data: named_input(AddIncidentUpdateInput)
    ) -> IncidentUpdate:
        user = current_user(info)
        return services.add_incident_update(
            actor=user,
            incident=_incident(data.incident, user, field="incident"),
            body=data.body,
            kind=data.kind,
            partner_visible=data.partner_visible,
            reason=data.change_reason,
        )

    @strawberry_django.mutation(
        description="Share an incident with partner organisations and named partner users."
    )
    def share_incident(self, info: Info, data: named_input(ShareIncidentInput)) -> Incident:
        user = current_user(info)
        return services.share_incident(
            actor=user, incident=_incident(data.id, user), **_sharing(data, user)
        )

    @strawberry_django.mutation(
        description="Stop sharing an incident with some partners or named users."
    )
    def unshare_incident(self, info: Info, data: named_input(UnshareIncidentInput)) -> Incident:
        user = current_user(info)
        return services.unshare_incident(
            actor=user, incident=_incident(data.id, user), **_sharing(data, user)
        )

    @strawberry_django.mutation(description="Ask a partner to act on an incident.")
    def create_coordination_action(
        self, info: Info, data: named_input(CreateCoordinationActionInput)
    ) -> CoordinationAction:
        user = current_user(info)
        return services.create_action(
            actor=user,
            incident=_incident(data.incident, user, field="incident"),
            partner=get_visible(Partner, data.partner, user=user, field="partner"),
            kind=data.kind,
            instructions=data.instructions,
            priority=data.priority,
            due_at=data.due_at,
            reason=data.change_reason,
        )

    @strawberry_django.mutation(description="Change what an open action asks, or its due time.")
    def update_coordination_action(
        self, info: Info, data: named_input(UpdateCoordinationActionInput)
    ) -> CoordinationAction:
        user = current_user(info)
        changes = provided(data, ACTION_FIELDS)
        refuse_nulls(changes, ("kind", "instructions", "priority"))
        return services.update_action(
            actor=user,
            action=_action(data.id, user),
            version=data.version,
            reason=data.change_reason,
            **changes,
        )

    @strawberry_django.mutation(description="Confirm a pending action has been received.")
    def acknowledge_coordination_action(
        self, info: Info, data: named_input(AcknowledgeCoordinationActionInput)
    ) -> CoordinationAction:
        user = current_user(info)
        return services.acknowledge_action(
            actor=user,
            action=_action(data.id, user),
            version=data.version,
            reason=data.change_reason,
        )

    @strawberry_django.mutation(
        description="Report progress on, complete or decline an action, with a response."
    )
    def respond_to_coordination_action(
        self, info: Info, data: named_input(RespondToCoordinationActionInput)
    ) -> CoordinationAction:
        user = current_user(info)
        return services.respond_to_action(
            actor=user,
            action=_action(data.id, user),
            version=data.version,
            outcome=data.outcome,
            response=data.response,
            reason=data.change_reason,
        )

    @strawberry_django.mutation(description="Withdraw an open action.")
    def cancel_coordination_action(
        self, info: Info, data: named_input(CancelCoordinationActionInput)
    ) -> CoordinationAction:
        user = current_user(info)
        return services.cancel_action(
            actor=user,
            action=_action(data.id, user),
            version=data.version,
            reason=data.change_reason,
        )
