"""A graphql-transport-ws client over a real WebSocket (the `websockets` library)."""

import json
import time
from contextlib import ExitStack

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

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
