"""README.md's commands, run as written by a newcomer: in a copy of the checkout with no
database, its first block (`make run`, `make test`), then every other shell block, in one shell,
against the server `make run` started.

Two things differ from a newcomer's terminal, both through the environment: `make run` serves
on a free port instead of 8000 (`PORT`, which the blocks' URLs are pointed at), and the demo
data set is its smallest (`DEMO_SCALE=20`) to keep the test short. `make test` is this very
suite: only its recipe is checked (`make -n test`). The shell has a login shell's variables,
none of the test run's settings, so it proves that nothing needs a prefix (SECRET_KEY, DEBUG).
"""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest
from django.db import connection

from tests.processes import ROOT
from tests.snippets import checkout_copy, commands, free_port, login_environment, shell_blocks

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="`make run` sets up its own SQLite database whatever the suite runs on: "
    "run once, in the suite's SQLite pass",
)

README = (ROOT / "README.md").read_text()
DOCUMENTED_PORT = "127.0.0.1:8000"
SERVER_START = 240  # seconds: dependencies are there, but migrate runs on a new database


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """(checkout copy, environment, server URL): `make run` serving from the copy."""
    checkout = checkout_copy(tmp_path_factory.mktemp("readme") / "opsapi")
    port = free_port()
    env = login_environment(PORT=str(port), DEMO_SCALE="20")
    log = (checkout / "make-run.log").open("w+")
    server = subprocess.Popen(
        ["sh", "-c", "make run"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make, manage.py and uvicorn: stopped together
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server, log)
        yield checkout, env, f"127.0.0.1:{port}", log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def wait_until_serving(url: str, server: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + SERVER_START
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"make run exited with {server.returncode}:\n{output_of(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"make run was not serving after {SERVER_START} s:\n{output_of(log)}")


def output_of(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def test_the_first_block_is_the_two_set_up_commands():
    assert commands(shell_blocks(README)[0]) == ["make run", "make test"]


def test_make_run_sets_up_an_empty_checkout_with_the_demo_data(newcomer):
    _, _, _, log = newcomer
    said = output_of(log)
    assert "Created the administrator account:" in said
    assert "  username: admin" in said
    assert (
        "First run on an empty database: loading the demo data set "
        "(to start empty instead: make run DEMO=0)." in said
    )
    assert "Seeded the demo data (seed 2026)" in said
    assert "Incidents: 20 " in said


def test_make_test_is_a_target(newcomer):
    checkout, env, _, _ = newcomer
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "-m pytest" in dry_run.stdout


def test_the_other_blocks_run_as_written_against_the_server(newcomer):
    checkout, env, address, _ = newcomer
    script = "\n".join(shell_blocks(README)[1:]).replace(DOCUMENTED_PORT, address)

    ran = subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)
    assert "errors" not in answer, answer
    assert answer["data"]["me"] == {"username": "admin"}
    incidents = answer["data"]["incidents"]
    assert incidents["totalCount"] > 0
    severities = [edge["node"]["severity"] for edge in incidents["edges"]]
    assert len(severities) == 3
    assert {edge["node"]["status"] for edge in incidents["edges"]} <= {"REPORTED", "ACTIVE"}
    assert "Token for admin (no expiry). It is shown only once:" in ran.stderr


def test_readme_links_stay_inside_the_repository():
    for target in re.findall(r"\]\(([^)#]+)", README):
        if target.startswith(("http://", "https://")):
            continue
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT), target
        assert path.exists(), f"README links to {target}, which is not in the repository"
