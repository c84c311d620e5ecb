"""Row scoping: the one place where a GraphQL type limits rows to what the caller may see.

Every model type derives from :class:`VisibleRows`, so lists, ``node``/``nodes``, nested
relations (which the optimizer prefetches through the same hook, on the model's base manager)
and counts all go through the model's ``visibility`` filter. A row the caller may not see
therefore behaves like a missing row.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from strawberry import Info


@dataclass
class SubscriptionContext:
    """The context of operations over a WebSocket connection (opsapi.subscriptions)."""

    ws: Any  # the connection's consumer
    user: Any = field(default_factory=AnonymousUser)
    connection_params: dict | None = None


def context_user(context):
    """The user of an operation's context: the WebSocket connection's, or the HTTP request's
    (None if the context has neither)."""
    if isinstance(context, SubscriptionContext):
        return context.user
    return getattr(getattr(context, "request", None), "user", None)


def current_user(info: Info):
    """The authenticated user of the request or WebSocket connection being served."""
    return context_user(info.context)


class VisibleRows:
    """Mixin for strawberry-django types over tracked models."""

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return queryset.filter(queryset.model.visibility(current_user(info)))
