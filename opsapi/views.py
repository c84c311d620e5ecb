"""HTTP entry points: the GraphQL endpoint (with its authentication and the GraphQL-over-HTTP
rules), the page a locked-out login sees, and the health check."""

import json
import logging

from cross_web import HTTPException
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.html import escape
from django.utils.http import parse_header_parameters
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from strawberry.django.views import GraphQLView
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from opsapi.accounts.authentication import authenticate_request
from opsapi.graphql import pipeline
from opsapi.graphql.errors import INTERNAL_SERVER_ERROR, error_response
from opsapi.graphql.pipeline import BAD_REQUEST, Refusal

logger = logging.getLogger("opsapi.views")

# Response media types (GraphQL over HTTP): the specified one, and the legacy one.
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

# Codes of errors about the HTTP request itself.
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"

_HTTP_ERROR_CODES = {
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
}

# The status of a GraphQL request error (one that prevented execution) by its code, when the
# client reads application/graphql-response+json; anything else is the request's fault, 400.
_REQUEST_ERROR_STATUS = {INTERNAL_SERVER_ERROR: 500, "SERVICE_UNAVAILABLE": 503}

# What each Accept entry the API can satisfy gets.
_ACCEPTABLE = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}


def response_media_type(request) -> str | None:
    """The media type to answer in, by the request's ``Accept`` header; None if it accepts
    neither JSON type.

    The highest-quality acceptable entry wins, the earlier one on a tie; parameters such as
    ``charset=utf-8`` are ignored (the answer is always UTF-8). No ``Accept`` header, or a
    wildcard, gets ``application/json``: the legacy type keeps existing clients (which read a
    200 with ``errors`` as a failed operation) working; a client opts into the specified
    status codes by asking for ``application/graphql-response+json``.
    """
    header = request.headers.get("Accept", "").strip()
    if not header:
        return JSON
    best, best_quality = None, 0.0
    for entry in header.split(","):
        media_type, params = parse_header_parameters(entry)
        try:
            quality = float(params.get("q", 1))
        except ValueError:
            continue
        chosen = _ACCEPTABLE.get(media_type.lower())
        if chosen is not None and quality > best_quality:
            best, best_quality = chosen, quality
    return best


class OpsGraphQLView(GraphQLView):
    """The HTTP transport of the operation pipeline (opsapi.graphql.pipeline), speaking
    GraphQL over HTTP: GET for queries only (405 for a mutation), POST with a JSON body
    (415 otherwise, 413 when too large), ``application/graphql-response+json`` with its status
    codes when asked for, and every refusal a GraphQL-shaped JSON error."""

    graphql_ide = "graphiql"

    # CSRF is enforced in authenticate_request for cookie-authenticated calls; GraphiQL sends the
    # csrftoken cookie (set on every response) back as the X-CSRFToken header.
    @method_decorator(csrf_exempt)
    @method_decorator(ensure_csrf_cookie)
    def dispatch(self, request, *args, **kwargs):
        self.accepted_type = response_media_type(request)
        self.media_type = self.accepted_type or JSON
        try:
            response = self._dispatch(request)
        except RequestDataTooBig:
            response = self.http_error(
                413,
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            )
        except TooManyFieldsSent:
            response = self.http_error(
                413,
                f"The form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.",
            )
        if response.get("Content-Type", "").startswith(JSON) and self.media_type != JSON:
            response["Content-Type"] = f"{self.media_type}; charset=utf-8"
        return response

    def _dispatch(self, request):
        if request.method == "POST":
            request.body  # noqa: B018 — read now, so an oversized body is refused as one
        rejected = authenticate_request(request)
        if rejected is not None:
            return rejected
        try:
            pipeline.admit(request.user)
            adapter = self.request_adapter_class(request)
            if self.accepted_type is None and not self.should_render_graphql_ide(adapter):
                return self.http_error(
                    406,
                    f"The API answers in {GRAPHQL_RESPONSE_JSON} or {JSON}: accept one of them.",
                )
            return self.run(request=request)
        except Refusal as refusal:
            return refusal.http_response()
        except HTTPException as error:
            response = self.http_error(error.status_code, error.reason)
            if error.status_code == 405:
                response["Allow"] = getattr(error, "allow", "GET, POST")
            return response

    def render_graphql_ide(self, request) -> HttpResponse:
        """GraphiQL from the project's own static files (opsapi/static/graphiql/): no CDN."""
        return render(request, "opsapi/graphiql.html")

    def http_error(self, status: int, message: str) -> JsonResponse:
        return error_response(message, _HTTP_ERROR_CODES.get(status, BAD_REQUEST), status)

    # --- reading the request ---------------------------------------------------------------

    def parse_http_body(self, request):
        """The operation of a GET's parameters or a POST's JSON body, through the pipeline's
        checks of its shape and its document (opsapi.graphql.pipeline.operation_params)."""
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type != JSON:
                raise HTTPException(
                    415,
                    "Send the operation as a JSON body with 'Content-Type: application/json'.",
                )
            try:
                body = request.body  # decoded as UTF-8 by strawberry's request adapter
            except UnicodeDecodeError as error:
                raise HTTPException(400, "The request body is not valid UTF-8.") from error
            # A JSON string or number is no operation (strawberry would fail on it).
            if body.lstrip()[:1] not in ("{", "["):
                self.parse_json(body)  # not JSON at all: says so
                raise HTTPException(
                    400,
                    'The request body must be a JSON object: {"query": "...", "variables": {}}.',
                )
            data = self.parse_json(body)
        else:
            data = self.parse_query_params(request.query_params)
        return pipeline.operation_params(data, request.request.user)

    def decode_json(self, data):
        try:
            return json.loads(data)
        except RecursionError as error:
            raise HTTPException(400, "The request body's JSON is nested too deeply.") from error

    # --- running it ------------------------------------------------------------------------

    def execute_single(
        self, request, request_adapter, sub_response, context, root_value, request_data
    ):
        """Run the operation through the pipeline; GET runs queries only (405 otherwise), and
        subscriptions run over the WebSocket only (400)."""
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        try:
            return pipeline.execute(
                request_data,
                context=context,
                root_value=root_value,
                allowed_operation_types=allowed,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            if request_adapter.method == "GET" and error.operation_type == OperationType.MUTATION:
                refusal = HTTPException(405, "Mutations must be sent with POST: GET runs queries.")
                refusal.allow = "POST"
                raise refusal from error
            if error.operation_type == OperationType.SUBSCRIPTION:
                raise HTTPException(
                    400,
                    "Subscriptions run over a WebSocket to /graphql/ (graphql-transport-ws), "
                    "not over HTTP.",
                ) from error
            raise HTTPException(400, error.as_http_error_reason(request_adapter.method)) from error

    # --- answering -------------------------------------------------------------------------

    def process_result(self, request, result):
        body = super().process_result(request, result)
        if self.media_type == GRAPHQL_RESPONSE_JSON and pipeline.is_request_error(result):
            del body["data"]
        return body

    def create_response(self, response_data, sub_response):
        response = super().create_response(response_data, sub_response)
        response["Content-Type"] = f"{self.media_type}; charset=utf-8"
        if self.media_type == GRAPHQL_RESPONSE_JSON and "data" not in response_data:
            codes = {
                (error.get("extensions") or {}).get("code") for error in response_data["errors"]
            }
            response.status_code = max(
                (_REQUEST_ERROR_STATUS.get(code, 400) for code in codes), default=400
            )
        return response


def login_locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """What django-axes answers a login attempt by a locked-out username and address: 429,
    a plain page saying why and for how long, and Retry-After."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"This account is locked after {settings.AXES_FAILURE_LIMIT} failed logins. "
        f"Try again in {minutes} minutes, or ask an administrator to unlock it."
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Account locked | OPS API</title></head>"
        f"<body><h1>Account locked</h1><p>{escape(message)}</p></body></html>"
    )
    response = HttpResponse(page, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@never_cache
def healthz(request):
    """200 with the database's state, or 503 if it cannot be reached. Reveals nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: database unavailable", exc_info=True)
        connection.close()
        return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
