"""Partner-app queries and mutations, assembled into the root schema."""

import strawberry

from opsapi.graphql.connection import KeysetConnection, connection
from partners.graphql.types import Partner, Sector, State, UrbanArea


@strawberry.type
class PartnersQuery:
    states: KeysetConnection[State] = connection(
        description="States, DC and territories (reference data)."
    )
    urban_areas: KeysetConnection[UrbanArea] = connection(
        description="Urban areas in preparedness programs (reference data)."
    )
    sectors: KeysetConnection[Sector] = connection(
        description="The 16 critical-infrastructure sectors (reference data)."
    )
    partners: KeysetConnection[Partner] = connection(description="Partner organisations.")
