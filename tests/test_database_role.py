"""The least-privilege database roles of docs/production.md §3, run for real on PostgreSQL.

The SQL is taken from the document itself (only the names are made unique to the test run):
the roles and a database are created with it, the database is migrated as the owner role, and
then the application role is shown to write rows and history as the application does, and to
be refused every way of rewriting history, triggers or no triggers — whereas a superuser, with
``session_replication_role = replica``, gets an UPDATE of a history record through.
"""

import os
import re
import secrets

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.processes import ROOT, run_python

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="database roles exist on PostgreSQL only"
    ),
]

HISTORY = "coordination_historicalincident"
ACCESS_LOG = "audit_auditaccess"
HISTORY_TABLES = (HISTORY, f"{HISTORY}_states", ACCESS_LOG, "audit_auditcheckpoint")
APPLICATION = ("SELECT", "INSERT", "UPDATE", "DELETE")  # on the application's own tables


def documented_sql() -> dict[str, str]:
    """{step number: SQL} of the ```sql blocks of docs/production.md §3 ("-- 1. …" first)."""
    text = (ROOT / "docs" / "production.md").read_text()
    section = text[text.index("## 3. ") : text.index("## 4. ")]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    return {re.match(r"-- (\d+)\.", block).group(1): block for block in blocks}


def statements(sql: str, names: dict[str, str]) -> list[str]:
    """The statements of ``sql`` (a DO block is one), with the documented names replaced."""
    for documented, unique in names.items():
        sql = re.sub(rf"\b{documented}\b", unique, sql)
    found, lines = [], []
    for line in sql.splitlines():
        if line.startswith("--"):
            continue
        lines.append(line)
        statement = "\n".join(lines)
        if line.rstrip().endswith(";") and statement.count("$$") % 2 == 0:
            found.append(statement.strip())
            lines = []
    assert not "".join(lines).strip(), f"unfinished statement: {lines}"
    return found


def url(role: str, database: str) -> str:
    server = settings.DATABASES["default"]
    return f"postgres://{role}@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}/{database}"


def connect(role: str, database: str) -> psycopg.Connection:
    return psycopg.connect(url(role, database), autocommit=True)


def environment(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    return {**env, "DATABASE_URL": database_url, "DEBUG": "0"}


@pytest.fixture(scope="session")
def least_privilege_database():
    """A new database set up by the SQL of docs/production.md §3 and migrated as its owner:
    {"database", "owner", "app", "superuser"} (role names) and a ``url(role)`` maker."""
    tag = secrets.token_hex(4)
    names = {
        "opsapi_owner": f"opsapi_owner_{tag}",
        "opsapi_app": f"opsapi_app_{tag}",
        "opsapi": f"opsapi_roles_{tag}",
    }
    superuser = settings.DATABASES["default"]["USER"]
    database = names["opsapi"]
    sql = documented_sql()
    with connect(superuser, "postgres") as server:
        for statement in statements(sql["1"], names):
            server.execute(statement)
    try:
        with connect(superuser, database) as db:
            for statement in statements(sql["2"], names):
                db.execute(statement)
        migrated = run_python(
            "manage.py",
            "migrate",
            "--noinput",
            env=environment(url(names["opsapi_owner"], database)),
            timeout=300,
        )
        assert migrated.returncode == 0, migrated.stderr
        yield {
            "database": database,
            "owner": names["opsapi_owner"],
            "app": names["opsapi_app"],
            "superuser": superuser,
            "names": names,
            "url": lambda role: url(role, database),
        }
    finally:
        with connect(superuser, "postgres") as server:
            server.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            server.execute(f"DROP ROLE IF EXISTS {names['opsapi_app']}")
            server.execute(f"DROP ROLE IF EXISTS {names['opsapi_owner']}")


def refused(db: psycopg.Connection, statement: str, match: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=match):
        db.execute(statement)


def privileges(db: psycopg.Connection, role: str, table: str) -> set[str]:
    """What ``role`` may do with ``table``."""
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    check = "SELECT has_table_privilege(%s, %s, %s)"
    return {kind for kind in kinds if db.execute(check, [role, table, kind]).fetchone()[0]}


def test_the_documented_sql_is_there():
    assert set(documented_sql()) == {"1", "2", "3"}


def test_the_application_role_writes_rows_history_and_access_log_through_the_app(
    least_privilege_database,
):
    roles = least_privilege_database
    script = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from coordination.services import update_incident
from opsapi.accounts.access import OPS_OFFICER
from tests.factories import make_incident, state
call_command("load_reference_data")
officer = get_user_model().objects.create_user(username="officer")
officer.groups.set(Group.objects.filter(name=OPS_OFFICER))
incident = make_incident(officer, states=[state("TX"), state("LA")])
update_incident(actor=officer, incident=incident, version=incident.version, title="Renamed")
call_command("export_audit", output="/dev/null")
call_command("verify_audit")
"""
    result = run_python("-c", script, env=environment(roles["url"](roles["app"])))
    assert result.returncode == 0, result.stderr
    assert ", 1 access-log entries, " in result.stdout
    with connect(roles["app"], roles["database"]) as db:
        assert db.execute("SELECT count(*) FROM partners_historicalsector").fetchone()[0] > 0
        assert db.execute(f"SELECT count(*) FROM {HISTORY}").fetchone()[0] == 2
        assert db.execute(f"SELECT count(*) FROM {HISTORY}_states").fetchone()[0] == 4
        role = "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        assert db.execute(role).fetchone() == (False, False)


def test_the_application_role_cannot_rewrite_history_or_switch_the_triggers_off(
    least_privilege_database,
):
    roles = least_privilege_database
    app = roles["app"]
    with connect(app, roles["database"]) as db:
        # Tables created by the migrations got the default privileges; history tables lost
        # UPDATE, DELETE and TRUNCATE when the migrations protected them.
        assert privileges(db, app, "coordination_incident") == set(APPLICATION)
        for table in HISTORY_TABLES:
            assert privileges(db, app, table) == {"SELECT", "INSERT"}, table
        db.execute("UPDATE coordination_incident SET title = title WHERE id < 0")
        refused(db, f"UPDATE {HISTORY} SET title = 'Rewritten'", "permission denied for table")
        refused(db, f"DELETE FROM {ACCESS_LOG}", "permission denied for table")
        refused(db, f"TRUNCATE {HISTORY}", "permission denied for table")
        refused(db, "SET session_replication_role = replica", "permission denied to set parameter")
        refused(db, f"ALTER TABLE {HISTORY} DISABLE TRIGGER USER", "must be owner")
        refused(db, f"DROP TABLE {HISTORY}", "must be owner")


def test_only_a_superuser_gets_an_update_of_an_audit_record_past_the_triggers(
    least_privilege_database,
):
    """Why the application must not connect as a superuser: the triggers hold against it only
    until it switches them off for its session."""
    roles = least_privilege_database
    change = f"UPDATE {ACCESS_LOG} SET target = 'Rewritten' WHERE id = %s"
    with connect(roles["superuser"], roles["database"]) as db:
        record = db.execute(
            f"INSERT INTO {ACCESS_LOG} (sequence, at, request_id, operation, target, arguments, "
            "record_hash, chain_key_id) VALUES (999999, now(), '', 'history', 'x', '{}', '', '') "
            "RETURNING id"
        ).fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="history is append-only"):
            db.execute(change, [record])
        db.execute("SET session_replication_role = replica")
        assert db.execute(change, [record]).rowcount == 1
        db.execute(f"DELETE FROM {ACCESS_LOG} WHERE id = %s", [record])  # leave no trace
        db.execute("SET session_replication_role = DEFAULT")
    with connect(roles["app"], roles["database"]) as db:
        refused(db, "SET session_replication_role = replica", "permission denied to set parameter")


def test_the_documented_grants_for_an_existing_database_leave_history_insert_only(
    least_privilege_database,
):
    roles = least_privilege_database
    app = roles["app"]
    with connect(roles["superuser"], roles["database"]) as db:
        db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {app}")  # granted too much
        assert {"UPDATE", "TRIGGER"} <= privileges(db, app, HISTORY)
        for statement in statements(documented_sql()["3"], roles["names"]):
            db.execute(statement)
        for table in HISTORY_TABLES:
            assert privileges(db, app, table) == {"SELECT", "INSERT"}, table
        assert privileges(db, app, "coordination_incident") == set(APPLICATION)
