"""Live updates: GraphQL subscriptions over WebSocket at ``/graphql/`` (graphql-transport-ws).

A connection authenticates once, in its ``connection_init`` message: API clients send
``{"Authorization": "Bearer <token>"}`` as its payload; a browser page may instead rely on its
session cookie. An unauthenticated connection is closed with 4403 (Forbidden) before any
subscription starts. Browsers' cookies cannot be used from other sites' pages: strawberry
refuses handshakes whose Origin is neither the server's own nor in ``CSRF_TRUSTED_ORIGINS``.

Each connection may hold ``SUBSCRIPTIONS_PER_CONNECTION`` operations at once; one more gets a
"Subscription limit reached" error and the others go on. Any other path is refused at the
handshake.

A channel layer that fails (Redis down) does not end the connection: its subscriptions are
told, report the interruption to the client and resume once the layer is back
(opsapi.graphql.changes).
"""

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable, Iterator

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

logger = logging.getLogger("opsapi.subscriptions")

# How long a client may take between opening the socket and sending connection_init.
CONNECTION_INIT_TIMEOUT = datetime.timedelta(seconds=10)

# The key of the message a connection gives each of its listeners (strawberry's
# listen_to_channel, used by every subscription) when the channel layer fails under it.
LAYER_FAILED = "channel_layer_failed"


def retry_delays(first: float = 0.5, longest: float = 5.0) -> Iterator[float]:
    """Seconds to wait before each next try at a failing channel layer: doubling, capped at
    ``longest`` so that live updates resume within seconds of the layer's return."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, longest)


async def with_one_retry(call: Callable[[], Awaitable]):
    """``await call()``, tried once more at once if it fails: a connection that the Redis
    client pooled before an outage fails its first use after it, and is then replaced."""
    try:
        return await call()
    # Each layer fails in its own way (redis-py's ConnectionError, OSError, timeouts).
    except Exception:
        return await call()


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
    """strawberry's WebSocket consumer behind the project's authentication, outliving an
    outage of the channel layer."""

    # channels' AsyncConsumer.__call__ sets `channel_receive` to the layer's receive for this
    # connection's channel and dispatches what it returns for the life of the connection; an
    # exception from it (Redis gone) would end the connection, and every subscription with it
    # unannounced. Through this property the connection receives with _receive_from_layer.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict]]):
        self._layer_receive = receive

    async def _receive_from_layer(self) -> dict:
        """The next message from the channel layer. While the layer fails, every listener is
        told (a message marked LAYER_FAILED, of each type listened to) and receiving is tried
        again with growing delays; the socket stays open."""
        delays = None
        while True:
            try:
                return await with_one_retry(self._layer_receive)
            except Exception as error:  # see with_one_retry
                if delays is None:
                    logger.warning("Channel layer unavailable under a connection: %r", error)
                    delays = retry_delays()
            # Only subscriptions that have (re)joined their group listen, and they must know.
            for message_type in list(self.listen_queues):
                await self.dispatch({"type": message_type, LAYER_FAILED: True})
            await asyncio.sleep(next(delays))

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
