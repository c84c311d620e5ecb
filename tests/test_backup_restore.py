"""The backup and restore procedure of docs/production.md, run for real on PostgreSQL:
pg_dump -Fc of a database holding incidents and their trail, pg_restore into a fresh database,
and verify_audit against the restored copy as the post-restore check."""

import io
import os
import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from coordination import services
from coordination.models import Incident
from tests.factories import make_action, make_incident, make_partner
from tests.processes import run_python

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump backs up PostgreSQL"),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump and pg_restore are not installed",
    ),
    # The dump sees committed rows only; serialized_rollback brings the reference data back.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def client_environment() -> dict:
    """libpq's environment for the test database's server (host, port, user, password)."""
    database = connection.settings_dict
    env = {**os.environ, "PGHOST": database["HOST"] or "localhost", "PGUSER": database["USER"]}
    if database["PORT"]:
        env["PGPORT"] = str(database["PORT"])
    if database["PASSWORD"]:
        env["PGPASSWORD"] = database["PASSWORD"]
    return env


def run(*command, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        env=env or client_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def url_of(name: str) -> str:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    port = f":{database['PORT']}" if database["PORT"] else ""
    host = database["HOST"] or "localhost"
    return f"postgres://{database['USER']}{password}@{host}{port}/{name}"


def verify_audit(database: str, chain_key: str) -> subprocess.CompletedProcess:
    """`manage.py verify_audit` in its own process, against ``database``."""
    env = {
        **os.environ,
        "DATABASE_URL": url_of(database),
        "AUDIT_CHAIN_KEY": chain_key,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    return run_python("manage.py", "verify_audit", env=env, timeout=300)


@pytest.fixture
def restore_database():
    """The name of a fresh, empty database to restore into; dropped afterwards."""
    name = f"opsapi_restore_{os.getpid()}"
    run("dropdb", "--if-exists", name)
    created = run("createdb", name)
    assert created.returncode == 0, created.stderr
    yield name
    dropped = run("dropdb", "--if-exists", "--force", name)
    assert dropped.returncode == 0, dropped.stderr


def test_a_backup_restores_into_a_fresh_database_that_passes_verify_audit(
    officer, restore_database, tmp_path
):
    # Given a database with incidents, their timeline, an action and a checkpoint
    partner = make_partner(officer)
    incident = make_incident(officer, title="Levee breach", shared_with=[partner])
    incident = services.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Levee breach, north"
    )
    make_action(officer, incident, partner)
    call_command("checkpoint_audit", stdout=io.StringIO())
    incidents, records = Incident.objects.count(), Incident.history.count()
    assert (incidents, records) == (1, 2)

    # When it is dumped and restored, as docs/production.md says
    backup = tmp_path / "opsapi.dump"
    dumped = run(
        "pg_dump", "-Fc", "--no-owner", "-f", str(backup), connection.settings_dict["NAME"]
    )
    assert dumped.returncode == 0, dumped.stderr
    restored = run(
        "pg_restore", "--no-owner", "--exit-on-error", "-d", restore_database, str(backup)
    )
    assert restored.returncode == 0, restored.stderr

    # Then the restored copy holds the same rows and its trail verifies
    counted = run(
        "psql", "-At", "-d", restore_database, "-c",
        "SELECT (SELECT count(*) FROM coordination_incident), "
        "(SELECT count(*) FROM coordination_historicalincident)",
    )  # fmt: skip
    assert counted.stdout.strip() == f"{incidents}|{records}"
    check = verify_audit(restore_database, settings.AUDIT_CHAIN_KEY)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("OK")

    # And the check is not a formality: under another chain key the same copy fails it
    wrong_key = verify_audit(restore_database, "not-the-key-the-records-were-written-with")
    assert wrong_key.returncode == 1
    assert "Incident" in wrong_key.stdout or "incident" in wrong_key.stdout
