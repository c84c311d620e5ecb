"""Real server processes for end-to-end tests: uvicorn serving opsapi.asgi on loopback,
against the test database, optionally sharing events through the local Redis.

Tests that use them write committed data (transactional tests), so the servers see it.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STARTUP_TIMEOUT = 30


def database_url_of_tests() -> str:
    """The URL of the database the tests run on, for a server process to use."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


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
    """One uvicorn process on a loopback port chosen by the kernel."""

    def __init__(self, *, redis_prefix: str | None = None, extra_env: dict | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": database_url_of_tests(),
            "DEBUG": "",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "0",
            **(extra_env or {}),
        }
        env.pop("REDIS_URL", None)
        if redis_prefix is not None:
            env["REDIS_URL"] = REDIS_URL
            env["CHANNEL_LAYER_PREFIX"] = redis_prefix
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
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become ready")

    def graphql(self, query: str, variables: dict | None = None, *, token: str) -> dict:
        """POST an operation with a bearer token; returns the JSON body."""
        request = urllib.request.Request(
            f"{self.url}/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    def alive(self) -> bool:
        return self.process.poll() is None

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
