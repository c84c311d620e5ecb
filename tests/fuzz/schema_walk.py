"""What there is to fuzz, read from the schema itself: every mutation with the fields of its
input, and every query field with its arguments. A mutation or argument added later is fuzzed
without anyone touching these tests."""

import dataclasses

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
)

from opsapi.schema import schema

GRAPHQL = schema._schema


@dataclasses.dataclass(frozen=True)
class Slot:
    """One place a client puts a value: an argument, or a field of an input object."""

    name: str
    type: object  # the graphql-core input type, wrappers included
    has_default: bool = False

    @property
    def required(self) -> bool:
        """Whether a client must send it (non-null without a default)."""
        return isinstance(self.type, GraphQLNonNull) and not self.has_default

    @property
    def named(self):
        """The type with its list and non-null wrappers removed."""
        inner = self.type
        while isinstance(inner, GraphQLNonNull | GraphQLList):
            inner = inner.of_type
        return inner

    @property
    def is_list(self) -> bool:
        inner = self.type.of_type if isinstance(self.type, GraphQLNonNull) else self.type
        return isinstance(inner, GraphQLList)

    @property
    def kind(self) -> str:
        """``ID``, ``String``, ``Int``, ... for scalars; ``enum`` or ``input`` otherwise."""
        named = self.named
        if isinstance(named, GraphQLEnumType):
            return "enum"
        if isinstance(named, GraphQLInputObjectType):
            return "input"
        assert isinstance(named, GraphQLScalarType)
        return named.name

    def type_text(self) -> str:
        return str(self.type)


@dataclasses.dataclass(frozen=True)
class MutationShape:
    name: str
    input_type: str
    fields: tuple[Slot, ...]
    returns: str  # the object type of the payload (besides OperationInfo)


@dataclasses.dataclass(frozen=True)
class QueryShape:
    name: str
    arguments: tuple[Slot, ...]
    returns: object  # graphql-core output type


def _unwrap(output_type):
    while isinstance(output_type, GraphQLNonNull | GraphQLList):
        output_type = output_type.of_type
    return output_type


def input_fields(input_type: GraphQLInputObjectType) -> tuple[Slot, ...]:
    return tuple(
        Slot(name, field.type, field.default_value is not Undefined)
        for name, field in input_type.fields.items()
    )


def mutations() -> list[MutationShape]:
    """Every mutation: its single ``input`` argument's fields and the type it returns."""
    shapes = []
    for name, field in GRAPHQL.mutation_type.fields.items():
        (argument_name,) = field.args
        assert argument_name == "input", f"{name} takes {argument_name}, not input"
        input_type = _unwrap(field.args["input"].type)
        payload = _unwrap(field.type)
        assert isinstance(payload, GraphQLUnionType), f"{name} does not return a union"
        (returns,) = [t.name for t in payload.types if t.name != "OperationInfo"]
        shapes.append(MutationShape(name, input_type.name, input_fields(input_type), returns))
    return shapes


def queries() -> list[QueryShape]:
    """Every query field that takes arguments."""
    return [
        QueryShape(
            name,
            tuple(
                Slot(a, arg.type, arg.default_value is not Undefined)
                for a, arg in field.args.items()
            ),
            field.type,
        )
        for name, field in GRAPHQL.query_type.fields.items()
        if field.args
    ]


def selection(output_type) -> str:
    """A small selection for ``output_type``: its scalar fields, and for a connection its
    ``totalCount`` and its nodes' scalar fields. Enough to make the server fetch rows."""
    named = _unwrap(output_type)
    if not isinstance(named, GraphQLObjectType):
        return "{ __typename }"
    picked = ["__typename"]
    for name, field in named.fields.items():
        inner = _unwrap(field.type)
        if field.args and any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            picked.append(name)
        elif name == "edges":
            picked.append(f"edges {{ cursor node {_scalars(_unwrap(inner.fields['node'].type))} }}")
    return "{ " + " ".join(picked) + " }"


def _scalars(named) -> str:
    if not isinstance(named, GraphQLObjectType):
        return "{ __typename }"
    names = [
        name
        for name, field in named.fields.items()
        if not field.args and isinstance(_unwrap(field.type), GraphQLScalarType | GraphQLEnumType)
    ]
    return "{ __typename " + " ".join(names) + " }"
