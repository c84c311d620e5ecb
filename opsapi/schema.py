"""The root GraphQL schema: every app's queries and mutations, and the schema extensions."""

import strawberry
import strawberry_django
from strawberry import relay
from strawberry_django.optimizer import DjangoOptimizerExtension

from coordination.graphql.mutations import CoordinationMutation
from coordination.graphql.schema import CoordinationQuery
from coordination.graphql.subscriptions import CoordinationSubscription
from opsapi.accounts.graphql.schema import AccountsQuery
from opsapi.audit.graphql.reads import RecordAuditReads
from opsapi.audit.graphql.schema import AuditQuery
from opsapi.audit.graphql.types import history_entry_type
from opsapi.audit.trail import trails
from opsapi.graphql.compiled import CompiledReads
from opsapi.graphql.deadline import Deadline, DeadlineExecutionContext
from opsapi.graphql.errors import ClientFacingErrors, ClientFacingSchema
from opsapi.graphql.introspection import IntrospectionPolicy
from opsapi.graphql.limits import limit_extensions
from opsapi.graphql.pages import PageSizes
from opsapi.graphql.trusted import TrustedDocuments
from partners.graphql.mutations import PartnersMutation
from partners.graphql.schema import PartnersQuery


@strawberry.type
class Query(AccountsQuery, PartnersQuery, CoordinationQuery, AuditQuery):
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global ID (null if it does not exist or is not visible)."
    )
    nodes: list[relay.Node | None] = strawberry_django.node(
        description="Objects by their global IDs, in order (null where one does not exist)."
    )


@strawberry.type
class Mutation(PartnersMutation, CoordinationMutation):
    pass


@strawberry.type
class Subscription(CoordinationSubscription):
    pass


schema = ClientFacingSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Every kind of history record can come out of the audit log, whether or not a type
    # exposes its `history` field.
    types=[history_entry_type(t.model) for t in trails()],
    extensions=[
        ClientFacingErrors,
        TrustedDocuments,  # before any other parse or validation: a trusted document skips both
        IntrospectionPolicy,
        *limit_extensions(),  # tokens while parsing; depth, aliases, IDs, lists, cost first
        PageSizes,
        Deadline,  # armed once every check has passed, around execution
        CompiledReads,  # after every check; it replaces execution only
        DjangoOptimizerExtension,
        RecordAuditReads,
    ],
    execution_context_class=DeadlineExecutionContext,
)
