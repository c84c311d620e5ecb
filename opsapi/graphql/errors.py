"""Request-level GraphQL errors: what clients see, and what is hidden from them.

Validation and permission problems in mutations are *not* top-level errors: they come back in
the payload as ``OperationInfo``. Top-level errors are for malformed requests (syntax, unknown
fields, bad argument values: shown as they are, with an ``extensions.code``) and for bugs or
outages, whose details are logged with the request id and replaced by a generic message.
An outage of the database or of the live-update channel layer is told as such, with the code
``SERVICE_UNAVAILABLE``, so that clients know to retry rather than report a bug.

Unless DEBUG is on, messages lose graphql-core's "Did you mean ...?" hints, which would spell
out the schema's field, argument and enum names to someone probing it. This extension runs for
every operation, over HTTP and WebSocket alike.
"""

import logging
import re

from django.conf import settings
from django.db.utils import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError

logger = logging.getLogger("opsapi.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

UNUSABLE_TEXT_MESSAGE = (
    "An argument holds text the database cannot take: NUL or lone surrogate characters."
)
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."

_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)


def error_response(message: str, code: str, status: int, **extensions) -> JsonResponse:
    """A GraphQL-shaped error body: ``{"errors": [{"message", "extensions": {"code", ...}}]}``."""
    response = JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )
    response.status_code = status
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="opsapi"'
    return response


class BadInput(GraphQLError):
    """A query argument the server cannot use (e.g. a filter ID of the wrong type)."""

    def __init__(self, message: str, *, argument: str):
        super().__init__(message, extensions={"code": BAD_USER_INPUT, "argument": argument})


class ServiceUnavailable(GraphQLError):
    """A service the operation needs (the database, the live-update channel layer) failed;
    the same request may succeed once it is back."""

    def __init__(self, message: str):
        super().__init__(message, extensions={"code": SERVICE_UNAVAILABLE})


class LiveUpdatesInterrupted(ServiceUnavailable):
    """A subscription's events stopped because the channel layer failed; they resume by
    themselves. It stands for a whole event, whichever of its fields it was met at."""


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is the database failing rather than
    the code: it cannot be reached, dropped the connection, or cancelled a statement (timeout,
    deadlock) — all transient, where the client's retry is the right answer."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OperationalError | InterfaceError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def client_facing(error: GraphQLError) -> GraphQLError:
    """``error`` as a client may see it.

    Errors about the request itself — raised by graphql-core while parsing, validating or
    coercing it, or deliberately as a ``GraphQLError`` such as :class:`BadInput` — are shown
    with a code. A database outage met by a resolver becomes ``SERVICE_UNAVAILABLE`` (logged
    as a warning, without the database's own message, which may quote SQL). Any other
    exception is a bug: logged in full, and masked.

    The HTTP status stays 200 for these: the response is a well-formed GraphQL result (as
    GraphQL over HTTP asks for ``application/json``), possibly with the data of the fields
    that did resolve, and the code tells the client to retry. A database that is down when
    the request arrives fails its authentication first, which OutageMiddleware answers 503.
    """
    original = error.original_error
    if isinstance(original, GlobalIDValueError):
        # A malformed global ID, or one whose type is not one of the schema's node types.
        return _bad_argument(error, "This ID does not name a kind of object that has IDs.")
    if isinstance(original, UnicodeEncodeError | DataError):
        # A value the client sent reached the database, which cannot take it: text with a lone
        # surrogate (JSON's "\ud800" escape; no UTF-8 database encodes it) or, on PostgreSQL,
        # a NUL character. The client's value is at fault, wherever it was used.
        logger.warning("A GraphQL argument the database refused: %r", original)
        return _bad_argument(error, UNUSABLE_TEXT_MESSAGE)
    if database_unavailable(original):
        logger.warning("Database unavailable during a GraphQL operation: %r", original)
        return GraphQLError(
            DATABASE_UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": SERVICE_UNAVAILABLE},
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


def _bad_argument(error: GraphQLError, message: str) -> GraphQLError:
    """A BAD_USER_INPUT error about the failing field's arguments, naming the argument when
    the field was given only one (node(id:), nodes(ids:), search(query:))."""
    field = error.nodes[0] if error.nodes else None
    given = [argument.name.value for argument in getattr(field, "arguments", None) or ()]
    extensions = {"code": BAD_USER_INPUT}
    if len(given) == 1:
        extensions["argument"] = given[0]
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean ...?" hint."""
    return _SUGGESTION.sub("", message)


def mask_result_errors(result) -> None:
    """Replace the errors of an execution result by their client-facing form, in place."""
    if not result.errors:
        return
    result.errors = [client_facing(error) for error in result.errors]
    if not settings.DEBUG:
        for error in result.errors:
            error.message = without_suggestions(error.message)


def _interruption(result) -> GraphQLError | None:
    """The error of a subscription event that reports an interruption of live updates, as
    one error of the subscription's field; None for any other event."""
    for error in result.errors or ():
        if isinstance(error.original_error, LiveUpdatesInterrupted):
            return GraphQLError(error.message, path=error.path[:1], extensions=error.extensions)
    return None


class ClientFacingErrors(SchemaExtension):
    """Every result's errors in their client-facing form: an HTTP response, and each message
    of a subscription over WebSocket alike. A subscription event that reports an interruption
    of live updates becomes that one error, for the subscription's field, and no data."""

    def on_operation(self):
        yield
        if self.execution_context.result is not None:
            mask_result_errors(self.execution_context.result)

    def on_stream_result(self, result):
        interruption = _interruption(result)
        if interruption is not None:
            result.data, result.errors = None, [interruption]
        mask_result_errors(result)
        yield
