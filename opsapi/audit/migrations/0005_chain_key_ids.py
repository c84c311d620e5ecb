"""Chain key ids (opsapi.audit.chain): every access-log entry names the key that sealed it, and
each rotation of the chain key is recorded, sealed under both keys (append-only like the other
audit records).

Entries already there cannot be given an id (the table is append-only); they keep an empty one,
which means "sealed before key ids, under the original key". Adding the column with its
default rewrites no row, so the append-only triggers are not involved.
"""

import django.utils.timezone
from django.db import migrations, models

from opsapi.audit.append_only import protect_append_only_tables


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_signed_checkpoints"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainKeyRotation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("old_key_id", models.CharField(editable=False, max_length=16)),
                ("new_key_id", models.CharField(editable=False, max_length=16)),
                (
                    "old_seal",
                    models.CharField(
                        editable=False, help_text="HMAC under the old key.", max_length=64
                    ),
                ),
                (
                    "new_seal",
                    models.CharField(
                        editable=False, help_text="HMAC under the new key.", max_length=64
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="auditaccess",
            name="chain_key_id",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="Id of the chain key that sealed the entry (empty: sealed before key ids, under the original key).",
                max_length=16,
            ),
        ),
        migrations.RunPython(protect_append_only_tables, migrations.RunPython.noop),
    ]
