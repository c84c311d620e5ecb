"""Live updates: GraphQL subscriptions over WebSocket at ``/graphql/`` (graphql-transport-ws).

A connection authenticates once, in its ``connection_init`` message: API clients send
``{"Authorization": "Bearer <token>"}`` as its payload; a browser page may instead rely on its
session cookie. An unauthenticated connection is closed with 4403 (Forbidden) before any
subscription starts. Browsers' cookies cannot be used from other sites' pages: strawberry
refuses handshakes whose Origin is neither the server's own nor in ``CSRF_TRUSTED_ORIGINS``.

Each connection may hold ``SUBSCRIPTIONS_PER_CONNECTION`` operations at once; one more gets a
"Subscription limit reached" error and the others go on. Any other path is refused at the
handshake.
"""

import datetime

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from django.conf import settings
from django.urls import path, re_path
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError

from opsapi.accounts.authentication import bearer_token
from opsapi.accounts.services import user_for_token
from opsapi.graphql.scoping import SubscriptionContext

# How long a client may take between opening the socket and sending connection_init.
CONNECTION_INIT_TIMEOUT = datetime.timedelta(seconds=10)


@database_sync_to_async
def connection_user(params: dict, scope: dict):
    """The active user a connection authenticates as: by the token in its ``connection_init``
    payload if it sends one (it must then be valid), else by its session cookie; or None."""
    header = params.get("Authorization", params.get("authorization"))
    if header is not None:
        raw = bearer_token(header) if isinstance(header, str) else None
        return user_for_token(raw) if raw else None
    user = scope.get("user")
    if user is not None and user.is_authenticated and user.is_active:
        return user
    return None


class OpsGraphQLWSConsumer(GraphQLWSConsumer):
    """strawberry's WebSocket consumer behind the project's authentication."""

    async def get_context(self, request, response) -> SubscriptionContext:
        return SubscriptionContext(ws=request)

    async def on_ws_connect(self, context: SubscriptionContext):
        user = await connection_user(context.connection_params or {}, context.ws.scope)
        if user is None:
            raise ConnectionRejectionError(
                {"message": "Authentication required: send {'Authorization': 'Bearer <token>'}."}
            )
        context.user = user
        return {"user": user.get_username()}


class NoSuchEndpoint(AsyncWebsocketConsumer):
    """Any other WebSocket path: refused at the handshake."""

    async def connect(self):
        await self.close()


def websocket_application():
    """The ASGI application serving WebSocket connections."""
    from opsapi.schema import schema

    return AuthMiddlewareStack(
        URLRouter(
            [
                path(
                    "graphql/",
                    OpsGraphQLWSConsumer.as_asgi(
                        schema=schema,
                        max_subscriptions_per_connection=settings.SUBSCRIPTIONS_PER_CONNECTION,
                        allowed_origins=settings.CSRF_TRUSTED_ORIGINS,
                        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
                    ),
                ),
                re_path(r"", NoSuchEndpoint.as_asgi()),
            ]
        )
    )
