"""Keyset pages: a connection's rows after (or before) a row, by the values of its order's keys.

A cursor names a row by the values of the keys the connection is ordered by, the primary key
last (:class:`Order`), so a page starts after that row wherever it now stands: rows inserted
or deleted in between neither repeat nor skip a row on the next page, as offsets did. The
condition is ``(k1, …, id) > (v1, …, id0)`` in the order's own directions: on PostgreSQL a row
comparison when every key runs the same way and none may be NULL (an index on the keys
answers it), otherwise the expanded form ``k1 > v1 OR (k1 = v1 AND (…))``, in which a NULL
sorts where the database puts it (PostgreSQL: after every value; SQLite: before) unless the
ordering says ``NULLS FIRST``/``LAST``.

strawberry-django has a keyset connection (``DjangoCursorConnection``), but its cursors are
bound to nothing (a cursor of another ordering with as many keys is taken), its NULLs follow
PostgreSQL's placement only when the ordering names one, ``hasPreviousPage`` is always false
going forwards, and its nested pages count ``totalCount`` after the cursor only. This module
is the rules; :mod:`opsapi.graphql.connection` (general execution) and
:mod:`opsapi.graphql.compiled.run` (compiled reads) page with it, so both write the same
cursors for the same rows.
"""

import datetime
import decimal
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    OrderBy,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Col, Ref
from django.db.models.functions import RowNumber
from django.db.models.sql.datastructures import BaseTable

from opsapi.graphql.pages import NotACursor, encode_keyset, keyset_values

# Rows of a nested page carry these (the names are strawberry-django's, whose connection
# reads them): the row's number in its parent's page and the parent's count of rows.
ROW_NUMBER = "_strawberry_row_number"
TOTAL_COUNT = "_strawberry_total_count"
# 1 for a row past the cursor(s), 0 for one before: a nested page keeps a few of the latter
# so that each parent's count is over all of its rows.
SIDE = "_keyset_side"


@dataclass(frozen=True)
class Key:
    """One term of an order: a column (its attname) or an annotation of the rows."""

    name: str
    descending: bool
    nulls_first: bool  # where NULLs sort: as the ordering says, or the database's default
    nullable: bool
    output_field: Any

    def order_by(self, backward: bool = False, prefix: str = "") -> OrderBy:
        descending = self.descending != backward
        nulls_first = self.nulls_first != backward
        nulls = {"nulls_first": True} if nulls_first else {"nulls_last": True}
        return OrderBy(
            F(prefix + self.name), descending=descending, **(nulls if self.nullable else {})
        )

    def beyond(self, value, backward: bool, prefix: str) -> Q | None:
        """The rows strictly past ``value`` on this key alone (None: no row is)."""
        name = prefix + self.name
        nulls_first = self.nulls_first != backward
        if value is None:  # past NULL: every value if NULLs come first, else nothing
            return Q(**{f"{name}__isnull": False}) if nulls_first else None
        lookup = "lt" if self.descending != backward else "gt"
        past = Q(**{f"{name}__{lookup}": value})
        return past | Q(**{f"{name}__isnull": True}) if self.nullable and not nulls_first else past

    def equal(self, value, prefix: str) -> Q:
        name = prefix + self.name
        return Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})


def _wire(value):
    """A key value as the cursor holds it (JSON scalars; times in UTC, ISO 8601)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date | decimal.Decimal):
        return str(value) if isinstance(value, decimal.Decimal) else value.isoformat()
    return str(value)


class _RowAfter(Func):
    """``(a, b, …) > (x, y, …)``: PostgreSQL compares the rows in one index range."""

    template = "(%(expressions)s) %(operator)s (%(values)s)"
    output_field = BooleanField()

    def __init__(self, names: list[str], values: list, fields: list, operator: str):
        super().__init__(*[F(name) for name in names])
        self.values = [Value(v, output_field=f) for v, f in zip(values, fields, strict=True)]
        self.operator = operator

    def as_sql(self, compiler, connection, **extra):
        compiled = [compiler.compile(value) for value in self.values]
        sql, params = super().as_sql(
            compiler,
            connection,
            operator=self.operator,
            values=", ".join(part for part, _ in compiled),
            **extra,
        )
        return sql, (*params, *(p for _, value_params in compiled for p in value_params))


@dataclass(frozen=True)
class Order:
    """The keys a connection's rows are ordered by, and what its cursors are bound to."""

    keys: tuple[Key, ...]
    scope: str  # the connection and its ordering
    vendor: str

    def cursor(self, values: list) -> str:
        return encode_keyset(self.scope, [_wire(value) for value in values])

    def cursor_of(self, row) -> str:
        """The cursor of a model instance read through :func:`ordered`."""
        return self.cursor([getattr(row, self.read(i)) for i in range(len(self.keys))])

    @staticmethod
    def read(index: int) -> str:
        """The annotation holding a row's ``index``-th key value (never deferred)."""
        return f"_keyset_{index}"

    def values_of(self, cursor: str, argument: str, field: str) -> list:
        """The key values ``cursor`` names, each as its column holds it; NotACursor for a
        cursor of another connection or ordering, tampered or malformed."""
        values = keyset_values(cursor, self.scope)
        if values is None or len(values) != len(self.keys):
            raise NotACursor(argument, field)
        try:
            decoded = [
                None if v is None else key.output_field.to_python(v)
                for key, v in zip(self.keys, values, strict=True)
            ]
        except Exception:  # ValidationError, TypeError...: not a value of the key
            raise NotACursor(argument, field) from None
        if [_wire(v) for v in decoded] != values or (None in decoded[-1:]):
            raise NotACursor(argument, field)
        return decoded

    def order_by(self, backward: bool = False, prefix: str = "") -> list[OrderBy]:
        return [key.order_by(backward, prefix) for key in self.keys]

    def past(self, values: list, backward: bool = False, prefix: str = ""):
        """The rows after the row of ``values`` (``backward``: before it)."""
        if (
            self.vendor == "postgresql"
            and len({key.descending for key in self.keys}) == 1
            and not any(key.nullable for key in self.keys)
            and None not in values
        ):
            operator = "<" if self.keys[0].descending != backward else ">"
            names = [prefix + key.name for key in self.keys]
            fields = [key.output_field for key in self.keys]
            return _RowAfter(names, values, fields, operator)
        condition = None
        for key, value in reversed(list(zip(self.keys, values, strict=True))):
            beyond = key.beyond(value, backward, prefix)
            if condition is None:  # the primary key, never NULL
                condition = beyond
                continue
            same = key.equal(value, prefix) & condition
            condition = beyond | same if beyond is not None else same
        return condition

    def between(self, after: list | None, before: list | None, prefix: str = "") -> list:
        """The conditions of a page between two cursors' rows (either may be absent)."""
        conditions = []
        if after is not None:
            conditions.append(self.past(after, prefix=prefix))
        if before is not None:
            conditions.append(self.past(before, backward=True, prefix=prefix))
        return conditions


def _nulls_first(order_by: OrderBy, vendor: str) -> bool:
    if order_by.nulls_first:
        return True
    if order_by.nulls_last:
        return False
    # The database's default: PostgreSQL (and Oracle) sort NULL after every value, the
    # others (SQLite, MySQL) before.
    return order_by.descending if vendor in ("postgresql", "oracle") else not order_by.descending


def ordered(queryset, scope: str):
    """``(queryset, Order)``: ``queryset`` ordered by its keys explicitly, the primary key last,
    each key's value annotated for reading (:meth:`Order.read`)."""
    db = queryset.db
    vendor = connections[db].vendor
    compiler = queryset.query.get_compiler(using=db)
    keys, annotations = [], {}
    pk = queryset.model._meta.pk
    for index, (order_by, _) in enumerate(compiler.get_order_by()):
        expression = order_by.expression
        if isinstance(expression, Col) and isinstance(
            queryset.query.alias_map.get(expression.alias), BaseTable
        ):
            field = expression.target
            name, nullable, output = field.attname, field.null, field
        elif isinstance(expression, Ref):
            name, nullable = expression.refs, True
            output = expression.output_field
        else:
            name, nullable, output = f"_keyset_key_{index}", True, expression.output_field
            annotations[name] = expression
        if any(key.name == name for key in keys):
            continue  # ordered twice by the same key: the first decides
        nulls_first = _nulls_first(order_by, vendor)
        keys.append(Key(name, order_by.descending, nulls_first, nullable, output))
        if name == pk.attname:
            break  # the primary key decides every tie: nothing after it orders anything
    if not any(key.name == pk.attname for key in keys):
        keys.append(Key(pk.attname, True, False, False, pk))
    terms = ",".join(f"{'-' * k.descending}{k.name}{'^' * k.nulls_first}" for k in keys)
    order = Order(tuple(keys), f"{scope}|{queryset.model._meta.label}|{terms}", vendor)
    annotations.update({Order.read(i): F(key.name) for i, key in enumerate(keys)})
    queryset = queryset.annotate(**annotations).order_by(*order.order_by())
    return queryset, order


def nested_page(queryset, order: Order, *, parent: str, size: int, backward: bool, after, before):
    """The rows of every parent's page, for one prefetch: each parent's ``size + 1`` first rows
    past the cursors (``backward``: last rows before them), numbered, with the parent's count
    of all its rows; a parent with fewer rows past the cursors brings some of those before
    (``SIDE`` 0), so that the count is still there. The rows come in the order's direction."""
    conditions = order.between(after, before)
    rows = order.order_by(backward)
    annotations = {TOTAL_COUNT: Window(Count(1), partition_by=[F(parent)])}
    if conditions:
        condition = conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]
        side = Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())
        annotations[SIDE] = side
        rows = [OrderBy(side, descending=True), *rows]
    annotations[ROW_NUMBER] = Window(RowNumber(), partition_by=[F(parent)], order_by=rows)
    return queryset.annotate(**annotations).filter(**{f"{ROW_NUMBER}__lte": size + 1})


def page_rows(rows: list, *, first, last, after, before) -> tuple[list, bool, bool]:
    """``(rows of the page, hasPreviousPage, hasNextPage)`` from the rows fetched past the
    cursors in the order's direction: ``first + 1`` going forwards, else the ``last + 1``
    last ones. Going forwards there is a previous page when the page starts after a cursor
    (a row was before it), going backwards a next one when it ends before a cursor."""
    if first is not None:
        has_next = len(rows) > first
        rows = rows[:first]
        has_previous = after is not None
        if last is not None:
            has_previous = has_previous or len(rows) > last
            rows = rows[max(len(rows) - last, 0) :] if last else []
        return rows, has_previous, has_next
    has_previous = len(rows) > last
    rows = rows[max(len(rows) - last, 0) :] if last else []
    return rows, has_previous, before is not None
