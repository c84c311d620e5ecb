"""Request-level GraphQL errors: what clients see, and what is hidden from them.

Validation and permission problems in mutations are *not* top-level errors: they come back in
the payload as ``OperationInfo``. Top-level errors are for malformed requests (syntax, unknown
fields, bad argument values: shown as they are, with an ``extensions.code``) and for bugs or
outages, whose details are logged with the request id and replaced by a generic message.
"""

import logging

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError

logger = logging.getLogger("opsapi.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class BadInput(GraphQLError):
    """A query argument the server cannot use (e.g. a filter ID of the wrong type)."""

    def __init__(self, message: str, *, argument: str):
        super().__init__(message, extensions={"code": BAD_USER_INPUT, "argument": argument})


def client_facing(error: GraphQLError) -> GraphQLError:
    """``error`` as a client may see it.

    Errors about the request itself — raised by graphql-core while parsing, validating or
    coercing it, or deliberately as a ``GraphQLError`` such as :class:`BadInput` — are shown
    with a code. Any other exception is a bug or an outage: logged in full, and masked.
    """
    original = error.original_error
    if isinstance(original, GlobalIDValueError):
        # A well-formed global ID whose type is not one of the schema's node types.
        return GraphQLError(
            "This ID does not name a kind of object that has IDs.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": BAD_USER_INPUT},
        )
    if original is None or isinstance(original, GraphQLError):
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": GRAPHQL_VALIDATION_FAILED}
        return error
    logger.error("Unexpected error in GraphQL operation: %s", error.message, exc_info=original)
    return GraphQLError(
        "Internal server error.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL_SERVER_ERROR},
    )


def mask_result_errors(result) -> None:
    """Replace the errors of an execution result by their client-facing form, in place."""
    if result.errors:
        result.errors = [client_facing(error) for error in result.errors]


class ClientFacingErrors(SchemaExtension):
    """Every result's errors in their client-facing form: an HTTP response, and each message
    of a subscription over WebSocket alike."""

    def on_operation(self):
        yield
        if self.execution_context.result is not None:
            mask_result_errors(self.execution_context.result)

    def on_stream_result(self, result):
        mask_result_errors(result)
        yield
