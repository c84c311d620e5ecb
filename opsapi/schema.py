"""The root GraphQL schema: every app's queries and mutations, and the schema extensions."""

import strawberry
import strawberry_django
from strawberry import relay
from strawberry_django.optimizer import DjangoOptimizerExtension

from coordination.graphql.schema import CoordinationQuery
from opsapi.accounts.graphql.schema import AccountsQuery
from opsapi.graphql.pages import PageSizes
from partners.graphql.schema import PartnersQuery


@strawberry.type
class Query(AccountsQuery, PartnersQuery, CoordinationQuery):
    node: relay.Node = strawberry_django.node(description="Any object by its global ID.")
    nodes: list[relay.Node] = strawberry_django.node(description="Objects by their global IDs.")


schema = strawberry.Schema(
    query=Query,
    extensions=[
        PageSizes,
        DjangoOptimizerExtension,
    ],
)
