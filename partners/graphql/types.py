"""GraphQL types of the partners app."""

from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from strawberry import auto, relay

from opsapi.audit.graphql.types import history_entry_type, history_field
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.scoping import VisibleRows
from partners import models
from partners.graphql.enums import PartnerKind, PartnerLevel, StateKind
from partners.graphql.filters import (
    PartnerFilter,
    PartnerOrder,
    SectorFilter,
    StateFilter,
    StateOrder,
    UrbanAreaFilter,
    UrbanAreaOrder,
)

if TYPE_CHECKING:
    from coordination.graphql.types import CoordinationAction

StateHistoryEntry = history_entry_type(models.State)
UrbanAreaHistoryEntry = history_entry_type(models.UrbanArea)
SectorHistoryEntry = history_entry_type(models.Sector)
PartnerHistoryEntry = history_entry_type(models.Partner)
ContactHistoryEntry = history_entry_type(models.Contact)

ActionConnection = KeysetConnection[
    Annotated["CoordinationAction", strawberry.lazy("coordination.graphql.types")]
]


@strawberry_django.type(models.State, filters=StateFilter, ordering=StateOrder)
class State(VisibleRows, relay.Node):
    code: auto
    name: auto
    fips: auto
    kind: StateKind
    history: KeysetConnection[StateHistoryEntry] = history_field(StateHistoryEntry)


@strawberry_django.type(models.Sector, filters=SectorFilter)
class Sector(VisibleRows, relay.Node):
    code: auto
    name: auto
    history: KeysetConnection[SectorHistoryEntry] = history_field(SectorHistoryEntry)


@strawberry_django.type(models.UrbanArea, filters=UrbanAreaFilter, ordering=UrbanAreaOrder)
class UrbanArea(VisibleRows, relay.Node):
    name: auto
    program: auto
    fiscal_year: auto
    active: auto
    states: list[State] = strawberry_django.field(description="States the urban area spans.")
    history: KeysetConnection[UrbanAreaHistoryEntry] = history_field(UrbanAreaHistoryEntry)


@strawberry_django.type(models.Contact)
class Contact(VisibleRows, relay.Node):
    partner: "Partner"
    name: auto
    title: auto
    email: auto
    phone: auto
    is_primary: auto
    is_24x7: auto = strawberry_django.field(name="is24x7")
    created_at: auto
    updated_at: auto
    history: KeysetConnection[ContactHistoryEntry] = history_field(ContactHistoryEntry)


@strawberry_django.type(models.Partner, filters=PartnerFilter, ordering=PartnerOrder)
class Partner(VisibleRows, relay.Node):
    name: auto
    kind: PartnerKind
    level: PartnerLevel
    state: State | None
    urban_area: UrbanArea | None
    sectors: list[Sector] = strawberry_django.field(description="Sectors it operates in.")
    watch_phone: auto
    watch_email: auto
    active: auto
    created_at: auto
    updated_at: auto
    contacts: KeysetConnection[Contact] = connection(description="People to reach.")
    actions: ActionConnection = connection(description="Actions addressed to this partner.")
    history: KeysetConnection[PartnerHistoryEntry] = history_field(PartnerHistoryEntry)
