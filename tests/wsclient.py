"""A graphql-transport-ws client over a real WebSocket (the `websockets` library)."""

import asyncio
import json
import time
from contextlib import ExitStack
from unittest import mock

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.graphql import Operations

PROTOCOL = "graphql-transport-ws"


class GraphQLWebSocket:
    def __init__(self, url: str, **options):
        self._stack = ExitStack()
        self.socket = self._stack.enter_context(
            connect(url, subprotocols=[PROTOCOL], open_timeout=10, **options)
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def send(self, message: dict):
        self.socket.send(json.dumps(message))

    def receive(self, timeout: float = 10) -> dict:
        """The next message other than a ping (pings are answered)."""
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0)))
            if message.get("type") != "ping":
                return message
            self.send({"type": "pong"})

    def init(self, token: str | None = None) -> dict:
        """connection_init (with a bearer token if given); returns the server's answer."""
        self.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            if token
            else {"type": "connection_init"}
        )
        return self.receive()

    def subscribe(self, operation_id: str, query: str, variables: dict | None = None):
        self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )

    def complete(self, operation_id: str):
        self.send({"id": operation_id, "type": "complete"})

    def nothing_within(self, seconds: float) -> bool:
        """True if no message arrives within ``seconds``."""
        try:
            message = self.receive(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")

    def close_code(self, timeout: float = 10) -> int:
        """Wait for the server to close the connection; returns the close code."""
        try:
            while True:
                self.socket.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else closed.code


class WebSocketResponse:
    """What one operation over the WebSocket answered, read as the HTTP tests read a response:
    ``next`` (and ``complete``) or ``error`` answer 200 with the GraphQL body, as HTTP's
    application/json does; a connection the server closes at ``connection_init`` answers the
    HTTP status and code its close code stands for (4403: 401 UNAUTHENTICATED, 4429: 429
    RATE_LIMITED), the body naming the close code and reason."""

    CLOSE_CODES = {4403: (401, "UNAUTHENTICATED"), 4429: (429, "RATE_LIMITED")}

    def __init__(self, status_code: int, body: dict, messages: list[dict]):
        self.status_code = status_code
        # The request id travels in the result's extensions, as HTTP's in X-Request-ID.
        body = dict(body)
        extensions = dict(body.pop("extensions", None) or {})
        self.request_id = extensions.pop("requestId", None)
        if extensions:
            body["extensions"] = extensions
        self.body = body
        self.messages = messages  # every protocol message the operation got
        self.content = json.dumps(body).encode()

    def json(self) -> dict:
        return self.body


class _Connection:
    """One ASGI WebSocket connection to ``application``, run as a task of the caller's event
    loop in the caller's context (unlike asgiref's ApplicationCommunicator, which clears the
    context: the application's database work would then leave the test's thread and its
    open transaction). As channels' own test communicator does, channels' closing of stale
    connections before each message is turned off: it would close the test's transaction."""

    def __init__(self, application, scope: dict):
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run(application, scope))

    async def _run(self, application, scope):
        with mock.patch("channels.db.close_old_connections", return_value=None):
            await application(scope, self.inbox.get, self.outbox.put)

    async def send_input(self, message: dict):
        await self.inbox.put(message)

    async def receive_output(self, timeout: float) -> dict:
        return await asyncio.wait_for(self.outbox.get(), timeout)

    async def wait(self, timeout: float):
        await asyncio.wait_for(self.task, timeout)


class InProcessGraphQLWebSocket(Operations):
    """The project's real WebSocket application (opsapi.subscriptions), driven in process
    through ASGI: for tests whose data lives in an open transaction, which a server in
    another process could not see. Each :meth:`post` is one connection with one operation."""

    def __init__(self, token: str | None = None, *, address: str = "127.0.0.1"):
        self.token = token
        self.address = address

    def post(self, query: str, variables: dict | None = None, **payload) -> WebSocketResponse:
        from asgiref.sync import async_to_sync

        payload = {"query": query, "variables": variables or {}, **payload}
        return async_to_sync(self._exchange)([payload])[0]

    def exchange(self, messages: list) -> list[WebSocketResponse]:
        """Send each of ``messages`` on one connection, in order, as a ``subscribe`` payload
        (or as it is, if it is a dict with a ``type`` or an ``id``); the answers, in order."""
        from asgiref.sync import async_to_sync

        return async_to_sync(self._exchange)(messages)

    async def _exchange(self, payloads: list) -> list[WebSocketResponse]:
        from opsapi.subscriptions import websocket_application

        scope = {
            "type": "websocket",
            "path": "/graphql/",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": [PROTOCOL],
            "client": (self.address, 50000),
            "server": ("testserver", 80),
        }
        communicator = _Connection(websocket_application(), scope)
        try:
            await communicator.send_input({"type": "websocket.connect"})
            accepted = await communicator.receive_output(10)
            assert accepted["type"] == "websocket.accept", accepted
            init = {"type": "connection_init"}
            if self.token:
                init["payload"] = {"Authorization": f"Bearer {self.token}"}
            await self._send(communicator, init)
            answer = await communicator.receive_output(10)
            if answer["type"] == "websocket.close":
                return [self._closed(answer)] * len(payloads)
            responses = []
            for number, payload in enumerate(payloads):
                if isinstance(payload, dict) and ("type" in payload or "id" in payload):
                    message = payload
                else:
                    message = {"id": str(number), "type": "subscribe", "payload": payload}
                await self._send(communicator, message)
                responses.append(await self._answer(communicator))
            return responses
        finally:
            await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
            await communicator.wait(10)

    @staticmethod
    async def _send(communicator, message: dict):
        await communicator.send_input({"type": "websocket.receive", "text": json.dumps(message)})

    def _closed(self, close: dict) -> WebSocketResponse:
        code = close.get("code")
        status, meaning = WebSocketResponse.CLOSE_CODES.get(code, (400, "CLOSED"))
        error = {"message": close.get("reason", ""), "extensions": {"code": meaning}}
        return WebSocketResponse(status, {"errors": [error], "closeCode": code}, [close])

    async def _answer(self, communicator) -> WebSocketResponse:
        received = []
        while True:
            output = await communicator.receive_output(30)
            if output["type"] == "websocket.close":
                received.append(output)
                return self._closed(output)
            message = json.loads(output["text"])
            received.append(message)
            if message["type"] == "error":
                return WebSocketResponse(200, {"errors": message["payload"]}, received)
            if message["type"] == "complete":
                body = next(m["payload"] for m in received if m["type"] == "next")
                return WebSocketResponse(200, body, received)
