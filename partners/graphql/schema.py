"""Partner-app queries and mutations, assembled into the root schema."""

import strawberry

from opsapi.graphql.connection import DjangoListConnection, connection
from partners.graphql.types import Partner, Sector, State, UrbanArea


@strawberry.type
class PartnersQuery:
    states: DjangoListConnection[State] = connection(
        description="States, DC and territories (reference data)."
    )
    urban_areas: DjangoListConnection[UrbanArea] = connection(
        description="Urban areas in preparedness programs (reference data)."
    )
    sectors: DjangoListConnection[Sector] = connection(
        description="The 16 critical-infrastructure sectors (reference data)."
    )
    partners: DjangoListConnection[Partner] = connection(description="Partner organisations.")
