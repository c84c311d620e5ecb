"""The ``overdueActions`` query: the watch floor's list of requests partners left unanswered."""

from collections.abc import Iterable

import strawberry

from coordination import models
from coordination.graphql.types import CoordinationAction
from coordination.services import unacknowledged_past_due
from opsapi.graphql.connection import KeysetConnection, connection


@strawberry.type
class OverdueQuery:
    # No filters or ordering arguments: the list is defined by the rule (pending, past due),
    # its order by urgency. Rows are scoped to the caller by the CoordinationAction type.
    @connection(
        KeysetConnection[CoordinationAction],
        filters=None,
        ordering=None,
        description="Coordination actions still unacknowledged after their due time, escalated "
        "or not yet, the most overdue (earliest due) first.",
    )
    def overdue_actions(self) -> Iterable[models.CoordinationAction]:
        return unacknowledged_past_due()
