"""Relay connections: keyset pages over strawberry-django's ``DjangoListConnection``.

Every connection's rows are in a total order — whatever ordering the client asks for, ties
are broken by primary key — and its cursors name a row by its keys' values
(:mod:`opsapi.graphql.keyset`), so paging on while rows are inserted or deleted neither
repeats nor skips a row. ``first``/``after`` pages forwards, ``last``/``before`` backwards.
At the root (and for a connection strawberry-django's optimizer does not prefetch) the page
is one query, plus one count when ``totalCount`` is asked with a cursor; nested under a list,
the optimizer's one prefetch per connection reads every parent's page (:class:`StableOrderField`).
Page sizes (default and cap) are applied to the query document by :mod:`opsapi.graphql.pages`.
"""

from typing import Any, cast

import strawberry
import strawberry_django
from django.db.models import Count, QuerySet, Window
from strawberry import Info, relay
from strawberry.relay.utils import should_resolve_list_connection_edges
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import is_optimized_by_prefetching, mark_optimized_by_prefetching
from strawberry_django.pagination import get_total_count
from strawberry_django.relay import DjangoListConnection
from strawberry_django.relay.utils import resolve_edge_class
from strawberry_django.resolvers import django_resolver

from opsapi.graphql.keyset import SIDE, TOTAL_COUNT, Order, nested_page, ordered, page_rows

__all__ = ["KeysetConnection", "connection"]


def _with_tiebreak(queryset):
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    keys = {"pk", queryset.model._meta.pk.name}
    if any(str(term).lstrip("-") in keys for term in ordering):
        return queryset
    return queryset.order_by(*ordering, "-pk")


def field_scope(field) -> str:
    """What a connection field's cursors are bound to, besides its ordering."""
    return f"{getattr(field.origin, '__qualname__', '')}.{field.python_name}"


def _graphql_name(field) -> str:
    return field.graphql_name or to_camel_case(field.python_name)


def _cursor_values(order: Order, field, after, before) -> tuple:
    name = _graphql_name(field)
    return (
        None if after is None else order.values_of(after, "after", name),
        None if before is None else order.values_of(before, "before", name),
    )


@strawberry.type(name="Connection", description="A connection to a list of items.")
class KeysetConnection(DjangoListConnection[relay.NodeType]):
    total: strawberry.Private[int | None] = None

    @strawberry.field(description="Total quantity of existing nodes.")
    def total_count(self) -> int | None:
        if self.total is not None:
            return self.total
        # Counted over every row, not only those past the cursor.
        return cast("int", django_resolver(get_total_count)(self.nodes))

    @classmethod
    def resolve_connection(
        cls,
        nodes,
        *,
        info: Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ):
        if not isinstance(nodes, QuerySet):
            raise TypeError("A keyset connection pages a QuerySet.")
        field = info._field
        if first is None and last is None:
            first = max_results if max_results is not None else info.schema.config.relay_max_results
        if is_optimized_by_prefetching(nodes):  # every parent's page, read by StableOrderField
            fetched = list(nodes)
            order = _order_of_page(nodes, field_scope(field))
            total = getattr(fetched[0], TOTAL_COUNT) if fetched else 0
            rows = [row for row in fetched if getattr(row, SIDE, 1) == 1]
        else:
            queryset, order = ordered(nodes, field_scope(field))
            after_values, before_values = _cursor_values(order, field, after, before)
            for condition in order.between(after_values, before_values):
                queryset = queryset.filter(condition)
            total = None
            if not should_resolve_list_connection_edges(info):
                rows = []
            else:
                wants_total = after is None and before is None and _selects_total(info)
                if wants_total:  # counted in the same statement, as strawberry-django does
                    queryset = queryset.annotate(**{TOTAL_COUNT: Window(Count(1))})
                if first is None:
                    backward = queryset.order_by(*order.order_by(backward=True))
                    rows = list(backward[: last + 1])[::-1]
                else:
                    rows = list(queryset[: first + 1])
                if wants_total and rows:
                    total = getattr(rows[0], TOTAL_COUNT)
        rows, has_previous, has_next = page_rows(
            rows, first=first, last=last, after=after, before=before
        )
        edge_class = resolve_edge_class(cls)
        edges = [
            edge_class(cursor=order.cursor_of(row), node=cls.resolve_node(row, info=info, **kwargs))
            for row in rows
        ]
        return cls(
            edges=edges,
            nodes=nodes,
            total=total,
            page_info=relay.PageInfo(
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=has_previous,
                has_next_page=has_next,
            ),
        )


# The order of each prefetched page: the same for every parent of a list (their querysets are
# alike), so it is worked out once rather than once per parent.
_page_orders: dict = {}


def _order_of_page(nodes, scope: str) -> Order:
    key = (nodes.model, nodes.db, scope, nodes.query.order_by)
    order = _page_orders.get(key)
    if order is None:
        if len(_page_orders) > 1000:
            _page_orders.clear()
        _page_orders[key] = order = ordered(nodes, scope)[1]
    return order


def _selects_total(info: Info) -> bool:
    return any(
        getattr(selection, "name", None) == "totalCount"
        for selected in info.selected_fields
        for selection in selected.selections
    )


class StableOrderField(StrawberryDjangoField):
    """A connection field whose rows are always in a total order, paged by keyset."""

    def get_queryset(self, queryset, info, **kwargs):
        parent = kwargs.get("_strawberry_related_field_id")
        queryset = super().get_queryset(queryset, info, **kwargs)
        if queryset._result_cache is not None or is_optimized_by_prefetching(queryset):
            return queryset
        queryset = _with_tiebreak(queryset)
        if parent is None:
            return queryset
        # The optimizer prefetches this connection for a list of parents: one query reads
        # every parent's page (KeysetConnection.resolve_connection builds each from its rows).
        first, last = kwargs.get("first"), kwargs.get("last")
        if first is None and last is None:
            first = info.schema.config.relay_max_results
        queryset, order = ordered(queryset, field_scope(self))
        after, before = _cursor_values(order, self, kwargs.get("after"), kwargs.get("before"))
        queryset = nested_page(
            queryset,
            order,
            parent=parent,
            size=first if first is not None else last,
            backward=first is None,
            after=after,
            before=before,
        )
        return mark_optimized_by_prefetching(queryset)


def connection(graphql_type=None, **kwargs) -> Any:
    """``strawberry_django.connection`` with :class:`StableOrderField`."""
    return strawberry_django.connection(graphql_type, field_cls=StableOrderField, **kwargs)
