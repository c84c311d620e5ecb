"""Request-scoped plumbing: a request id on every request, its log lines and its history;
and a clear answer when the database is down."""

import logging

from opsapi.audit.context import current_request_id, new_request_id, request_context
from opsapi.graphql.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    SERVICE_UNAVAILABLE,
    database_unavailable,
    error_response,
)

REQUEST_ID_HEADER = "X-Request-ID"
# Seconds a client is told to wait before retrying during a database outage.
RETRY_AFTER = 5

logger = logging.getLogger("opsapi.outage")


class RequestIdMiddleware:
    """Give every request a server-generated id.

    It is stored on every history record written during the request, added to log lines
    and returned in the X-Request-ID response header so a client can quote it when reporting
    a problem. Client-sent ids are ignored: the audit trail must not carry forged ones.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_request_id()
        with request_context(request.request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record ('-' outside of a request)."""

    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class OutageMiddleware:
    """Answer 503 with a GraphQL-shaped ``SERVICE_UNAVAILABLE`` error when the database cannot
    be reached, instead of Django's 500 page and a logged stack trace.

    Django's session and authentication middleware load lazily, so a request first touches the
    database in its view (the API's token or session lookup included): that is where
    ``process_exception`` sees the failure. How long a request may wait for the database is
    bounded by DATABASE_CONNECT_TIMEOUT and DATABASE_STATEMENT_TIMEOUT (settings). Each
    request opens or health-checks its connection, so service resumes by itself once the
    database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        logger.warning("Database unavailable: %s %s: %r", request.method, request.path, exception)
        response = error_response(DATABASE_UNAVAILABLE_MESSAGE, SERVICE_UNAVAILABLE, 503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
