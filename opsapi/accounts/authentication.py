"""Authenticating HTTP requests to the API (GraphQL and the audit export)."""

from django.contrib.auth.views import redirect_to_login
from django.middleware.csrf import CsrfViewMiddleware

from opsapi.graphql.errors import error_response
from opsapi.graphql.pipeline import UNAUTHENTICATED, Refusal, user_for_credentials

CSRF_FAILED = "CSRF_FAILED"
FORBIDDEN = "FORBIDDEN"


def client_address(request) -> str:
    """The address a request came from, as the server sees it (behind a proxy, uvicorn's
    --proxy-headers makes it the client's)."""
    return request.META.get("REMOTE_ADDR", "")


def authenticate_request(request):
    """Authenticate an API request; returns an error response, or None to proceed.

    ``Authorization: Bearer <token>`` wins over a session cookie. Token requests need no CSRF
    token (a cross-site page cannot set that header); cookie-authenticated writes do.

    Checking a token takes the same time whatever the secret is: ``user_for_token`` hashes the
    raw token (SHA-256) and looks the *digest* up, so the only timing a guesser can observe is
    the database index comparing the digest of their guess with stored digests. That reveals at
    most how many leading characters of two digests agree, which says nothing about any real
    token (finding a token from its digest is a preimage attack on SHA-256); the final
    ``hmac.compare_digest`` of the digests is constant-time as well. The raw token never
    reaches the database, its logs or its query plans (tests/test_login_throttling.py).
    Failed tokens are counted per client address (opsapi.graphql.pipeline).
    """
    header = request.headers.get("Authorization")
    if header is not None:
        try:
            request.user = user_for_credentials(header, client_address(request))
        except Refusal as refusal:
            return refusal.http_response()
        return None
    if request.user.is_authenticated:
        rejected = CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {})
        if rejected is not None:
            return error_response(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                "header, or authenticate with an API token.",
                CSRF_FAILED,
                403,
            )
        return None
    if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
        return redirect_to_login(request.get_full_path())
    return error_response(
        "Authentication required: log in, or send 'Authorization: Bearer <token>'.",
        UNAUTHENTICATED,
        401,
    )
