"""Running a compiled read: one SQL statement per relation and level, rows straight to JSON.

Rows are read with ``values()`` (no model instances), each level in one statement for all of
its parents, and every query goes through the type's own ``get_queryset`` — the caller's
visibility — so a row the caller may not see is missing here exactly as in normal execution.
Nested pages are numbered with ``ROW_NUMBER()`` per parent, in the model's order, as
strawberry-django's optimizer numbers them; the page info and cursors follow the same rules.
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
from opsapi.graphql.pages import cursor_numbers

CURSOR_PREFIX = relay.Edge.CURSOR_PREFIX
INT_RANGE = range(-(2**31), 2**31)


def _cursor(index: int) -> str:
    return relay.to_base64(CURSOR_PREFIX, index)


def _start(page) -> tuple[int, int]:
    """``(first, index of the first row)`` of a page."""
    if not isinstance(page.first, int):
        raise Unsupported("page without first")
    if page.after is None:
        return page.first, 0
    (offset,) = cursor_numbers(page.after, CURSOR_PREFIX)  # a cursor opsapi.graphql.pages let by
    return page.first, offset + 1


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

    def root(self, field: Connection) -> dict:
        first, start = _start(field.page)
        queryset = self.scoped(field.target)
        queryset = queryset.order_by(*_ordering(field.target.model, tiebreak=True))
        rows = list(queryset.values(*field.target.columns)[start : start + first + 1])
        has_next = len(rows) > first
        rows = rows[:first]
        objects = self.build(field.target, rows)
        total = queryset.count() if field.wants_total else None
        edges = [(start + i, obj) for i, obj in enumerate(objects)]
        return self.connection(field, edges, start > 0, has_next, total)

    def nested(self, field: Connection, ids: list) -> dict:
        """Parent pk -> the connection's value for that parent."""
        first, start = _start(field.page)
        relation, plan = field.relation, field.target
        if relation.through is None:
            queryset = self.scoped(plan).filter(**{f"{relation.parent_column}__in": ids})
            ordering = _ordering(plan.model, tiebreak=True)
            columns = [*dict.fromkeys([*plan.columns, relation.parent_column])]
        else:
            queryset = self._through(plan, relation, ids)
            ordering = _through_ordering(relation, tiebreak=True)
            columns = [relation.parent_column, relation.target_column]
        # One row past the page tells whether there is a next page.
        numbered = queryset.annotate(
            _row=Window(RowNumber(), partition_by=[F(relation.parent_column)], order_by=ordering)
        ).filter(_row__gt=start, _row__lte=start + first + 1)
        rows = sorted(numbered.values(*columns, "_row"), key=lambda row: row["_row"])
        pages: dict = {}
        for row in rows:
            pages.setdefault(row[relation.parent_column], []).append(row)
        if relation.through is not None:
            objects = self.by_pk(plan, {row[relation.target_column] for row in rows}, False)
        else:
            in_page = [row for row in rows if row["_row"] <= start + first]
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
        for parent in ids:
            page = pages.get(parent, [])
            in_page = page[:first]
            key = relation.target_column if relation.through is not None else "pk"
            edges = [(row["_row"] - 1, objects[row[key]]) for row in in_page]
            if field.prefetched:  # the optimizer's page of a prefetched connection
                has_previous = bool(in_page) and in_page[0]["_row"] > 1
                has_next = bool(in_page) and len(page) > first
            else:  # a page sliced from the parent's queryset, as at the root
                has_previous, has_next = start > 0, len(page) > first
            found[parent] = self.connection(
                field, edges, has_previous, has_next, totals.get(parent, 0)
            )
        return found

    def connection(self, field: Connection, edges, has_previous, has_next, total) -> dict:
        value = {}
        for kind, key, extra in field.parts:
            if kind == "edges":
                value[key] = [self.edge(extra, index, obj) for index, obj in edges]
            elif kind == "pageInfo":
                type_name, names = extra
                info = {
                    "hasNextPage": has_next,
                    "hasPreviousPage": has_previous,
                    "startCursor": _cursor(edges[0][0]) if edges else None,
                    "endCursor": _cursor(edges[-1][0]) if edges else None,
                    "__typename": type_name,
                }
                value[key] = {part_key: info[name] for part_key, name in names}
            elif kind == "totalCount":
                value[key] = total
            else:
                value[key] = extra
        return value

    @staticmethod
    def edge(parts, index: int, obj: dict) -> dict:
        edge = {}
        for kind, key, extra in parts:
            if kind == "node":
                edge[key] = obj
            elif kind == "cursor":
                edge[key] = _cursor(index)
            else:
                edge[key] = extra
        return edge
