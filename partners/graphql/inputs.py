"""Mutation inputs of the partners app. IDs are global IDs of the named type."""

import strawberry
from strawberry import UNSET

from partners.graphql.enums import PartnerKind, PartnerLevel

REASON = "Why the change is made; recorded in the object's history."


@strawberry.input(description="A new partner organisation.")
class CreatePartnerInput:
    name: str
    kind: PartnerKind
    level: PartnerLevel
    state: strawberry.ID | None = strawberry.field(default=None, description="A State ID.")
    urban_area: strawberry.ID | None = strawberry.field(
        default=None, description="An UrbanArea ID."
    )
    sectors: list[strawberry.ID] | None = strawberry.field(default=None, description="Sector IDs.")
    watch_phone: str = ""
    watch_email: str = ""
    active: bool = True
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Changes to a partner; fields left out stay as they are.")
class UpdatePartnerInput:
    id: strawberry.ID
    name: str | None = UNSET
    kind: PartnerKind | None = UNSET
    level: PartnerLevel | None = UNSET
    state: strawberry.ID | None = strawberry.field(
        default=UNSET, description="A State ID, or null for none."
    )
    urban_area: strawberry.ID | None = strawberry.field(
        default=UNSET, description="An UrbanArea ID, or null for none."
    )
    sectors: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the sector list."
    )
    watch_phone: str | None = UNSET
    watch_email: str | None = UNSET
    active: bool | None = UNSET
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="A new contact person at a partner.")
class CreateContactInput:
    partner: strawberry.ID = strawberry.field(description="A Partner ID.")
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    is_primary: bool = False
    is_24x7: bool = strawberry.field(default=False, name="is24x7")
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="Changes to a contact; fields left out stay as they are.")
class UpdateContactInput:
    id: strawberry.ID
    name: str | None = UNSET
    title: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    is_primary: bool | None = UNSET
    is_24x7: bool | None = strawberry.field(default=UNSET, name="is24x7")
    change_reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="A contact to remove (its history is kept).")
class DeleteContactInput:
    id: strawberry.ID
    change_reason: str | None = strawberry.field(default=None, description=REASON)
