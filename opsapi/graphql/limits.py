"""Limits on what one GraphQL request may ask for, checked before any SQL runs.

Size and shape are bounded by strawberry's own validators (depth, aliases, tokens; see
``limit_extensions``). What they cannot see is how much a well-shaped query fetches: nested
connections multiply (100 incidents x 100 actions x 100 history entries is a million rows), so
every operation also gets a cost — the number of objects its connections could return, each
connection's page size times the pages above it — and one over ``GRAPHQL_MAX_QUERY_COST`` is
refused with an error naming the limit and the cost.
"""

from functools import partial

from django.conf import settings
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
)
from graphql.utilities import type_from_ast
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from opsapi.graphql.pages import PAGE_ARGUMENTS, argument_value

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"


def limit_extensions() -> list:
    """strawberry's validators of a document's size and shape, with the project's limits
    (factories: strawberry builds each extension afresh for every request)."""
    return [
        partial(QueryDepthLimiter, max_depth=settings.GRAPHQL_MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=settings.GRAPHQL_MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
    ]


class _Costing:
    def __init__(self, schema, document, variables: dict):
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if d.kind == "fragment_definition"
        }

    def selection_set(self, selection_set, parent_type, multiplier: int) -> int:
        cost = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                cost += self.field(selection, parent_type, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                inner = (
                    type_from_ast(self.schema, selection.type_condition)
                    if selection.type_condition
                    else parent_type
                )
                cost += self.selection_set(selection.selection_set, inner, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    inner = type_from_ast(self.schema, fragment.type_condition)
                    cost += self.selection_set(fragment.selection_set, inner, multiplier)
        return cost

    def field(self, node: FieldNode, parent_type, multiplier: int) -> int:
        fields = getattr(parent_type, "fields", None) or {}
        definition = fields.get(node.name.value)
        if definition is None:
            return 0
        cost = 0
        if any(name in definition.args for name in PAGE_ARGUMENTS):
            arguments = {a.name.value: a for a in node.arguments or ()}
            sizes = [
                argument_value(arguments[name], self.variables)
                for name in PAGE_ARGUMENTS
                if name in arguments
            ]
            size = max((s for s in sizes if isinstance(s, int)), default=settings.GRAPHQL_PAGE_SIZE)
            multiplier *= max(size, 1)
            cost = multiplier
        if node.selection_set is not None:
            inner = get_named_type(definition.type)
            cost += self.selection_set(node.selection_set, inner, multiplier)
        return cost


def query_cost(schema, document, operation_name: str | None, variables: dict) -> int:
    """The most objects the operation's connections could return."""
    costing = _Costing(schema, document, variables)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    cost = 0
    for operation in operations[:1]:
        root = schema.get_root_type(operation.operation)
        cost += costing.selection_set(operation.selection_set, root, 1)
    return cost


class QueryCost(SchemaExtension):
    """Refuse an operation whose cost exceeds ``GRAPHQL_MAX_QUERY_COST``, before executing it."""

    def on_execute(self):
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            cost = query_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables or {},
            )
            limit = settings.GRAPHQL_MAX_QUERY_COST
            if cost > limit:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"This query could return up to {cost} objects; the limit is "
                            f"{limit}. Ask for smaller pages (first/last) or fewer nested lists.",
                            extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "limit": limit},
                        )
                    ],
                )
        yield
