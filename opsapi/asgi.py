"""ASGI entry point: HTTP through Django (the API, admin, pages), WebSocket for subscriptions.

Serve it with uvicorn (README). In development (DEBUG) the admin's static files are served
too, as runserver would; in production they are collected and served by the proxy.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsapi.settings")

http_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from opsapi.graphql.trusted import registry  # noqa: E402
from opsapi.subscriptions import websocket_application  # noqa: E402

registry()  # the trusted-document manifests, loaded and checked now: a bad one stops the server

application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(http_application) if settings.DEBUG else http_application,
        "websocket": websocket_application(),
    }
)
