"""docs/production.md's shell blocks, run as written (§3's SQL is run by
tests/test_database_role.py, §6's procedure by tests/test_backup_restore.py).

§1's environment is loaded the way it says, by a shell. On PostgreSQL, §0's rehearsal creates a
throwaway database on the local server and exports its environment, §2's commands migrate it,
load the reference data, collect the static files and start uvicorn, which must answer
/healthz from that database, and §0's last block drops it. Two things differ from an
operator's terminal: the database is named uniquely per run (so that concurrent runs do not
meet) and uvicorn listens on a free port instead of 8000. The blocks run in a copy of the
checkout (collectstatic writes there), in a shell with a login shell's variables only.
"""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

import psycopg
import pytest
from django.db import connection

from tests.processes import ROOT
from tests.snippets import checkout_copy, free_port, login_environment, section, shell_blocks

DOC = (ROOT / "docs" / "production.md").read_text()
REHEARSAL = shell_blocks(section(DOC, "0. "))
ENVIRONMENT = shell_blocks(section(DOC, "1. "))
SERVERS = shell_blocks(section(DOC, "2. "))
DOCUMENTED_DATABASE = "opsapi_rehearsal"
DOCUMENTED_PORT = "--port 8000"
SERVER = "http://127.0.0.1:{port}/healthz"
START = 180  # seconds for migrate, reference data, collectstatic and uvicorn's workers


def test_the_environment_loads_as_section_1_says(tmp_path):
    assert len(ENVIRONMENT) == 1
    (tmp_path / "env").write_text(ENVIRONMENT[0])
    loaded = subprocess.run(
        ["sh", "-c", "set -a; . ./env; set +a; env"],
        cwd=tmp_path,
        env=login_environment(),
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    variables = dict(line.split("=", 1) for line in loaded.stdout.splitlines() if "=" in line)
    assert variables["ALLOWED_HOSTS"] == "ops.example.gov"
    assert variables["CSRF_TRUSTED_ORIGINS"] == "https://ops.example.gov"
    assert variables["HSTS_INCLUDE_SUBDOMAINS"] == "1"
    assert variables["DATABASE_URL"] == "postgres://opsapi_app:...@db.internal:5432/opsapi"
    assert variables["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    for name in ("SECRET_KEY", "AUDIT_CHAIN_KEY", "HTTPS_ONLY", "TRUST_X_FORWARDED_PROTO"):
        assert name in variables, name


def database_exists(name: str) -> bool:
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres") as server:
        found = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return found.fetchone() is not None


def reference_states(url: str) -> int:
    with psycopg.connect(url) as database:
        return database.execute("SELECT count(*) FROM partners_state").fetchone()[0]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="§0 and §2 set up PostgreSQL: run in the suite's PostgreSQL pass",
)
def test_the_rehearsal_and_the_server_commands_run_as_written(tmp_path):
    assert len(REHEARSAL) == 2
    assert len(SERVERS) == 1
    database = f"{DOCUMENTED_DATABASE}_{secrets.token_hex(4)}"
    port = free_port()
    setup, teardown = (block.replace(DOCUMENTED_DATABASE, database) for block in REHEARSAL)
    servers = SERVERS[0].replace(DOCUMENTED_PORT, f"--port {port}")
    assert servers != SERVERS[0]
    assert setup != REHEARSAL[0]
    checkout = checkout_copy(tmp_path / "opsapi")
    env = login_environment()
    log = (tmp_path / "servers.log").open("w+")
    process = subprocess.Popen(
        ["sh", "-e", "-c", f"{setup}\n{servers}"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = wait_for_health(SERVER.format(port=port), process, log)
        assert health == {"status": "ok", "database": "ok"}
        said = output(log)
        assert "Applying partners.0001_initial... OK" in said
        assert "Reference data created: states 56" in said
        assert "static files copied to" in said
        assert (checkout / "staticfiles" / "admin").is_dir()
        assert reference_states(f"postgres://postgres@127.0.0.1:5432/{database}") == 56
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        dropped = subprocess.run(
            ["sh", "-e", "-c", teardown], env=env, capture_output=True, text=True
        )
    assert dropped.returncode == 0, dropped.stderr
    assert not database_exists(database)


def wait_for_health(url: str, process: subprocess.Popen, log) -> dict:
    deadline = time.monotonic() + START
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the commands stopped with {process.returncode}:\n{output(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"uvicorn was not serving after {START} s:\n{output(log)}")


def output(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()
