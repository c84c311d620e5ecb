"""Request-scoped plumbing: a request id on every request, its log lines and its history."""

import logging

from opsapi.audit.context import current_request_id, new_request_id, request_context

REQUEST_ID_HEADER = "X-Request-ID"


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
