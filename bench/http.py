"""§2: the watch floor over HTTP, served the production way, under load.

Two servers run side by side, each ``uvicorn --workers <cores>`` as the README serves the API:
the API (``opsapi.asgi:application``) and the raw floor (``bench.asgi:application``: Django's
ASGI handler with the same settings and middleware, routing to :mod:`bench.raw`). A load
generator process (:mod:`bench.load`) keeps ``CONCURRENCY`` requests in flight against one of
them for a slice of time, then against the other, alternating, until each has had its total
time. Both answers are checked against each other before the load starts.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.client import BenchError
from bench.queries import WATCH_FLOOR
from bench.urls import RAW_WATCH_FLOOR

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8
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
            env={**os.environ, "PYTHONPATH": str(ROOT)},
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
        order = list(servers)
        for k in range(slices):
            for name in order[k % 2 :] + order[: k % 2]:
                runs[name].append(_load(servers[name], paths[name], body, token, seconds / slices))
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
            )
        )
        if results[-1].errors:
            failures = [error for r in slices_run for error in r["errors"]]
            raise BenchError(f"{name}: {results[-1].errors} failed requests, e.g. {failures[:3]}")
    return results
