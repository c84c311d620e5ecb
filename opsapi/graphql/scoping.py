"""Row scoping: the one place where a GraphQL type limits rows to what the caller may see.

Every model type derives from :class:`VisibleRows`, so lists, ``node``/``nodes``, nested
relations (which the optimizer prefetches through the same hook, on the model's base manager)
and counts all go through the model's ``visibility`` filter. A row the caller may not see
therefore behaves like a missing row.
"""

from strawberry import Info


def current_user(info: Info):
    """The authenticated user of the request being executed."""
    return info.context.request.user


class VisibleRows:
    """Mixin for strawberry-django types over tracked models."""

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return queryset.filter(queryset.model.visibility(current_user(info)))
