"""HTTP entry points: the GraphQL endpoint (with its authentication) and the health check."""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from strawberry.django.views import GraphQLView

from opsapi.accounts.authentication import authenticate_request

logger = logging.getLogger("opsapi.views")


class OpsGraphQLView(GraphQLView):
    """strawberry's Django view behind the project's authentication."""

    graphql_ide = "graphiql"

    # CSRF is enforced in authenticate_request for cookie-authenticated calls; GraphiQL sends the
    # csrftoken cookie (set on every response) back as the X-CSRFToken header.
    @method_decorator(csrf_exempt)
    @method_decorator(ensure_csrf_cookie)
    def dispatch(self, request, *args, **kwargs):
        rejected = authenticate_request(request)
        if rejected is not None:
            return rejected
        return super().dispatch(request, *args, **kwargs)


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
