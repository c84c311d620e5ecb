"""The one path every GraphQL operation takes, whatever carries it.

HTTP (opsapi.views) and WebSocket (opsapi.subscriptions) differ only in how they read an
operation off the wire and write its answer back. Everything the API promises about an
operation is decided here, in this order, the same for both:

1. **Shape** — :func:`operation_params`: the parameters are an object whose ``query`` and
   ``operationName`` are strings, ``variables`` and ``extensions`` objects, ``documentId`` a
   string; anything else is refused with ``BAD_REQUEST`` naming the parameter.
2. **Authentication** — :func:`user_for_credentials`: a bearer token (the HTTP
   ``Authorization`` header, or the same entry in a WebSocket's ``connection_init`` payload)
   or the session. A client address whose tokens failed ``AUTH_FAILURE_RATE_LIMIT`` times in
   the current window is refused (``RATE_LIMITED``) before its next token is even looked up.
3. **Rate limit** — :func:`admit`: ``GRAPHQL_RATE_LIMIT`` operations per user, counted once
   per operation: an HTTP request, or a WebSocket ``subscribe``.
4. **Trusted documents** — opsapi.graphql.trusted: a ``documentId`` or Apollo's
   ``persistedQuery`` hash names a document from the manifests; ``GRAPHQL_TRUSTED_DOCUMENTS_ONLY``
   refuses any other document for the roles it names.
5. **Execution** — :func:`execute`: the schema runs the operation synchronously, in the request
   id's context (every history record written and every audit read recorded carries it), with
   the schema's extensions (opsapi.schema): error masking and codes, introspection policy,
   document limits, page sizes and cost, the execution deadline, the compiled read path, and
   the audit-read log.

A refusal at any step is a :class:`Refusal`: its code, its message and, for HTTP, its status.
Subscriptions stream from the channel layer instead of step 5 (opsapi.subscriptions), after
steps 1 to 4 and under the same schema extensions.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from graphql import GraphQLError, GraphQLSyntaxError, parse
from graphql.utilities import get_operation_ast
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from opsapi.accounts.services import user_for_token
from opsapi.audit.context import current_request_id, new_request_id, request_context
from opsapi.graphql import trusted
from opsapi.graphql.errors import GRAPHQL_VALIDATION_FAILED, error_response
from opsapi.ratelimit import address_retry_after, count_failed_authentication, user_retry_after

BAD_REQUEST = "BAD_REQUEST"
RATE_LIMITED = "RATE_LIMITED"
UNAUTHENTICATED = "UNAUTHENTICATED"


class Refusal(Exception):
    """An operation refused before it ran: ``code``, ``message``, the HTTP ``status`` and any
    further ``extensions`` (e.g. ``retryAfter``)."""

    def __init__(self, message: str, code: str, status: int = 400, *, locations=None, **extensions):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.locations = locations
        self.extensions = extensions

    @property
    def formatted(self) -> dict:
        """As a GraphQL error (the ``errors`` entry of a response, a WebSocket ``error``)."""
        error = {"message": self.message, "extensions": {"code": self.code, **self.extensions}}
        if self.locations:
            error["locations"] = self.locations
        return error

    def http_response(self):
        """As an HTTP response: the GraphQL-shaped error body, the status, ``Retry-After``."""
        response = error_response(self.message, self.code, self.status, **self.extensions)
        if "retryAfter" in self.extensions:
            response["Retry-After"] = str(self.extensions["retryAfter"])
        return response


@dataclass(frozen=True)
class OperationParams:
    """One operation's request parameters, checked."""

    query: str | None
    variables: dict | None = None
    operation_name: str | None = None
    extensions: dict | None = None


# Each parameter a request may carry, with the JSON types it may have.
_PARAMETERS = {
    "query": (str,),
    "operationName": (str,),
    "variables": (dict,),
    "extensions": (dict,),
    "documentId": (str,),
}
_TYPE_NAMES = {str: "a string", dict: "an object"}


def operation_params(params: Any, user) -> OperationParams:
    """The operation ``params`` ask for (an HTTP body or GET parameters, a WebSocket
    ``subscribe`` payload), its document resolved by opsapi.graphql.trusted for ``user``.
    Raises :class:`Refusal` (``BAD_REQUEST``, or the trusted-document codes)."""
    if isinstance(params, list):
        raise Refusal(
            "Batching is not enabled: send one operation per request, as a JSON object.",
            BAD_REQUEST,
        )
    if not isinstance(params, Mapping):
        raise Refusal(
            'The operation must be a JSON object: {"query": "...", "variables": {}}.', BAD_REQUEST
        )
    for name, types in _PARAMETERS.items():
        value = params.get(name)
        if value is not None and not isinstance(value, types):
            raise Refusal(
                f"The operation's `{name}` must be {_TYPE_NAMES[types[0]]} or null.",
                BAD_REQUEST,
                parameter=name,
            )
    try:
        query = trusted.resolve(params, user)
    except trusted.DocumentRefused as refused:
        raise Refusal(refused.message, refused.code) from refused
    if not query:
        raise Refusal(
            "No GraphQL query found in the operation: send `query` (or the `documentId` of a "
            "trusted document).",
            BAD_REQUEST,
            parameter="query",
        )
    return OperationParams(
        query=query,
        variables=params.get("variables"),
        operation_name=params.get("operationName"),
        extensions=params.get("extensions"),
    )


def operation_type(params: OperationParams) -> OperationType:
    """Whether ``params`` ask for a query, a mutation or a subscription (a transport that
    carries all three routes by it). A document that does not parse, or names no operation
    it holds, is refused here, for this operation alone."""
    document = trusted.parsed(params.query)
    if document is None:
        try:
            document = parse(params.query, max_tokens=settings.GRAPHQL_MAX_TOKENS)
        except GraphQLSyntaxError as error:
            # As the schema answers it over HTTP.
            raise Refusal(
                error.formatted["message"],
                GRAPHQL_VALIDATION_FAILED,
                locations=error.formatted.get("locations"),
            ) from error
    operation = get_operation_ast(document, params.operation_name)
    if operation is None:
        message = (
            f"The document has no operation named '{params.operation_name}'."
            if params.operation_name
            else "The document holds several operations: name one in 'operationName'."
        )
        raise Refusal(message, BAD_REQUEST, parameter="operationName")
    return OperationType(operation.operation.value)


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None if it is malformed."""
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return raw.strip()


def user_for_credentials(authorization: Any, address: str | None):
    """The active user a bearer ``authorization`` value (``"Bearer <token>"``) authenticates.

    Refuses (``UNAUTHENTICATED``, 401) a malformed value and a token that is invalid, expired
    or revoked, counting the failure against ``address``; refuses (``RATE_LIMITED``, 429) any
    token from an address over ``AUTH_FAILURE_RATE_LIMIT`` without looking it up."""
    if address and (blocked := address_retry_after(address)) is not None:
        rate, wait = blocked
        raise Refusal(
            f"Too many failed authentications from this address: the limit is {rate}. "
            f"Try again in {wait} seconds.",
            RATE_LIMITED,
            429,
            retryAfter=wait,
        )
    raw = bearer_token(authorization) if isinstance(authorization, str) else None
    user = user_for_token(raw) if raw else None
    if user is None:
        if address:
            count_failed_authentication(address)
        if raw is None:
            raise Refusal("Use the header 'Authorization: Bearer <token>'.", UNAUTHENTICATED, 401)
        raise Refusal("The API token is invalid, expired or revoked.", UNAUTHENTICATED, 401)
    return user


def admit(user) -> None:
    """Count one operation by ``user``; refuses (``RATE_LIMITED``, 429) one over
    ``GRAPHQL_RATE_LIMIT``."""
    limited = user_retry_after(user)
    if limited is not None:
        rate, wait = limited
        raise Refusal(
            f"Too many requests: the limit is {rate}. Try again in {wait} seconds.",
            RATE_LIMITED,
            429,
            retryAfter=wait,
        )


def execute(
    params: OperationParams,
    *,
    context: Any,
    allowed_operation_types: Iterable[OperationType],
    root_value: Any = None,
) -> ExecutionResult:
    """Run one query or mutation to its end, in the context of the current request id (a
    fresh one where the transport has none: each WebSocket operation is a request of its
    own)."""
    from opsapi.schema import schema

    with request_context(current_request_id() or new_request_id()):
        return schema.execute_sync(
            params.query,
            variable_values=params.variables,
            context_value=context,
            root_value=root_value,
            operation_name=params.operation_name,
            allowed_operation_types=allowed_operation_types,
            operation_extensions=params.extensions,
        )


def is_request_error(result: ExecutionResult) -> bool:
    """Whether ``result`` failed before execution (parse, validation, variables, limits): no
    data, and no error belongs to a field."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors)
    )


def formatted_errors(errors: Iterable[GraphQLError]) -> list[dict]:
    return [error.formatted for error in errors]
