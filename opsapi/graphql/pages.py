"""Pages of every connection: 50 items by default, at most 100, and only real cursors.

strawberry ties a connection's default page size to its maximum (``max_results``), and the
optimizer plans the pages of nested lists straight from the query document. So, before
execution, this extension adds ``first: 50`` to every connection field that asks for neither
``first`` nor ``last``, and rejects any ``first``/``last`` outside 0..100 (in the document or
in a variable) or any ``after``/``before`` that is not a cursor this API handed out, with an
error naming the argument, before any SQL runs.

A relay connection's cursor is a position in its order, not an offset
(:func:`encode_keyset`, :mod:`opsapi.graphql.keyset`): its shape is checked here, and what it
is bound to (the connection and its ordering) where the connection is resolved. The search's
and the audit log's cursors are read by :func:`cursor_numbers`. Every cursor refused is
answered by :class:`NotACursor`.
"""

import base64
import binascii
import json
import re
from dataclasses import replace

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
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
    """The cursor naming ``numbers`` (each >= 0): base64 of ``prefix:n1:n2…`` (the search's
    and the audit log's cursors)."""
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


# A relay connection's cursor: base64 of ``k1:<check>:<JSON list of the row's key values>``.
# ``k1`` is the version of the form; the check, 16 hex digits of an HMAC of the values under
# what they are keys of (the connection and its ordering), binds the cursor to them.
KEYSET_VERSION = "k1"
KEYSET_CHECK = re.compile(r"[0-9a-f]{16}")
# A key value may be a 200-character title: room for it escaped, and no more.
KEYSET_MAX_LENGTH = 4096
KeyValue = str | int | bool | None


def _check(scope: str, values: str) -> str:
    return salted_hmac("opsapi.graphql.pages.keyset", f"{scope}\n{values}").hexdigest()[:16]


def _dump(values) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def encode_keyset(scope: str, values: list[KeyValue]) -> str:
    """The cursor of the row whose key values are ``values`` (JSON scalars) in the order
    named by ``scope``."""
    dumped = _dump(values)
    text = f"{KEYSET_VERSION}:{_check(scope, dumped)}:{dumped}"
    return base64.b64encode(text.encode()).decode()


def _keyset_parts(cursor: object) -> tuple[str, str, list] | None:
    """``(check, dumped values, values)`` of anything shaped as :func:`encode_keyset` writes
    it, else None."""
    if not isinstance(cursor, str) or len(cursor) > KEYSET_MAX_LENGTH:
        return None
    try:
        text = base64.b64decode(cursor, validate=True).decode("utf-8")
        version, check, dumped = text.split(":", 2)
        values = json.loads(dumped)
    except (binascii.Error, ValueError):
        return None
    if version != KEYSET_VERSION or not KEYSET_CHECK.fullmatch(check):
        return None
    if not isinstance(values, list) or not all(
        value is None or isinstance(value, str | int | bool) for value in values
    ):
        return None
    if base64.b64encode(f"{version}:{check}:{_dump(values)}".encode()).decode() != cursor:
        return None  # not canonical (whitespace, padding, escapes): not one we wrote
    return check, dumped, values


def is_keyset_cursor(cursor: object) -> bool:
    """Whether ``cursor`` has the shape of a relay connection's cursor (checked before any
    SQL runs; :func:`keyset_values` checks what it is bound to)."""
    return _keyset_parts(cursor) is not None


def keyset_values(cursor: object, scope: str) -> list[KeyValue] | None:
    """The key values of ``cursor`` if :func:`encode_keyset` wrote it for ``scope``; None for
    anything else (another connection's or ordering's cursor, tampered, malformed)."""
    parts = _keyset_parts(cursor)
    if parts is None:
        return None
    check, dumped, values = parts
    return values if constant_time_compare(check, _check(scope, dumped)) else None


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
            elif relay_connection and isinstance(value, str) and not is_keyset_cursor(value):
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
