"""Coordination queries and mutations, assembled into the root schema."""

import strawberry

from coordination.graphql.brief import BriefQuery
from coordination.graphql.overdue import OverdueQuery
from coordination.graphql.search import SearchQuery
from coordination.graphql.types import CoordinationAction, Incident
from opsapi.graphql.connection import KeysetConnection, connection


@strawberry.type
class CoordinationQuery(OverdueQuery, BriefQuery, SearchQuery):
    incidents: KeysetConnection[Incident] = connection(
        description="Incidents, newest report first unless ordered otherwise."
    )
    coordination_actions: KeysetConnection[CoordinationAction] = connection(
        description="Coordination actions, newest first unless ordered otherwise."
    )
