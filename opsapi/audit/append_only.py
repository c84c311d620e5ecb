"""The database's part in keeping the audit trail append-only (PostgreSQL).

Every history table — each simple-history model, many-to-many history included — and the
audit app's own records (:class:`~opsapi.audit.models.AuditAccess`,
:class:`~opsapi.audit.models.AuditCheckpoint`) carry two triggers calling one function that
raises ``history is append-only: <table> cannot be updated``:

- ``audit_append_only_row``: ``BEFORE UPDATE OR DELETE ... FOR EACH ROW``;
- ``audit_append_only_truncate``: ``BEFORE TRUNCATE ... FOR EACH STATEMENT``.

So neither a code bug nor ad-hoc SQL through the application's connection can rewrite the
trail. Nor may any role but a table's owner hold ``UPDATE``, ``DELETE`` or ``TRUNCATE`` on it:
:func:`protect_append_only_tables` revokes those privileges, however they were granted
(``ALTER DEFAULT PRIVILEGES`` gives the application role all four on every new table; see
docs/production.md).

An ``UPDATE`` that leaves a row exactly as it was is let through: it rewrites nothing, and
Django's test runner saves every row unchanged when it restores serialized data. Only a
table owner can drop or disable the triggers, and only a superuser can skip them
(``session_replication_role``), so the application must connect as a role that is neither.

Migrations run :func:`protect_append_only_tables`, which protects every append-only table of
the migration state and may be run again. A migration that adds a tracked model ends with::

    from opsapi.audit.append_only import protect_append_only_tables

    migrations.RunPython(protect_append_only_tables, migrations.RunPython.noop)

and depends on ``("audit", "0002_append_only")``. Reversing it needs nothing: dropping the
new tables drops their triggers.
"""

from django.core.management.base import CommandError
from simple_history.models import HistoricalChanges

FUNCTION = "audit_refuse_history_change"
ROW_TRIGGER = "audit_append_only_row"
TRUNCATE_TRIGGER = "audit_append_only_truncate"
# pg_trigger.tgtype bits: ROW 1, BEFORE 2, DELETE 8, UPDATE 16, TRUNCATE 32.
ROW_TRIGGER_TYPE = 1 | 2 | 8 | 16
TRUNCATE_TRIGGER_TYPE = 2 | 32

# The audit app's own records, append-only like the history tables.
AUDIT_RECORD_MODELS = (
    "audit.AuditAccess",
    "audit.AuditCheckpoint",
    "audit.AuditSigningKey",
    "audit.AuditChainKeyRotation",
)

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW::text IS NOT DISTINCT FROM OLD::text THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: % cannot be %', TG_TABLE_NAME,
        CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted'
            ELSE 'truncated' END
        USING ERRCODE = 'insufficient_privilege',
            HINT = 'History records are only ever added; correct a record by a new change.';
END;
$$
"""


def is_append_only(model) -> bool:
    """Whether ``model``'s rows may only be added: a history model or an audit record.

    Works on the live app registry and on a migration state's, where history models keep
    simple-history's ``HistoricalChanges`` base.
    """
    if model._meta.proxy or not model._meta.managed:
        return False
    return issubclass(model, HistoricalChanges) or model._meta.label in AUDIT_RECORD_MODELS


def append_only_tables(apps) -> list[str]:
    """The tables of the append-only models in ``apps`` (an app registry), sorted."""
    return sorted({m._meta.db_table for m in apps.get_models() if is_append_only(m)})


def protect_append_only_tables(apps, schema_editor):
    """Create the refusing function and both triggers on every append-only table of ``apps``.

    For ``migrations.RunPython``; does nothing on databases other than PostgreSQL.
    Idempotent: tables already protected keep the same triggers.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in append_only_tables(apps):
        quoted = schema_editor.quote_name(table)
        schema_editor.execute(
            f"CREATE OR REPLACE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        schema_editor.execute(
            f"CREATE OR REPLACE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {quoted} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
        _revoke_rewrites(schema_editor, table)


def _revoke_rewrites(schema_editor, table: str) -> None:
    """No role but the owner of ``table`` keeps UPDATE, DELETE or TRUNCATE on it."""
    quoted = schema_editor.quote_name(table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT a.grantee::regrole::text FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = %s::regclass AND a.grantee NOT IN (0, c.relowner)
              AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
            """,
            [quoted],
        )
        grantees = [row[0] for row in cursor.fetchall()]
    for grantee in ["PUBLIC", *grantees]:
        schema_editor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {quoted} FROM {grantee}")


def unprotect_append_only_tables(apps, schema_editor):
    """Drop the function and, with it, every trigger calling it (reverse of the above)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE")


def unprotected_tables(connection, tables) -> list[str]:
    """Those of ``tables`` that lack either trigger (enabled, calling the function)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE c.relnamespace = current_schema()::regnamespace
              AND p.proname = %s AND t.tgenabled = 'O'
              AND ((t.tgname = %s AND t.tgtype = %s) OR (t.tgname = %s AND t.tgtype = %s))
            GROUP BY c.relname HAVING count(DISTINCT t.tgname) = 2
            """,
            [FUNCTION, ROW_TRIGGER, ROW_TRIGGER_TYPE, TRUNCATE_TRIGGER, TRUNCATE_TRIGGER_TYPE],
        )
        protected = {row[0] for row in cursor.fetchall()}
    return sorted(set(tables) - protected)


class RefusesPruning:
    """Mixin for a replaced simple-history pruning command: it keeps the original's arguments,
    so that any invocation gets this refusal rather than a usage error, and refuses."""

    help = "Refuses to run: the audit trail is append-only and is never pruned."

    def handle(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        raise CommandError(
            f"{name} is disabled: the audit trail is append-only and history records are "
            "never deleted."
        )
