"""Running a compiled read: one SQL statement per relation and level, rows straight to JSON.

Rows are read with ``values()`` (no model instances), each level in one statement for all of
its parents, and every query goes through the type's own ``get_queryset`` — the caller's
visibility — so a row the caller may not see is missing here exactly as in normal execution.
Pages start after the cursor's row by its keys (:mod:`opsapi.graphql.keyset`, as general
execution pages); nested pages are numbered with ``ROW_NUMBER()`` per parent, in the
model's order. The page info and cursors follow the same rules.
"""

from types import SimpleNamespace

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from strawberry import relay

from opsapi.graphql.compiled.plan import (
    Column,
    Connection,
    GlobalId,
    ManyList,
    ObjectPlan,
    ToOne,
    Unsupported,
    Value,
)
from opsapi.graphql.keyset import Order, ordered, page_rows
from opsapi.graphql.pages import NotACursor

INT_RANGE = range(-(2**31), 2**31)


def _first(page) -> int:
    if not isinstance(page.first, int):
        raise Unsupported("page without first")
    return page.first


def _after(field: Connection, order: Order) -> list | None:
    """The key values of the row the page starts after (a cursor of another connection or
    ordering goes to execution, which answers its error)."""
    if field.page.after is None:
        return None
    try:
        return order.values_of(field.page.after, "after", field.field_name)
    except NotACursor:
        raise Unsupported("not a cursor of this connection") from None


def _ordering(model, tiebreak: bool) -> list[str]:
    terms = list(model._meta.ordering)
    if any(not isinstance(term, str) for term in terms):
        raise Unsupported("ordering expression")
    keys = {"pk", model._meta.pk.name}
    if tiebreak and not any(term.lstrip("-") in keys for term in terms):
        terms.append("-pk")
    return terms


def _through_ordering(relation, tiebreak: bool) -> list[str]:
    return [
        f"-{relation.target_name}__{term[1:]}"
        if term.startswith("-")
        else f"{relation.target_name}__{term}"
        for term in _ordering(relation.model, tiebreak)
    ]


def _column(field: Column):
    name, convert, nullable = field.column, field.convert, field.nullable

    def get(row):
        value = row[name]
        if value is None:
            if nullable:
                return None
            raise Unsupported(f"null in {name}")
        if convert is None:
            return value
        if convert is int:
            if value not in INT_RANGE:
                raise Unsupported(f"{name} out of Int range")
            return value
        if isinstance(convert, dict):
            try:
                return convert[value]
            except KeyError:
                raise Unsupported(f"{value!r} not in the enum of {name}") from None
        return convert(value)

    return get


def _lookup(field: ToOne, found: dict):
    column, nullable = field.column, field.nullable

    def get(row):
        value = found.get(row[column])
        if value is None and not nullable:
            raise Unsupported(f"no visible row for {field.key}")
        return value

    return get


class Reader:
    """Answers planned fields for the user of one request's context."""

    def __init__(self, context):
        self.info = SimpleNamespace(context=context)

    def scoped(self, plan: ObjectPlan):
        queryset = plan.model._default_manager.all()
        return plan.origin.get_queryset(queryset, self.info)

    # objects ----------------------------------------------------------------------------

    def build(self, plan: ObjectPlan, rows: list[dict]) -> list[dict]:
        if not rows:
            return []
        ids = [row["pk"] for row in rows]
        getters = []
        for field in plan.fields:
            if isinstance(field, Value):
                getters.append((field.key, lambda row, value=field.value: value))
            elif isinstance(field, GlobalId):
                type_name = field.type_name
                getters.append((field.key, lambda row, t=type_name: relay.to_base64(t, row["pk"])))
            elif isinstance(field, Column):
                getters.append((field.key, _column(field)))
            elif isinstance(field, ToOne):
                getters.append((field.key, _lookup(field, self.to_one(field, rows))))
            elif isinstance(field, ManyList):
                found = self.many(field, ids)
                getters.append((field.key, lambda row, f=found: f.get(row["pk"], [])))
            elif isinstance(field, Connection):
                found = self.nested(field, ids)
                getters.append((field.key, lambda row, f=found: f[row["pk"]]))
        return [{key: get(row) for key, get in getters} for row in rows]

    def by_pk(self, plan: ObjectPlan, ids, scoped: bool = True) -> dict:
        queryset = self.scoped(plan) if scoped else plan.model._default_manager.all()
        rows = list(queryset.filter(pk__in=ids).order_by().values(*plan.columns))
        return dict(zip((row["pk"] for row in rows), self.build(plan, rows), strict=True))

    def to_one(self, field: ToOne, rows: list[dict]) -> dict:
        ids = {row[field.column] for row in rows} - {None}
        return self.by_pk(field.target, ids) if ids else {}

    def many(self, field: ManyList, ids: list) -> dict:
        """Parent pk -> the visible related objects, in the related model's order."""
        relation = field.relation
        pairs = list(
            self._through(field.target, relation, ids)
            .order_by(*_through_ordering(relation, tiebreak=False))
            .values_list(relation.parent_column, relation.target_column)
        )
        objects = self.by_pk(field.target, {target for _, target in pairs}, scoped=False)
        found: dict = {}
        for parent, target in pairs:
            found.setdefault(parent, []).append(objects[target])
        return found

    def _through(self, plan: ObjectPlan, relation, ids):
        visible = self.scoped(plan).order_by().values("pk")
        return relation.through._default_manager.filter(
            **{f"{relation.parent_column}__in": ids, f"{relation.target_column}__in": visible}
        )

    # connections ------------------------------------------------------------------------

    def order(self, field: Connection) -> Order:
        """The order of the connection's rows, as general execution orders them."""
        plan = field.target
        queryset = self.scoped(plan).order_by(*_ordering(plan.model, tiebreak=True))
        _, order = ordered(queryset, field.scope)
        return order

    def root(self, field: Connection) -> dict:
        first, plan = _first(field.page), field.target
        order = self.order(field)
        queryset = self.scoped(plan)
        page = queryset.filter(*order.between(_after(field, order), None))
        reads = [key.name for key in order.keys]
        rows = list(page.order_by(*order.order_by()).values(*plan.columns, *reads)[: first + 1])
        rows, has_previous, has_next = page_rows(
            rows, first=first, last=None, after=field.page.after, before=None
        )
        objects = self.build(plan, rows)
        total = queryset.count() if field.wants_total else None
        cursors = [order.cursor([row[r] for r in reads]) for row in rows]
        edges = list(zip(cursors, objects, strict=True))
        return self.connection(field, edges, has_previous, has_next, total)

    def nested(self, field: Connection, ids: list) -> dict:
        """Parent pk -> the connection's value for that parent."""
        first = _first(field.page)
        relation, plan = field.relation, field.target
        order = self.order(field)
        if relation.through is None:
            queryset = self.scoped(plan).filter(**{f"{relation.parent_column}__in": ids})
            prefix = ""
            columns = [*dict.fromkeys([*plan.columns, relation.parent_column])]
        else:
            queryset = self._through(plan, relation, ids)
            prefix = f"{relation.target_name}__"
            columns = [relation.parent_column, relation.target_column]
        reads = [prefix + key.name for key in order.keys]
        # One row past the page tells whether there is a next page.
        numbered = (
            queryset.filter(*order.between(_after(field, order), None, prefix))
            .annotate(
                _row=Window(
                    RowNumber(),
                    partition_by=[F(relation.parent_column)],
                    order_by=order.order_by(prefix=prefix),
                )
            )
            .filter(_row__lte=first + 1)
        )
        rows = sorted(numbered.values(*columns, *reads, "_row"), key=lambda row: row["_row"])
        pages: dict = {}
        for row in rows:
            pages.setdefault(row[relation.parent_column], []).append(row)
        if relation.through is not None:
            objects = self.by_pk(plan, {row[relation.target_column] for row in rows}, False)
        else:
            in_page = [row for row in rows if row["_row"] <= first]
            objects = dict(
                zip((row["pk"] for row in in_page), self.build(plan, in_page), strict=True)
            )
        totals = {}
        if field.wants_total:
            totals = dict(
                queryset.order_by()
                .values(relation.parent_column)
                .annotate(total=Count("pk"))
                .values_list(relation.parent_column, "total")
            )
        found = {}
        key = relation.target_column if relation.through is not None else "pk"
        for parent in ids:
            in_page, has_previous, has_next = page_rows(
                pages.get(parent, []), first=first, last=None, after=field.page.after, before=None
            )
            edges = [(order.cursor([row[r] for r in reads]), objects[row[key]]) for row in in_page]
            found[parent] = self.connection(
                field, edges, has_previous, has_next, totals.get(parent, 0)
            )
        return found

    def connection(self, field: Connection, edges, has_previous, has_next, total) -> dict:
        value = {}
        for kind, key, extra in field.parts:
            if kind == "edges":
                value[key] = [self.edge(extra, cursor, obj) for cursor, obj in edges]
            elif kind == "pageInfo":
                type_name, names = extra
                info = {
                    "hasNextPage": has_next,
                    "hasPreviousPage": has_previous,
                    "startCursor": edges[0][0] if edges else None,
                    "endCursor": edges[-1][0] if edges else None,
                    "__typename": type_name,
                }
                value[key] = {part_key: info[name] for part_key, name in names}
            elif kind == "totalCount":
                value[key] = total
            else:
                value[key] = extra
        return value

    @staticmethod
    def edge(parts, cursor: str, obj: dict) -> dict:
        edge = {}
        for kind, key, extra in parts:
            if kind == "node":
                edge[key] = obj
            elif kind == "cursor":
                edge[key] = cursor
            else:
                edge[key] = extra
        return edge
