"""The coordination app's choice lists as GraphQL enums."""

import strawberry

from coordination import choices

IncidentCategory = strawberry.enum(choices.IncidentCategory, description="Kind of incident.")
Severity = strawberry.enum(choices.Severity, description="Assessed severity.")
IncidentStatus = strawberry.enum(
    choices.IncidentStatus,
    description=(
        "Where an incident stands. Allowed moves: REPORTED -> ACTIVE, MONITORING or CLOSED; "
        "ACTIVE -> MONITORING or RESOLVED; MONITORING -> ACTIVE or RESOLVED; "
        "RESOLVED -> CLOSED, or ACTIVE (reopen). CLOSED is final."
    ),
)
Tlp = strawberry.enum(choices.Tlp, description="Traffic Light Protocol 2.0 marking.")
UpdateKind = strawberry.enum(choices.UpdateKind, description="Kind of timeline entry.")
ActionKind = strawberry.enum(choices.ActionKind, description="What an action asks of a partner.")
ActionPriority = strawberry.enum(choices.ActionPriority, description="How urgent an action is.")
ActionStatus = strawberry.enum(choices.ActionStatus, description="Where an action stands.")
ActionOutcome = strawberry.enum(
    choices.ActionOutcome, description="What a partner reports when responding to an action."
)
