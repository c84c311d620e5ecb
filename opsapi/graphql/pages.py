"""Pages of every connection: 50 items by default, at most 100, and only real cursors.

strawberry ties a connection's default page size to its maximum (``max_results``), and the
optimizer plans the pages of nested lists straight from the query document. So, before
execution, this extension adds ``first: 50`` to every connection field that asks for neither
``first`` nor ``last``, and rejects any ``first``/``last`` outside 0..100 (in the document or
in a variable) or any ``after``/``before`` that is not a cursor this API handed out, with an
error naming the argument, before any SQL runs.
"""

from dataclasses import replace

from django.conf import settings
from graphql import (
    ArgumentNode,
    ExecutionResult,
    GraphQLError,
    IntValueNode,
    NameNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    visit,
)
from strawberry import relay
from strawberry.extensions import SchemaExtension

from opsapi.graphql.errors import BAD_USER_INPUT

PAGE_ARGUMENTS = ("first", "last")
CURSOR_ARGUMENTS = ("after", "before")


def argument_value(argument: ArgumentNode, variables: dict):
    value = argument.value
    if isinstance(value, VariableNode):
        return variables.get(value.name.value)
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, StringValueNode):
        return value.value
    return None


def _is_cursor(value) -> bool:
    """A cursor this API hands out (an offset, base64-encoded with the edge prefix)."""
    try:
        prefix, offset = relay.from_base64(value)
    except (ValueError, TypeError):
        return False
    return prefix == relay.Edge.CURSOR_PREFIX and offset.isdigit()


class _PageVisitor(Visitor):
    def __init__(self, type_info: TypeInfo, variables: dict):
        super().__init__()
        self.type_info = type_info
        self.variables = variables
        self.errors: list[GraphQLError] = []

    def enter_field(self, node, *args):
        field = self.type_info.get_field_def()
        if field is None or not any(name in field.args for name in PAGE_ARGUMENTS):
            return None
        # Relay connections have both; other paged fields (the audit log) only `first` and
        # cursors of their own.
        relay_connection = all(name in field.args for name in PAGE_ARGUMENTS)
        cap = settings.GRAPHQL_MAX_PAGE_SIZE
        arguments = {a.name.value: a for a in node.arguments or ()}
        values = {
            name: argument_value(arguments[name], self.variables)
            for name in (*PAGE_ARGUMENTS, *CURSOR_ARGUMENTS)
            if name in arguments
        }
        for name, value in values.items():
            if name in PAGE_ARGUMENTS:
                bad = isinstance(value, int) and not isinstance(value, bool)
                bad = bad and not 0 <= value <= cap
                problem = f"must be between 0 and {cap}"
            else:
                bad = relay_connection and isinstance(value, str) and not _is_cursor(value)
                problem = "is not a cursor returned by this API"
            if bad:
                self.errors.append(
                    GraphQLError(
                        f"'{name}' on '{node.name.value}' {problem}.",
                        nodes=[arguments[name]],
                        extensions={"code": BAD_USER_INPUT, "argument": name},
                    )
                )
        if not relay_connection or any(values.get(name) is not None for name in PAGE_ARGUMENTS):
            return None
        # Neither size given (or given as null): ask for the default page explicitly.
        default = ArgumentNode(
            name=NameNode(value="first"),
            value=IntValueNode(value=str(settings.GRAPHQL_PAGE_SIZE)),
        )
        kept = tuple(a for a in node.arguments or () if a.name.value != "first")
        return replace(node, arguments=(*kept, default))


def apply_page_rules(schema, document, variables: dict):
    """``(document with default page sizes, errors for page sizes out of range)``."""
    type_info = TypeInfo(schema)
    visitor = _PageVisitor(type_info, variables)
    document = visit(document, TypeInfoVisitor(type_info, visitor))
    return document, visitor.errors


class PageSizes(SchemaExtension):
    """Schema extension applying :func:`apply_page_rules` before execution."""

    def on_execute(self):
        context = self.execution_context
        context.graphql_document, errors = apply_page_rules(
            context.schema._schema, context.graphql_document, context.variables or {}
        )
        if errors:
            context.result = ExecutionResult(data=None, errors=errors)
        yield
