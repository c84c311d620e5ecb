"""Request-level GraphQL errors: what clients see, what is hidden from them, and what is logged.

Validation and permission problems in mutations are *not* top-level errors: they come back in
the payload as ``OperationInfo``. Top-level errors are for malformed requests (syntax, unknown
fields, bad argument values: shown as they are, with an ``extensions.code``) and for bugs or
outages, whose details are logged with the request id and replaced by a generic message.
An outage of the database or of the live-update channel layer is told as such, with the code
``SERVICE_UNAVAILABLE``, so that clients know to retry rather than report a bug.

Unless DEBUG is on, messages lose graphql-core's "Did you mean ...?" hints, wherever in the
message they stand: they would spell out the schema's type, field, argument and enum names to
someone probing it.

:class:`ClientFacingSchema` applies all of this to every result of every operation, over HTTP
and WebSocket alike (and :class:`ClientFacingErrors` to each event of a subscription), and logs
each result's errors once: a client's mistake in one line at INFO (WARNING for refused access),
with the request id and the codes; a server fault at ERROR with its traceback.
"""

import logging
import re
from collections.abc import Iterable

import strawberry
from django.conf import settings
from django.db.utils import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError

from opsapi.audit.context import current_request_id

logger = logging.getLogger("opsapi.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
# An inclusion proof asked for a record no signed checkpoint covers yet (docs/audit.md §12).
NOT_YET_CHECKPOINTED = "NOT_YET_CHECKPOINTED"

UNUSABLE_TEXT_MESSAGE = (
    "An argument holds text the database cannot take: NUL or lone surrogate characters."
)
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."

# graphql-core's hint (pyutils.did_you_mean): " Did you mean 'a', 'b', or 'c'?", possibly with
# words before the names ("the enum value", "to use an inline fragment on"). Names hold no
# "?", so the hint ends at the first one: whatever follows it ("Found: ...") is kept.
_SUGGESTION = re.compile(r"\s*\bDid you mean\b[^?]*\?", re.IGNORECASE)

# Codes of a refused access (a bad token, a rate limit, a forbidden operation): logged at
# WARNING, where someone watching for attacks looks; other client errors at INFO.
ACCESS_REFUSED = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED", "CSRF_FAILED"})


def error_response(message: str, code: str, status: int, **extensions) -> JsonResponse:
    """A GraphQL-shaped error body: ``{"errors": [{"message", "extensions": {"code", ...}}]}``,
    logged as a client error unless its status is a server's (5xx: logged where it was met)."""
    if status < 500:
        log_client_errors([(code, message)])
    response = JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )
    response.status_code = status
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="opsapi"'
    return response


class BadInput(GraphQLError):
    """A query argument the server cannot use (e.g. a filter ID of the wrong type)."""

    def __init__(self, message: str, *, argument: str, nodes=None):
        super().__init__(
            message, nodes=nodes, extensions={"code": BAD_USER_INPUT, "argument": argument}
        )


class NotYetCheckpointed(GraphQLError):
    """A field (``inclusionProof``) whose answer exists only once a later checkpoint is taken;
    ``argument`` names the argument at fault, when one is (a checkpoint asked for that is
    older than the record)."""

    def __init__(self, message: str, *, field: str, argument: str | None = None):
        extensions = {"code": NOT_YET_CHECKPOINTED, "field": field}
        if argument is not None:
            extensions["argument"] = argument
        super().__init__(message, extensions=extensions)


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
    with a code. A database outage met by a resolver becomes ``SERVICE_UNAVAILABLE``, without
    the database's own message, which may quote SQL. Any other exception is a bug, masked as
    ``INTERNAL_SERVER_ERROR``. (:func:`mask_result_errors` logs them.)

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
        return _bad_argument(error, UNUSABLE_TEXT_MESSAGE)
    if database_unavailable(original):
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
    """``message`` without graphql-core's "Did you mean ...?" hints, wherever they stand."""
    return _SUGGESTION.sub("", message)


def code_of(error: GraphQLError) -> str | None:
    return (error.extensions or {}).get("code")


def log_client_errors(errors: Iterable[tuple[str, str]], *, operation: str | None = None) -> None:
    """Log the ``(code, message)`` errors a client is answered for one request, in one line:
    at WARNING if one of them refuses access (:data:`ACCESS_REFUSED`), else at INFO. The line
    carries the request id (as every log line does, by LOGGING's filter, and as the record's
    ``request_id``) and the codes (``error_codes``); messages are quoted, so that a client's
    text cannot break the line. Used for every answer, over HTTP and WebSocket alike."""
    errors = list(errors)
    if not errors:
        return
    codes = sorted({code for code, _ in errors})
    logger.log(
        logging.WARNING if ACCESS_REFUSED.intersection(codes) else logging.INFO,
        "Client error %s%s: %r",
        ",".join(codes),
        f" in operation {operation!r}" if operation else "",
        [message for _, message in errors],
        extra={"request_id": current_request_id() or "-", "error_codes": codes},
    )


def mask_result_errors(result, operation: str | None = None) -> None:
    """Replace the errors of an execution result by their client-facing form, in place, and
    log them: a bug at ERROR with its traceback, a database outage at WARNING, and the
    client's own errors together in one line (:func:`log_client_errors`)."""
    if not result.errors:
        return
    shown = [client_facing(error) for error in result.errors]
    if not settings.DEBUG:
        for error in shown:
            error.message = without_suggestions(error.message)
    client_errors = []
    for error, masked in zip(result.errors, shown, strict=True):
        code = code_of(masked)
        if code == INTERNAL_SERVER_ERROR:
            logger.error(
                "Unexpected error in GraphQL operation: %s",
                error.message,
                exc_info=error.original_error,
            )
        elif database_unavailable(error.original_error):
            logger.warning(
                "Database unavailable during a GraphQL operation: %r", error.original_error
            )
        elif code != SERVICE_UNAVAILABLE:  # live updates interrupted: logged where it was met
            client_errors.append((code, masked.message))
    log_client_errors(client_errors, operation=operation)
    result.errors = shown


def _interruption(result) -> GraphQLError | None:
    """The error of a subscription event that reports an interruption of live updates, as
    one error of the subscription's field; None for any other event."""
    for error in result.errors or ():
        if isinstance(error.original_error, LiveUpdatesInterrupted):
            return GraphQLError(error.message, path=error.path[:1], extensions=error.extensions)
    return None


class ClientFacingSchema(strawberry.Schema):
    """strawberry's schema, whose queries and mutations answer only client-facing errors
    (:func:`mask_result_errors`), however they failed: in parsing, validation, an extension,
    a resolver, or an extension's hook raising. Subscriptions' events are masked by
    :class:`ClientFacingErrors`."""

    def execute_sync(self, *args, **kwargs):
        result = super().execute_sync(*args, **kwargs)
        mask_result_errors(result, _operation_name(args, kwargs))
        return result

    async def execute(self, *args, **kwargs):
        result = await super().execute(*args, **kwargs)
        mask_result_errors(result, _operation_name(args, kwargs))
        return result

    def process_errors(self, errors, execution_context=None) -> None:
        """Nothing: strawberry would log every error at ERROR with its traceback, a client's
        typo included. :func:`mask_result_errors` logs each result's errors once, by kind."""


def _operation_name(args: tuple, kwargs: dict) -> str | None:
    # execute(query, variable_values, context_value, root_value, operation_name, ...)
    return kwargs.get("operation_name", args[4] if len(args) > 4 else None)


class ClientFacingErrors(SchemaExtension):
    """Each event of a subscription (or an operation streamed over WebSocket) with its errors
    in their client-facing form, logged as :func:`mask_result_errors` does. An event that
    reports an interruption of live updates becomes that one error, for the subscription's
    field, and no data."""

    def on_stream_result(self, result):
        interruption = _interruption(result)
        if interruption is not None:
            result.data, result.errors = None, [interruption]
        mask_result_errors(result, self.execution_context.operation_name)
        yield
