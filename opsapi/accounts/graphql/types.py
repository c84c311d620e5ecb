"""The User type: public fields only."""

from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import Info, auto, relay

from opsapi.accounts.access import user_visibility
from opsapi.audit.tracking import HISTORY_RELATED_NAME
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.scoping import current_user

if TYPE_CHECKING:
    from opsapi.accounts.graphql.history import UserHistoryEntry


@strawberry_django.type(
    get_user_model(),
    name="User",
    description="A person using the center's systems (public fields only).",
)
class UserType(relay.Node):
    username: auto

    @strawberry_django.field(
        only=["first_name", "last_name", "username"],
        description="Full name, or the username when no name is set.",
    )
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    history: KeysetConnection[
        Annotated["UserHistoryEntry", strawberry.lazy("opsapi.accounts.graphql.history")]
    ] = connection(
        field_name=HISTORY_RELATED_NAME,
        description="Changes to this account (names, staff flags, roles), newest first.",
    )

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return queryset.filter(user_visibility(current_user(info)))
