"""ASGI entry point: HTTP through Django (the API, admin, pages), WebSocket for subscriptions.

Serve it with uvicorn (README). Static files (the admin's, GraphiQL's) are served by
WhiteNoise's middleware: from the apps in development (DEBUG), collected in production
(docs/production.md §4).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsapi.settings")

http_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter  # noqa: E402

from opsapi.graphql.trusted import registry  # noqa: E402
from opsapi.subscriptions import websocket_application  # noqa: E402

registry()  # the trusted-document manifests, loaded and checked now: a bad one stops the server

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": websocket_application(),
    }
)
