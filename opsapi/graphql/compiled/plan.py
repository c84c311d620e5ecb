"""Planning a compiled read: which documents it can answer, and how.

A query is compiled when every field it selects is one of these, on strawberry-django types
whose only row hook is the caller's visibility (:data:`SCOPING_HOOKS`):

- ``__typename``; ``id`` (the relay global ID);
- a plain model column: a ``strawberry_django`` field without a resolver, permission or other
  extension, typed ``String``, ``Int``, ``Boolean``, ``DateTime``, ``Date`` or an enum;
- a to-one relation (a forward foreign key) to such a type;
- a list over a forward many-to-many relation, without arguments;
- a connection with strawberry-django's own resolver — at the root (the model's rows), or
  over a one-to-many or forward many-to-many relation — with no arguments but ``first`` and
  ``after``, selecting ``edges { cursor node }``, ``pageInfo`` and ``totalCount``.

Aliases, fragments and inline fragments on the selected type are followed (each fragment
once per selection set, however often it is spread there); directives
(``@skip``/``@include``), interfaces, unions, custom resolvers, filters and orderings are not:
such a document is executed normally. Anything unsupported raises :class:`Unsupported` while
planning, so the decision costs one walk over the document.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    Undefined,
)
from graphql.utilities import value_from_ast
from strawberry import relay
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry_django.fields.field import StrawberryDjangoField

from opsapi.graphql.connection import StableOrderField, field_scope

# graphql-core keeps the strawberry field of each GraphQL field under this key.
STRAWBERRY_FIELD = "strawberry-definition"


class Unsupported(Exception):
    """The document, or the data it meets, needs normal execution."""


@cache
def scoping_hooks() -> frozenset:
    """The ``get_queryset`` hooks that only narrow rows to what the caller may see."""
    from opsapi.accounts.graphql.types import UserType
    from opsapi.graphql.scoping import VisibleRows

    return frozenset({VisibleRows.get_queryset.__func__, UserType.get_queryset.__func__})


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class ObjectPlan:
    """What to answer for each row of one model: ``fields`` in response order."""

    type_name: str
    origin: type  # the strawberry-django type (its get_queryset scopes the rows)
    model: Any
    fields: list = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        names = {"pk": None}
        for f in self.fields:
            if getattr(f, "column", None):
                names[f.column] = None
        return list(names)


@dataclass
class Value:
    """A constant per object type: ``__typename``."""

    key: str
    value: str


@dataclass
class GlobalId:
    key: str
    type_name: str


@dataclass
class Column:
    key: str
    column: str
    convert: Any  # None for values JSON takes as they are
    nullable: bool


@dataclass
class ToOne:
    key: str
    column: str  # the foreign key's attname
    target: ObjectPlan
    nullable: bool


@dataclass
class Relation:
    """How child rows hang off parent rows."""

    model: Any  # the child model
    parent_column: str  # on the child (one-to-many) or on the through table (many-to-many)
    through: Any = None  # many-to-many: the through model
    target_column: str = ""  # many-to-many: the through table's column to the child
    target_name: str = ""  # many-to-many: the through table's relation to the child


@dataclass
class ManyList:
    key: str
    relation: Relation
    target: ObjectPlan


@dataclass
class Page:
    """The ``first``/``after`` arguments of a connection, as argument nodes."""

    first: Any = None
    after: Any = None


@dataclass
class Connection:
    key: str
    relation: Relation | None  # None at the root
    target: ObjectPlan
    page: Page
    parts: list  # (kind, key, extra) in response order
    type_name: str
    nullable: bool = False
    scope: str = ""  # what its cursors are bound to (opsapi.graphql.connection.field_scope)
    field_name: str = ""  # as errors name it

    @property
    def wants_total(self) -> bool:
        return any(kind == "totalCount" for kind, _, _ in self.parts)


@dataclass
class Operation:
    fields: list  # Value or Connection, in response order


# --- building it ------------------------------------------------------------------------------


def _unwrap(graphql_type):
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    if not nullable:
        graphql_type = graphql_type.of_type
    return graphql_type, nullable


def _time(value):
    return None if value is None else value.isoformat()


def _enum_names(definition: StrawberryEnumDefinition) -> dict:
    return {v.value: v.name for v in definition.values}


def _scalar_converter(graphql_type, strawberry_type):
    while hasattr(strawberry_type, "of_type"):  # Optional[...]
        strawberry_type = strawberry_type.of_type
    if isinstance(strawberry_type, StrawberryEnumDefinition):
        return _enum_names(strawberry_type)
    name = graphql_type.name
    if name in ("String", "Boolean"):
        return None
    if name == "Int":
        return int
    if name in ("DateTime", "Date"):
        return _time
    raise Unsupported(f"scalar {name}")


class Planner:
    def __init__(self, schema, document, variables: dict):
        self.schema = schema  # graphql-core schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if d.kind == "fragment_definition"
        }

    # selections -------------------------------------------------------------------------

    def collect(self, selection_set, type_name: str) -> dict[str, list[FieldNode]]:
        """Field nodes by response key, in order, through fragments on ``type_name``."""
        fields: dict[str, list[FieldNode]] = {}
        self._collect(selection_set, type_name, fields, set())
        return fields

    def _collect(self, selection_set, type_name, fields, spread: set[str]):
        """``spread``: the fragments already followed. A fragment spread again adds the same
        fields again, so it is followed once, as graphql-core's execution does — planning
        stays linear in the document when fragments spread one another many times over."""
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directive")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                if selection.name.value in spread:
                    continue
                spread.add(selection.name.value)
                fragment = self.fragments[selection.name.value]
                if fragment.directives:
                    raise Unsupported("directive")
                condition, inner = fragment.type_condition, fragment.selection_set
            else:  # pragma: no cover - graphql-core has no other selection
                raise Unsupported("selection")
            if condition is not None and condition.name.value != type_name:
                raise Unsupported("fragment on another type")
            self._collect(inner, type_name, fields, spread)

    def merged(self, nodes: list[FieldNode]):
        """The merged sub-selection of same-key field nodes (validation made them alike)."""
        selections = []
        for node in nodes:
            if node.selection_set is not None:
                selections.extend(node.selection_set.selections)
        return _SelectionSet(selections)

    # arguments --------------------------------------------------------------------------

    def page(self, nodes: list[FieldNode], definition) -> Page:
        page = Page()
        for argument in nodes[0].arguments or ():
            name = argument.name.value
            if name not in ("first", "after"):
                raise Unsupported(f"argument {name}")
            value = value_from_ast(argument.value, definition.args[name].type, self.variables)
            if value is Undefined:  # a variable not given: the argument is absent
                continue
            setattr(page, name, value)
        return page

    # types ------------------------------------------------------------------------------

    def operation(self, operation: OperationDefinitionNode) -> Operation:
        query_type = self.schema.query_type
        planned = []
        for key, nodes in self.collect(operation.selection_set, query_type.name).items():
            name = nodes[0].name.value
            if name == "__typename":
                planned.append(Value(key, query_type.name))
                continue
            definition = query_type.fields.get(name)  # None: __schema, __type
            if definition is None or not _plain_connection(
                definition.extensions.get(STRAWBERRY_FIELD)
            ):
                raise Unsupported(f"root field {name}")
            planned.append(self.connection(key, nodes, definition, relation=None))
        return Operation(planned)

    def object(self, graphql_type, selection_set) -> ObjectPlan:
        if not isinstance(graphql_type, GraphQLObjectType):
            raise Unsupported("abstract type")
        origin = self._origin(graphql_type)
        definition = origin.__strawberry_django_definition__
        plan = ObjectPlan(graphql_type.name, origin, definition.model)
        for key, nodes in self.collect(selection_set, graphql_type.name).items():
            plan.fields.append(self.field(plan, graphql_type, key, nodes))
        return plan

    def _origin(self, graphql_type):
        strawberry_schema = self.schema.extensions[STRAWBERRY_FIELD]
        strawberry_type = strawberry_schema.get_type_by_name(graphql_type.name)
        origin = getattr(strawberry_type, "origin", None)
        if getattr(origin, "__strawberry_django_definition__", None) is None:
            raise Unsupported(f"type {graphql_type.name}")
        if origin.get_queryset.__func__ not in scoping_hooks():
            raise Unsupported(f"row hook of {graphql_type.name}")
        return origin

    def field(self, plan: ObjectPlan, parent_type, key: str, nodes: list[FieldNode]):
        name = nodes[0].name.value
        if name == "__typename":
            return Value(key, parent_type.name)
        definition = parent_type.fields[name]
        strawberry_field = definition.extensions.get(STRAWBERRY_FIELD)
        graphql_type, nullable = _unwrap(definition.type)
        if name == "id" and issubclass(plan.origin, relay.Node):
            return GlobalId(key, parent_type.name)
        if _plain_connection(strawberry_field):
            relation = _relation(plan.model, strawberry_field.django_name)
            return self.connection(key, nodes, definition, relation)
        if (
            type(strawberry_field) is not StrawberryDjangoField
            or strawberry_field.base_resolver is not None
            or strawberry_field.extensions
            or nodes[0].arguments
        ):
            raise Unsupported(f"field {name}")
        model_field = _model_field(plan.model, strawberry_field.django_name)
        if not model_field.is_relation:
            if not model_field.concrete:
                raise Unsupported(f"field {name}")
            convert = _scalar_converter(graphql_type, strawberry_field.type)
            return Column(key, model_field.attname, convert, nullable)
        if model_field.many_to_many and not model_field.auto_created:
            if not isinstance(graphql_type, GraphQLList):
                raise Unsupported(f"field {name}")
            item_type, _ = _unwrap(graphql_type.of_type)
            target = self.object(item_type, self.merged(nodes))
            return ManyList(key, _relation(plan.model, model_field.name), target)
        if model_field.many_to_one and model_field.concrete:
            target = self.object(graphql_type, self.merged(nodes))
            return ToOne(key, model_field.attname, target, nullable)
        raise Unsupported(f"relation {name}")

    def connection(self, key, nodes, definition, relation) -> Connection:
        connection_type, nullable = _unwrap(definition.type)
        page = self.page(nodes, definition)
        selection = self.merged(nodes)
        parts = []
        target = None
        for part_key, part_nodes in self.collect(selection, connection_type.name).items():
            name = part_nodes[0].name.value
            if name == "__typename":
                parts.append(("__typename", part_key, connection_type.name))
            elif name == "totalCount":
                parts.append(("totalCount", part_key, None))
            elif name == "pageInfo":
                info_type = _unwrap(connection_type.fields[name].type)[0]
                info = self.collect(self.merged(part_nodes), info_type.name)
                names = [(k, n[0].name.value) for k, n in info.items()]
                parts.append(("pageInfo", part_key, (info_type.name, names)))
            elif name == "edges":
                edge_type = _unwrap(_unwrap(connection_type.fields[name].type)[0].of_type)[0]
                edge_parts = []
                for edge_key, edge_nodes in self.collect(
                    self.merged(part_nodes), edge_type.name
                ).items():
                    edge_field = edge_nodes[0].name.value
                    if edge_field == "node":
                        node_type = _unwrap(edge_type.fields["node"].type)[0]
                        node_plan = self.object(node_type, self.merged(edge_nodes))
                        if target is not None and node_plan != target:
                            raise Unsupported("two node selections")
                        target = node_plan
                        edge_parts.append(("node", edge_key, None))
                    elif edge_field == "cursor":
                        edge_parts.append(("cursor", edge_key, None))
                    else:
                        edge_parts.append(("__typename", edge_key, edge_type.name))
                parts.append(("edges", part_key, edge_parts))
            else:
                raise Unsupported(f"connection field {name}")
        if target is None:
            node_type = _node_type(connection_type)
            target = ObjectPlan(node_type.name, self._origin(node_type), None)
            target.model = target.origin.__strawberry_django_definition__.model
        strawberry_field = definition.extensions[STRAWBERRY_FIELD]
        return Connection(
            key,
            relation,
            target,
            page,
            parts,
            connection_type.name,
            nullable,
            scope=field_scope(strawberry_field),
            field_name=nodes[0].name.value,
        )


@dataclass
class _SelectionSet:
    selections: list


def _plain_connection(strawberry_field) -> bool:
    """A connection field resolved by strawberry-django itself, with nothing added."""
    if type(strawberry_field) is not StableOrderField or strawberry_field.base_resolver is None:
        return False
    resolver = strawberry_field.base_resolver.wrapped_func
    return (
        resolver.__name__ == "default_resolver"
        and resolver.__module__ == "strawberry_django.fields.field"
        and all(
            type(extension).__name__ == "StrawberryDjangoConnectionExtension"
            for extension in strawberry_field.extensions
        )
    )


def _node_type(connection_type):
    edge_type = _unwrap(_unwrap(connection_type.fields["edges"].type)[0].of_type)[0]
    return _unwrap(edge_type.fields["node"].type)[0]


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name)
    except Exception as error:  # a property such as is_overdue
        raise Unsupported(f"attribute {name}") from error


def _relation(model, name: str) -> Relation:
    model_field = _model_field(model, name)
    if model_field.one_to_many:
        child = model_field.related_model
        return Relation(child, model_field.field.attname)
    if model_field.many_to_many and not model_field.auto_created:
        return Relation(
            model_field.related_model,
            model_field.m2m_column_name(),
            through=model_field.remote_field.through,
            target_column=model_field.m2m_reverse_name(),
            target_name=model_field.m2m_reverse_field_name(),
        )
    raise Unsupported(f"relation {name}")
