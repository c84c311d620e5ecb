"""Real server processes for end-to-end tests: uvicorn serving opsapi.asgi on loopback,
against the test database, optionally sharing events through the local Redis.

Tests that use them write committed data (transactional tests), so the servers see it.
:class:`TcpProxy` stands between a server and PostgreSQL or Redis to play an outage of the
shared service without stopping it.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import quote

import pytest
from django.db import connection

from tests.processes import ROOT

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STARTUP_TIMEOUT = 30


def database_url_of_tests(*, port: int | None = None) -> str:
    """The URL of the database the tests run on, for a server process to use; on PostgreSQL,
    reached through loopback ``port`` instead of the database's own if given (a proxy's)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    host = "127.0.0.1" if port else settings["HOST"] or "127.0.0.1"
    port = port or settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def database_address_of_tests() -> tuple[str, int]:
    """(host, port) of the PostgreSQL server the tests run on."""
    settings = connection.settings_dict
    return settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)


def closed_port() -> int:
    """A loopback port where nothing listens (bound, never listened on, so no one else takes
    it while the test runs: connections to it are refused)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    _held_ports.append(holder)
    return holder.getsockname()[1]


_held_ports: list[socket.socket] = []


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis():
    """Skip without a local Redis, unless REQUIRE_REDIS=1 (CI), where its absence fails."""
    if redis_available():
        return
    if os.environ.get("REQUIRE_REDIS") == "1":
        pytest.fail("Redis at 127.0.0.1:6379 is required (REQUIRE_REDIS=1) but unreachable.")
    pytest.skip("no Redis at 127.0.0.1:6379 (CI runs these tests against it)")


class Server:
    """One uvicorn process on a loopback port chosen by the kernel.

    ``database_url`` and ``redis_url`` point it elsewhere than the test database and the local
    Redis (a proxy, a closed port); ``wait_for_database=False`` when it starts without one.
    """

    def __init__(
        self,
        *,
        redis_prefix: str | None = None,
        extra_env: dict | None = None,
        database_url: str | None = None,
        redis_url: str | None = None,
        wait_for_database: bool = True,
    ):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": database_url or database_url_of_tests(),
            "DEBUG": "",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "0",
            **(extra_env or {}),
        }
        env.pop("REDIS_URL", None)
        if redis_prefix is not None or redis_url is not None:
            env["REDIS_URL"] = redis_url or REDIS_URL
            env["CHANNEL_LAYER_PREFIX"] = redis_prefix or unique_prefix()
        self.wait_for_database = wait_for_database
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "opsapi.asgi:application",
                "--fd",
                str(self.sock.fileno()),
                "--no-access-log",
                "--lifespan",
                "off",
                "--log-level",
                "warning",
                "--ws-ping-interval",
                "0",
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[self.sock.fileno()],
        )
        self._wait_until_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def _wait_until_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            status = self.get("/healthz", timeout=STARTUP_TIMEOUT)[0] if self._up() else None
            if status == 200 or (status == 503 and not self.wait_for_database):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become ready")

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def get(self, path: str, *, timeout: float = 20) -> tuple[int, dict]:
        """GET ``path``: (HTTP status, JSON body), error statuses included."""
        return self._send(urllib.request.Request(f"{self.url}{path}"), timeout)

    def post_graphql(
        self, query: str, variables: dict | None = None, *, token: str, timeout: float = 20
    ) -> tuple[int, dict]:
        """POST an operation with a bearer token: (HTTP status, JSON body)."""
        request = urllib.request.Request(
            f"{self.url}/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        return self._send(request, timeout)

    def graphql(self, query: str, variables: dict | None = None, *, token: str) -> dict:
        """POST an operation with a bearer token; returns the JSON body of a 200 answer."""
        status, body = self.post_graphql(query, variables, token=token)
        assert status == 200, (status, body)
        return body

    @staticmethod
    def _send(request, timeout: float) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _json_or_text(error.read())

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self):
        """SIGKILL: the process dies at once, mid-request, with no chance to clean up."""
        self.process.kill()
        self.process.wait()
        self.sock.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.sock.close()


def unique_prefix() -> str:
    """A channel-layer prefix of its own, so concurrent test runs never hear each other."""
    return f"opsapi-test-{uuid.uuid4().hex[:12]}"


class TcpProxy:
    """A loopback TCP relay to ``target`` that a test can cut and restore.

    Cut, it drops every relayed connection and closes each new one as soon as it is accepted,
    as a crashed service's host would; restored, it relays new connections again. The service
    behind it (the shared PostgreSQL or Redis) is never touched.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._relaying = threading.Event()
        self._relaying.set()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        self._relaying.clear()
        with self._lock:
            for sock in self._open:
                _shut(sock)
            self._open.clear()

    def restore(self):
        self._relaying.set()

    def close(self):
        self.cut()
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self._relaying.is_set():
                _shut(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.difference_update((source, sink))
            _shut(source)
            _shut(sink)


def _json_or_text(raw: bytes):
    """A body as JSON, or as text if it is not (an HTML error page shows in the assertion)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _shut(sock: socket.socket):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
