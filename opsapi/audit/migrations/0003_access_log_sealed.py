"""The access log numbered and sealed (opsapi.audit.access_log): every entry gets its place in
the log (``sequence``, 1, 2, 3, … with no gaps) and an HMAC of its content and place.

Entries already there are numbered in id order and sealed now, with the AUDIT_CHAIN_KEY this
migration runs with: the seal proves they are unchanged from here on, not before. The table is
append-only, so on PostgreSQL the owner running the migration switches its row trigger off for
the backfill, in the migration's transaction, and back on. Then every append-only table is
protected again, which now also revokes UPDATE, DELETE and TRUNCATE from every role but the
owner (opsapi.audit.append_only).
"""

from django.db import migrations, models
from django.utils import timezone

from opsapi.audit.access_log import entry_digest
from opsapi.audit.append_only import ROW_TRIGGER, protect_append_only_tables


def seal_existing_entries(apps, schema_editor):
    AuditAccess = apps.get_model("audit", "AuditAccess")
    table = schema_editor.quote_name(AuditAccess._meta.db_table)
    postgres = schema_editor.connection.vendor == "postgresql"
    if not AuditAccess._base_manager.exists():
        return
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {ROW_TRIGGER}")
    for sequence, entry in enumerate(AuditAccess._base_manager.order_by("id").iterator(), 1):
        entry.sequence = sequence
        entry.record_hash = entry_digest(entry)
        entry.save(update_fields=["sequence", "record_hash"])
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {ROW_TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditaccess",
            name="sequence",
            field=models.PositiveBigIntegerField(
                editable=False, null=True, help_text="Place in the log: 1, 2, 3, … with no gaps."
            ),
        ),
        migrations.AddField(
            model_name="auditaccess",
            name="record_hash",
            field=models.CharField(
                default="",
                editable=False,
                help_text="HMAC of the entry and its sequence.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditaccess",
            name="at",
            field=models.DateTimeField(db_index=True, default=timezone.now, editable=False),
        ),
        migrations.RunPython(seal_existing_entries, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditaccess",
            name="sequence",
            field=models.PositiveBigIntegerField(
                editable=False, unique=True, help_text="Place in the log: 1, 2, 3, … with no gaps."
            ),
        ),
        migrations.RunPython(protect_append_only_tables, migrations.RunPython.noop),
    ]
