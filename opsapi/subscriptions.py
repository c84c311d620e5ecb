"""The WebSocket transport of the operation pipeline (opsapi.graphql.pipeline): queries,
mutations and subscriptions over ``/graphql/``, speaking graphql-transport-ws only.

A handshake that offers no ``graphql-transport-ws`` subprotocol (the legacy ``graphql-ws``
included) is refused, as is any other path. A connection authenticates once, in its
``connection_init`` message: API clients send ``{"Authorization": "Bearer <token>"}`` as its
payload; a browser page may instead rely on its session cookie. An unauthenticated connection
is closed with 4403 (Forbidden) before any operation starts; one from an address over the
failed-authentication limit with 4429. Browsers' cookies cannot be used from other sites'
pages: strawberry refuses handshakes whose Origin is neither the server's own nor in
``CSRF_TRUSTED_ORIGINS``.

Each ``subscribe`` is one operation of the pipeline: it counts against its user's rate limit,
its payload's shape and document are checked, and a refusal (``BAD_REQUEST``,
``RATE_LIMITED``, the trusted-document codes) is an ``error`` message
for that operation id alone; the connection and its other operations go on. Queries and
mutations run to their end in a worker thread exactly as over HTTP, their result's
``extensions.requestId`` naming the request id their history records and audit reads carry.
A message that is not a protocol message at all (not JSON, no ``type``, a ``subscribe``
without a string ``id``) closes the connection with 4400, as the protocol prescribes.

Each connection may hold ``SUBSCRIPTIONS_PER_CONNECTION`` operations at once; one more gets a
"Subscription limit reached" error and the others go on.

A channel layer that fails (Redis down) does not end the connection: its subscriptions are
told, report the interruption to the client and resume once the layer is back
(opsapi.graphql.changes).
"""

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.contrib.auth import get_user
from django.db import close_old_connections, connection
from django.urls import path, re_path
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.graphql import OperationType

from opsapi.audit.context import current_request_id, new_request_id, request_context
from opsapi.graphql import pipeline
from opsapi.graphql.errors import INTERNAL_SERVER_ERROR, log_client_errors
from opsapi.graphql.pipeline import Refusal
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


# Close codes of the protocol (graphql-transport-ws) this transport uses.
CLOSE_INVALID_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_DUPLICATE_ID = 4409
CLOSE_TOO_MANY_REQUESTS = 4429

_EXECUTABLE = frozenset({OperationType.QUERY, OperationType.MUTATION})


def _as_a_request(function: Callable) -> Callable:
    """``function`` run as Django runs a request's view: stale database connections closed
    before and after it (except inside a transaction block, which only a test holds open)."""

    def run(*args):
        if not connection.in_atomic_block:
            close_old_connections()
        try:
            return function(*args)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()

    return run


async def in_worker_thread(function: Callable, *args):
    """``function(*args)`` in a thread of its own, as Django runs a sync view under ASGI."""
    async with ThreadSensitiveContext():
        return await sync_to_async(_as_a_request(function), thread_sensitive=True)(*args)


def connection_user(params: dict, scope: dict):
    """The active user a connection authenticates as: by the token in its ``connection_init``
    payload if it sends one (it must then be valid; pipeline.user_for_credentials), else by its
    session cookie; or None."""
    header = params.get("Authorization", params.get("authorization"))
    if header is not None:
        client = scope.get("client") or ("",)
        try:
            return pipeline.user_for_credentials(header, client[0])
        except Refusal as refusal:
            if refusal.code == pipeline.RATE_LIMITED:
                raise
            return None
    session = scope.get("session")
    if session is None:
        return None
    # Django's own session authentication (get_user reads nothing but ``.session``).
    user = get_user(SimpleNamespace(session=session))
    if user.is_authenticated and user.is_active:
        return user
    return None


def prepare_operation(payload, user) -> tuple[pipeline.OperationParams, OperationType]:
    """Steps 1 to 4 of the pipeline for one ``subscribe`` payload (raises Refusal)."""
    pipeline.admit(user)
    params = pipeline.operation_params(payload, user)
    return params, pipeline.operation_type(params)


class OpsTransportWSHandler(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler with every operation going through the
    pipeline, and malformed messages answered per the protocol rather than with a server
    error."""

    async def handle_message(self, message) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("Invalid message: a JSON object with a 'type'.")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message) -> None:
        if message.get("payload") is None:  # optional in the protocol
            message = {**message, "payload": {}}
        try:
            await super().handle_connection_init(message)
        except Refusal as refusal:
            await self.websocket.close(code=CLOSE_TOO_MANY_REQUESTS, reason=refusal.message[:120])

    async def handle_subscribe(self, message) -> None:
        if not self.connection_acknowledged:
            await self.websocket.close(code=CLOSE_UNAUTHORIZED, reason="Unauthorized")
            return
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.handle_invalid_message("Invalid message: 'id' must be a non-empty string.")
            return
        if operation_id in self.operations:
            reason = f"Subscriber for {operation_id[:60]} already exists"
            await self.websocket.close(code=CLOSE_DUPLICATE_ID, reason=reason)
            return
        # Each operation is a request of its own: its log lines, history records and audit
        # reads carry this id (the task below inherits it), and so does its answer.
        with request_context(new_request_id()):
            await self.start(operation_id, message.get("payload"))

    async def start(self, operation_id: str, payload) -> None:
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            await self.refuse(
                operation_id, Refusal("Subscription limit reached", "TOO_MANY_OPERATIONS")
            )
            return
        try:
            params, kind = await in_worker_thread(prepare_operation, payload, self.context.user)
        except Refusal as refusal:
            await self.refuse(operation_id, refusal)
            return
        operation = Operation(
            self, operation_id, params.query, params.variables, params.operation_name
        )
        if kind in _EXECUTABLE:
            operation.task = asyncio.create_task(self.run_to_end(operation, params))
        else:
            operation.task = asyncio.create_task(self.run_operation(operation))
        operation.task.add_done_callback(self._task_done)
        self.operations[operation_id] = operation

    async def refuse(self, operation_id: str, refusal: Refusal) -> None:
        """The ``error`` message for one operation that never started."""
        log_client_errors([(refusal.code, refusal.message)])
        error = refusal.formatted
        error["extensions"]["requestId"] = current_request_id()
        await self.send_message({"id": operation_id, "type": "error", "payload": [error]})

    def execute(self, params: pipeline.OperationParams):
        """Step 5 of the pipeline (in a worker thread, in the operation's request context)."""
        result = pipeline.execute(
            params,
            context=self.context,
            root_value=self.root_value,
            allowed_operation_types=_EXECUTABLE,
        )
        result.extensions = {**(result.extensions or {}), "requestId": current_request_id()}
        return result

    async def run_to_end(self, operation: Operation, params: pipeline.OperationParams) -> None:
        """A query or mutation: one ``next`` and ``complete``, or one ``error``."""
        try:
            result = await in_worker_thread(self.execute, params)
        except Exception:
            logger.exception("WebSocket operation failed")
            errors = [Refusal("Internal server error.", INTERNAL_SERVER_ERROR).formatted]
        else:
            errors = (
                pipeline.formatted_errors(result.errors)
                if pipeline.is_request_error(result)
                else None
            )
        if errors is not None:
            await operation.send_operation_message(
                {"id": operation.id, "type": "error", "payload": errors}
            )
            return
        await operation.send_next(result)
        await operation.send_operation_message({"id": operation.id, "type": "complete"})


class OpsGraphQLWSConsumer(GraphQLWSConsumer):
    """strawberry's WebSocket consumer with the pipeline's handler, outliving an outage of
    the channel layer."""

    graphql_transport_ws_handler_class = OpsTransportWSHandler

    async def connect(self) -> None:
        # Refused at the handshake, before anything else runs, unless the client speaks the
        # one protocol served.
        if GRAPHQL_TRANSPORT_WS_PROTOCOL not in self.scope.get("subprotocols", ()):
            await self.close()
            return
        await super().connect()

    async def disconnect(self, code: int) -> None:
        if self.run_task is not None:  # None: refused at the handshake
            await super().disconnect(code)

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
        user = await in_worker_thread(
            connection_user, context.connection_params or {}, context.ws.scope
        )
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

    # Sessions are read lazily, in the operation's worker thread (connection_user).
    return SessionMiddlewareStack(
        URLRouter(
            [
                path(
                    "graphql/",
                    OpsGraphQLWSConsumer.as_asgi(
                        schema=schema,
                        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                        max_subscriptions_per_connection=settings.SUBSCRIPTIONS_PER_CONNECTION,
                        allowed_origins=settings.CSRF_TRUSTED_ORIGINS,
                        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
                    ),
                ),
                re_path(r"", NoSuchEndpoint.as_asgi()),
            ]
        )
    )
