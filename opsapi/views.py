"""HTTP entry points: the GraphQL endpoint (with its authentication) and the health check."""

import logging

from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from strawberry.django.views import GraphQLView

from opsapi.accounts.services import user_for_token
from opsapi.graphql.errors import mask_result_errors

logger = logging.getLogger("opsapi.views")

UNAUTHENTICATED = "UNAUTHENTICATED"
CSRF_FAILED = "CSRF_FAILED"


def _error(message: str, code: str, status: int) -> JsonResponse:
    response = JsonResponse({"errors": [{"message": message, "extensions": {"code": code}}]})
    response.status_code = status
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="opsapi"'
    return response


def _authenticate(request):
    """Authenticate an API request; returns an error response, or None to proceed.

    ``Authorization: Bearer <token>`` wins over a session cookie. Token requests need no CSRF
    token (a cross-site page cannot set that header); cookie-authenticated writes do.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return _error("Use the header 'Authorization: Bearer <token>'.", UNAUTHENTICATED, 401)
        user = user_for_token(raw.strip())
        if user is None:
            return _error("The API token is invalid, expired or revoked.", UNAUTHENTICATED, 401)
        request.user = user
        return None
    if request.user.is_authenticated:
        rejected = CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {})
        if rejected is not None:
            return _error(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                "header, or authenticate with an API token.",
                CSRF_FAILED,
                403,
            )
        return None
    if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
        return redirect_to_login(request.get_full_path())
    return _error(
        "Authentication required: log in, or send 'Authorization: Bearer <token>'.",
        UNAUTHENTICATED,
        401,
    )


class OpsGraphQLView(GraphQLView):
    """strawberry's Django view behind the project's authentication."""

    graphql_ide = "graphiql"

    # CSRF is enforced in _authenticate for cookie-authenticated calls; GraphiQL sends the
    # csrftoken cookie (set on every response) back as the X-CSRFToken header.
    @method_decorator(csrf_exempt)
    @method_decorator(ensure_csrf_cookie)
    def dispatch(self, request, *args, **kwargs):
        rejected = _authenticate(request)
        if rejected is not None:
            return rejected
        return super().dispatch(request, *args, **kwargs)

    def process_result(self, request, result):
        mask_result_errors(result)
        return super().process_result(request, result)


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
