"""Pages of every connection: 50 items by default, at most 100, and only real cursors.

strawberry ties a connection's default page size to its maximum (``max_results``), and the
optimizer plans the pages of nested lists straight from the query document. So, before
execution, this extension adds ``first: 50`` to every connection field that asks for neither
``first`` nor ``last``, and rejects any ``first``/``last`` outside 0..100 (in the document or
in a variable) or any ``after``/``before`` that is not a cursor this API handed out, with an
error naming the argument, before any SQL runs.

Every cursor of the API — relay connections', the search's, the audit log's — is read by
:func:`cursor_numbers`, and every one it refuses is answered by :class:`NotACursor`.
"""

import base64
import binascii
import re
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

from opsapi.graphql.errors import BadInput

PAGE_ARGUMENTS = ("first", "last")
CURSOR_ARGUMENTS = ("after", "before")

# A cursor's numbers: ASCII digits only, no sign, no leading zero, at most 18 of them (so that
# each fits the signed 64-bit integers of the database, whatever page or row it points at).
CURSOR_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")
# No cursor this API hands out is longer: nothing longer is even decoded.
CURSOR_MAX_LENGTH = 120


def encode_cursor(prefix: str, *numbers: int) -> str:
    """The cursor naming ``numbers`` (each >= 0): base64 of ``prefix:n1:n2…``, as strawberry's
    relay connections write theirs (``arrayconnection:<offset>``)."""
    return base64.b64encode(":".join((prefix, *map(str, numbers))).encode()).decode()


def cursor_numbers(cursor: object, prefix: str, parts: int = 1) -> tuple[int, ...] | None:
    """The ``parts`` numbers of ``cursor`` if it is exactly what :func:`encode_cursor` writes for
    ``prefix``; None for anything else (another kind of cursor, a sign, whitespace, non-ASCII
    digits, leading zeros, non-canonical base64, too many digits)."""
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX_LENGTH:
        return None
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    head, *numbers = text.split(":")
    if head != prefix or len(numbers) != parts:
        return None
    if not all(CURSOR_NUMBER.fullmatch(number) for number in numbers):
        return None
    decoded = tuple(int(number) for number in numbers)
    return decoded if encode_cursor(prefix, *decoded) == cursor else None


class NotACursor(BadInput):
    """An ``after``/``before`` argument that is not a cursor this API handed out for the field."""

    def __init__(self, argument: str, field: str, *, nodes=None):
        super().__init__(
            f"'{argument}' on '{field}' is not a cursor returned by this API.",
            argument=argument,
            nodes=nodes,
        )


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
    """A cursor of a relay connection (an offset, with strawberry's edge prefix)."""
    return cursor_numbers(value, relay.Edge.CURSOR_PREFIX) is not None


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
                if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= cap:
                    self.errors.append(
                        BadInput(
                            f"'{name}' on '{node.name.value}' must be between 0 and {cap}.",
                            argument=name,
                            nodes=[arguments[name]],
                        )
                    )
            elif relay_connection and isinstance(value, str) and not _is_cursor(value):
                self.errors.append(NotACursor(name, node.name.value, nodes=[arguments[name]]))
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
