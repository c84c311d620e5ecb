"""§2: the watch floor over HTTP, served the production way, under load.

Two servers run side by side, each ``uvicorn --workers <cores>`` as the README serves the API:
the API (``opsapi.asgi:application``) and the raw floor (``bench.asgi:application``: Django's
ASGI handler with the same settings and middleware, routing to :mod:`bench.raw`). A load
generator process (:mod:`bench.load`) keeps ``CONCURRENCY`` requests in flight against one of
them for a slice of time, then against the other, alternating, until each has had its total
time. Both answers are checked against each other before the load starts.

Both servers run with a pool of ``POOL_SIZE`` PostgreSQL connections per worker
(``DATABASE_POOL_SIZE``, docs/production.md §3), as production is documented to: each request
borrows a connection and returns it. Without a pool, Django under ASGI either connects for
every request (``CONN_MAX_AGE=0``) or, with persistent connections, keeps one per request
thread (measured: up to 62 connections for one server at concurrency 8, and two servers under
load exhausted PostgreSQL's ``max_connections``). The peak number of connections to the
database during each endpoint's load is reported.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection

from bench.client import BenchError
from bench.queries import WATCH_FLOOR
from bench.urls import RAW_WATCH_FLOOR

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8
POOL_SIZE = 4  # PostgreSQL connections per worker process
STARTUP_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``uvicorn <app> --workers <workers>`` on a free loopback port, for the benchmark's
    lifetime (no access log: the load would only fill the terminal)."""

    def __init__(self, app: str, workers: int):
        self.app = app
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--lifespan",
                "off",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_POOL_SIZE": str(POOL_SIZE)},
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.app} exited with status {self.process.returncode}.")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()
        raise BenchError(f"{self.app} did not answer within {STARTUP_TIMEOUT} s.")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def post(self, path: str, body: str, token: str) -> dict:
        request = urllib.request.Request(
            self.url(path),
            data=body.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclasses.dataclass
class HttpResult:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    slice_rates: list[float]
    errors: int
    client_cpu: float  # load generator CPU seconds
    peak_connections: int | None  # to the database, during the load (PostgreSQL)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def latency(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def client_load(self) -> float:
        """The load generator's CPU use, as a share of one core."""
        return self.client_cpu / self.seconds


def _load(server: Server, path: str, body: str, token: str, seconds: float) -> dict:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--port",
            str(server.port),
            "--path",
            path,
            "--body",
            body,
            "--token",
            token,
            "--concurrency",
            str(CONCURRENCY),
            "--seconds",
            str(seconds),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


class ConnectionPeak:
    """The most connections the database had open while the block ran (PostgreSQL; sampled
    four times a second from a thread with a connection of its own)."""

    def __init__(self):
        self.peak = None
        self._stop = threading.Event()

    def __enter__(self):
        if connection.vendor == "postgresql":
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            self._stop.set()
            self._thread.join()

    def _sample(self) -> None:
        name = connection.settings_dict["NAME"]
        try:
            with connection.cursor() as cursor:
                while not self._stop.wait(0.25):
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
                    )
                    self.peak = max(self.peak or 0, cursor.fetchone()[0])
        finally:
            connection.close()  # this thread's own


def measure_http(token: str, *, first: int, seconds: float, slices: int) -> list[HttpResult]:
    """Requests/s and latency of the watch floor (``first`` incidents), API against floor,
    ``seconds`` of load each, in ``slices`` alternating slices."""
    body = json.dumps({"query": WATCH_FLOOR, "variables": {"first": first}})
    workers = os.cpu_count() or 1
    servers = {}
    try:
        servers["api"] = Server("opsapi.asgi:application", workers)
        servers["raw"] = Server("bench.asgi:application", workers)
        paths = {"api": "/graphql/", "raw": RAW_WATCH_FLOOR}
        answers = {name: servers[name].post(paths[name], body, token) for name in servers}
        if answers["api"] != answers["raw"] or "errors" in answers["api"]:
            raise BenchError("Over HTTP, the raw floor's answer differs from the API's.")
        for name in servers:  # warm both workers of each up
            _load(servers[name], paths[name], body, token, 1.0)
        runs = {name: [] for name in servers}
        peaks = {name: ConnectionPeak() for name in servers}
        order = list(servers)
        for k in range(slices):
            for name in order[k % 2 :] + order[: k % 2]:
                with peaks[name]:
                    runs[name].append(
                        _load(servers[name], paths[name], body, token, seconds / slices)
                    )
    finally:
        for server in servers.values():
            server.stop()
    results = []
    for name, slices_run in runs.items():
        results.append(
            HttpResult(
                name=name,
                requests=sum(r["requests"] for r in slices_run),
                seconds=sum(r["seconds"] for r in slices_run),
                latencies=[latency for r in slices_run for latency in r["latencies"]],
                slice_rates=[r["requests"] / r["seconds"] for r in slices_run],
                errors=sum(r["error_count"] for r in slices_run),
                client_cpu=sum(r["cpu_seconds"] for r in slices_run),
                peak_connections=peaks[name].peak,
            )
        )
        if results[-1].errors:
            failures = [error for r in slices_run for error in r["errors"]]
            raise BenchError(f"{name}: {results[-1].errors} failed requests, e.g. {failures[:3]}")
    return results
