"""The audit trail is append-only: nothing edits, deletes or prunes a history record.

On PostgreSQL the database refuses it (triggers from ``audit.0002_append_only``), whatever the
code or SQL sent through the application's connection.
"""

import pytest
from django.apps import apps
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from coordination import services as coordination
from coordination.models import Incident
from opsapi.accounts.access import OPS_OFFICER
from opsapi.accounts.services import issue_token
from opsapi.audit import append_only
from opsapi.audit.models import (
    AuditAccess,
    AuditChainKeyRotation,
    AuditCheckpoint,
    AuditSigningKey,
)
from opsapi.audit.tracking import delete_with_history
from partners.models import Sector, State, UrbanArea
from tests.factories import make_action, make_contact, make_incident, make_partner


def postgres_only(test):
    """Mark ``test`` as needing PostgreSQL, where the database enforces the trail."""
    skip = pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the database enforces the append-only trail on PostgreSQL only",
    )
    return pytest.mark.postgres(skip(test))


APPEND_ONLY_TABLES = append_only.append_only_tables(apps)
REFUSED = "history is append-only"
APP_ROLE = "opsapi_app_test"


def tracked_history_tables() -> set[str]:
    """The history tables of every tracked model (many-to-many history included), as
    simple-history knows them, plus the audit app's own records."""
    tables = {
        "audit_auditaccess",
        "audit_auditcheckpoint",
        "audit_auditsigningkey",
        "audit_auditchainkeyrotation",
    }
    for model in apps.get_models():
        tracker = getattr(model, "_history_tracker", None)
        if tracker is not None and tracker.cls is model:
            tables.add(model.history.model._meta.db_table)
            tables.update(m2m._meta.db_table for m2m in tracker.m2m_models.values())
    return tables


def rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
        return cursor.fetchall()


def pk_column(table: str) -> str:
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    return model._meta.pk.column


def assert_refused(write, match=REFUSED):
    """Call ``write`` in a savepoint (so the test goes on) and expect the database to refuse."""
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        write()


def refused(sql: str, match=REFUSED):
    """Run ``sql`` and expect the database to refuse it."""

    def execute():
        with connection.cursor() as cursor:
            cursor.execute(sql)

    assert_refused(execute, match)


@pytest.fixture
def trail(officer, administrator, make_user):
    """At least one record in every append-only table, written through the services."""
    partner = make_partner(officer, sectors=[Sector.objects.first()])
    make_contact(officer, partner)
    partner_user = make_user("partner-user", partner=partner)
    incident = make_incident(
        officer,
        states=[State.objects.first()],
        urban_areas=[UrbanArea.objects.first()],
        sectors=[Sector.objects.first()],
        shared_with=[partner],
    )
    incident = coordination.share_incident(
        actor=officer, incident=incident, version=incident.version, users=[partner_user]
    )
    coordination.add_incident_update(actor=officer, incident=incident, body="Situation report.")
    make_action(officer, incident, partner)
    issue_token(user=officer, name="ci", actor=administrator)
    make_user("second-officer", roles=[OPS_OFFICER])
    AuditAccess.record(user=officer, operation="history", target="incident", arguments={})
    AuditCheckpoint.objects.create(tables={}, seal="0" * 64)
    AuditSigningKey.objects.create(key_id="0" * 16, public_key="A" * 44)
    AuditChainKeyRotation.record(new_key="a new chain key")
    # Fire the deferred foreign-key checks now: PostgreSQL refuses to TRUNCATE a table with
    # checks pending, which would hide the refusal under test.
    connection.check_constraints()
    empty = [table for table in APPEND_ONLY_TABLES if not rows(table)]
    assert not empty, f"give these tables a record in the trail fixture: {empty}"
    return incident


def test_discovery_finds_every_history_table_and_the_audit_records():
    assert set(APPEND_ONLY_TABLES) == tracked_history_tables()
    assert {
        "coordination_historicalincident_shared_with_users",
        "partners_historicalurbanarea_states",
        "accounts_historicaluser_groups",
        "audit_auditaccess",
        "audit_auditcheckpoint",
        "audit_auditsigningkey",
        "audit_auditchainkeyrotation",
    } <= set(APPEND_ONLY_TABLES)


# --- PostgreSQL: the database refuses -------------------------------------------------------


@postgres_only
def test_every_history_table_in_the_database_has_the_triggers(db):
    """Fails when a migration adds a history table without protecting it."""
    with connection.cursor() as cursor:
        in_database = {
            table
            for table in connection.introspection.table_names(cursor)
            if "_historical" in table
        }
    expected = set(APPEND_ONLY_TABLES) | tracked_history_tables() | in_database
    assert append_only.unprotected_tables(connection, expected) == []


@postgres_only
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_raw_sql_cannot_update_delete_or_truncate(trail, table):
    before = rows(table)
    quoted, pk = connection.ops.quote_name(table), connection.ops.quote_name(pk_column(table))

    refused(f"UPDATE {quoted} SET {pk} = {pk} + 1000000", match=f"{table} cannot be updated")
    refused(f"DELETE FROM {quoted}", match=f"{table} cannot be deleted")
    refused(f"TRUNCATE {quoted} CASCADE", match=f"{table} cannot be truncated")

    assert rows(table) == before


@postgres_only
def test_flush_of_a_database_that_is_not_a_test_database_is_refused(trail, monkeypatch):
    """The flush command bypasses the triggers only for a test database."""
    monkeypatch.setitem(connection.settings_dict, "NAME", "opsapi")
    before = rows("coordination_historicalincident")
    with pytest.raises(CommandError, match="couldn't be flushed") as refusal:
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    assert REFUSED in str(refusal.value.__cause__)
    assert rows("coordination_historicalincident") == before


@postgres_only
def test_flush_of_the_test_database_empties_history_and_restores_the_triggers(trail):
    with transaction.atomic():
        call_command(
            "flush",
            interactive=False,
            verbosity=0,
            reset_sequences=False,
            inhibit_post_migrate=True,
        )
        assert not rows("coordination_historicalincident")
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
        transaction.set_rollback(True)
    refused("TRUNCATE coordination_historicalincident CASCADE")


@postgres_only
def test_an_update_that_changes_nothing_goes_through(trail):
    """It rewrites nothing (Django's test runner does it when it restores serialized data)."""
    before = rows("coordination_historicalincident")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE coordination_historicalincident SET title = title")
    assert rows("coordination_historicalincident") == before


@postgres_only
def test_the_orm_cannot_update_or_delete_history(trail):
    HistoricalIncident = Incident.history.model
    records = HistoricalIncident.objects.filter(id=trail.pk)
    before = list(records.values())

    record = records.first()
    record.title = "Rewritten"
    m2m_history = Incident._history_tracker.m2m_models[Incident._meta.get_field("states")]

    assert_refused(lambda: records.update(history_change_reason="rewritten"))
    assert_refused(record.save)
    assert_refused(records.delete)
    assert_refused(records.first().delete)
    assert_refused(m2m_history.objects.all().delete)
    assert_refused(lambda: AuditAccess.objects.update(target="something else"))
    assert_refused(AuditCheckpoint.objects.all().delete)

    assert list(records.values()) == before


@pytest.fixture
def app_role(trail):
    """The connection, inside the test's transaction, as a role with an application's
    privileges (read and write every table, use the sequences) but neither superuser nor
    owner of the tables. Everything, the role included, is rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        cursor.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES "
            f"IN SCHEMA {schema} TO {APP_ROLE}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {APP_ROLE}")
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute("SELECT current_user, current_setting('is_superuser')")
        assert cursor.fetchone() == (APP_ROLE, "off")
    return trail


@postgres_only
def test_an_application_role_cannot_switch_the_triggers_off(app_role):
    refused("SET session_replication_role = replica", match="permission denied")
    refused(
        "ALTER TABLE coordination_historicalincident DISABLE TRIGGER ALL", match="must be owner"
    )
    refused(
        "DROP TRIGGER audit_append_only_row ON coordination_historicalincident",
        match="must be owner",
    )


@postgres_only
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_an_application_role_cannot_rewrite_history(app_role, table):
    before = rows(table)
    quoted, pk = connection.ops.quote_name(table), connection.ops.quote_name(pk_column(table))

    refused(f"UPDATE {quoted} SET {pk} = {pk} + 1000000")
    refused(f"DELETE FROM {quoted}")
    refused(f"TRUNCATE {quoted} CASCADE")

    assert rows(table) == before


@postgres_only
def test_an_application_role_still_writes_history_through_the_services(app_role, officer):
    incident = coordination.update_incident(
        actor=officer, incident=app_role, version=app_role.version, title="Renamed"
    )
    assert [r.history_type for r in incident.history.all()] == ["~", "~", "+"]
    assert incident.history.first().title == "Renamed"


# --- Both databases -------------------------------------------------------------------------


def test_deleting_a_tracked_object_keeps_its_history(officer, trail):
    pk = trail.pk
    links = trail.history.first().states.count()
    delete_with_history(trail, actor=officer, reason="Opened by mistake")
    assert not Incident.objects.filter(pk=pk).exists()
    records = Incident.history.filter(id=pk)
    assert [r.history_type for r in records] == ["-", "~", "+"]
    assert records.first().history_change_reason == "Opened by mistake"
    assert records.last().states.count() == links == 1


def history_counts() -> dict[str, int]:
    return {table: len(rows(table)) for table in APPEND_ONLY_TABLES}


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("clean_old_history", ["--auto", "--days", "0"]),
        ("clean_old_history", ["coordination.Incident", "--days", "0"]),
        ("clean_duplicate_history", ["--auto"]),
        ("clean_duplicate_history", ["coordination.Incident", "--minutes", "60"]),
    ],
)
def test_history_pruning_commands_refuse_and_delete_nothing(trail, command, arguments):
    before = history_counts()
    with pytest.raises(CommandError, match="disabled: the audit trail is append-only"):
        call_command(command, *arguments, verbosity=0)
    assert history_counts() == before


@pytest.mark.parametrize("command", ["clean_old_history", "clean_duplicate_history", "flush"])
def test_our_commands_replace_simple_historys_and_djangos(command):
    assert get_commands()[command] == "opsapi.audit"
    assert type(load_command_class("opsapi.audit", command)).__module__ == (
        f"opsapi.audit.management.commands.{command}"
    )
