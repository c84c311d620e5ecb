"""Relay connections: strawberry-django's ``DjangoListConnection`` with a stable order.

Pages are offsets into an ordered list, so the order must be total: whatever ordering the
client asks for, ties are broken by primary key, or two pages could overlap or skip rows.
Page sizes (default and cap) are applied to the query document by :mod:`opsapi.graphql.pages`.
"""

from typing import Any

import strawberry_django
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import is_optimized_by_prefetching
from strawberry_django.relay import DjangoListConnection

__all__ = ["DjangoListConnection", "connection"]


def _with_tiebreak(queryset):
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    keys = {"pk", queryset.model._meta.pk.name}
    if any(str(term).lstrip("-") in keys for term in ordering):
        return queryset
    return queryset.order_by(*ordering, "-pk")


class StableOrderField(StrawberryDjangoField):
    """A connection field whose rows are always in a total order."""

    def get_queryset(self, queryset, info, **kwargs):
        queryset = super().get_queryset(queryset, info, **kwargs)
        if queryset._result_cache is None and not is_optimized_by_prefetching(queryset):
            queryset = _with_tiebreak(queryset)
        return queryset


def connection(graphql_type=None, **kwargs) -> Any:
    """``strawberry_django.connection`` with :class:`StableOrderField`."""
    return strawberry_django.connection(graphql_type, field_cls=StableOrderField, **kwargs)
