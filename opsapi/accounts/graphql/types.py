"""The User type: public fields only."""

import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import Info, auto, relay

from opsapi.accounts.access import user_visibility
from opsapi.graphql.scoping import current_user


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

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return queryset.filter(user_visibility(current_user(info)))
