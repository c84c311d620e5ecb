"""docs/production.md's shell blocks, run as written (§3's SQL is run by
tests/test_database_role.py, §6's procedure by tests/test_backup_restore.py).

§1's environment is loaded the way it says, by a shell. On PostgreSQL, §0's rehearsal creates a
throwaway database on the local server and exports its environment, §2's commands migrate it,
load the reference data, collect the static files and start uvicorn, which must answer
/healthz from that database; then §0 rehearses §6 (a checkpoint, pg_dump, pg_restore into a
new database, verify_audit of the restored trail against the checkpoint) and its last block
drops both databases. Two things differ from an
operator's terminal: the database is named uniquely per run (so that concurrent runs do not
meet) and uvicorn listens on a free port instead of 8000. The blocks run in a copy of the
checkout (collectstatic writes there), in a shell with a login shell's variables only.
"""

import contextlib
import json
import os
import secrets
import signal
import subprocess

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


def rehearsal(setup: str, servers: str, restore: str, port: int) -> str:
    """§0's setup, §2's commands with uvicorn in the background until it answers /healthz
    (written to health.json) and is stopped, then §0's backup and restore: one shell, as the
    document says, so that the restore is verified under the key the records were written
    with. The lines between the blocks stand for the operator's curl and Ctrl-C."""
    return f"""{setup.rstrip()}
{servers.rstrip()} &
server=$!
tries=0
until curl -sf http://127.0.0.1:{port}/healthz > health.json; do
    kill -0 "$server"
    tries=$((tries + 1)); [ "$tries" -lt {START * 2} ]
    sleep 0.5
done
kill "$server"
wait "$server" || true
{restore}"""


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="§0 and §2 set up PostgreSQL: run in the suite's PostgreSQL pass",
)
def test_the_rehearsal_runs_as_written(tmp_path):
    assert len(REHEARSAL) == 3
    assert len(SERVERS) == 1
    name = f"{DOCUMENTED_DATABASE}_{secrets.token_hex(4)}"
    port = free_port()
    setup, restore, teardown = (block.replace(DOCUMENTED_DATABASE, name) for block in REHEARSAL)
    servers = SERVERS[0].replace(DOCUMENTED_PORT, f"--port {port}")
    assert servers != SERVERS[0]
    assert setup != REHEARSAL[0]
    checkout = checkout_copy(tmp_path / "opsapi")
    env = login_environment()
    shell = subprocess.Popen(
        ["sh", "-e", "-c", rehearsal(setup, servers, restore, port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the shell, uvicorn and its workers: stopped together
    )
    try:
        try:
            stdout, stderr = shell.communicate(timeout=START * 2)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGKILL)
        said = stdout + stderr
        assert shell.returncode == 0, said
        assert json.loads((checkout / "health.json").read_text()) == {
            "status": "ok",
            "database": "ok",
        }
        assert "Applying partners.0001_initial... OK" in said
        assert "Reference data created: states 56" in said
        assert "static files copied to" in said
        assert (checkout / "staticfiles" / "admin").is_dir()
        restored = f"postgres://postgres@127.0.0.1:5432/{name}_restored"
        assert reference_states(restored) == 56
        verified = stdout.strip().splitlines()[-1]
        assert verified.startswith("OK"), said
        assert "checkpoints" in verified, verified
    finally:
        dropped = subprocess.run(
            ["sh", "-e", "-c", teardown], cwd=checkout, env=env, capture_output=True, text=True
        )
    assert dropped.returncode == 0, dropped.stderr
    assert not database_exists(name)
    assert not database_exists(f"{name}_restored")
    assert not (checkout / f"{name}.dump").exists()
