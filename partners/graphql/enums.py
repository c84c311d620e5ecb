"""The partners app's choice lists as GraphQL enums (names are the stored values, upper-cased)."""

import strawberry

from partners import choices

StateKind = strawberry.enum(choices.StateKind, description="State, district or territory.")
PartnerKind = strawberry.enum(choices.PartnerKind, description="Kind of partner organisation.")
PartnerLevel = strawberry.enum(
    choices.PartnerLevel, description="Level of government, or the private sector."
)
