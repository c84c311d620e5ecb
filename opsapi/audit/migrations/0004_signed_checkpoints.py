"""Signed checkpoints (opsapi.audit.signing): each checkpoint's Merkle tree heads, signature and
key id, and the public keys that signed them (append-only like the other audit records)."""

import django.utils.timezone
from django.db import migrations, models

from opsapi.audit.append_only import protect_append_only_tables


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_access_log_sealed"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSigningKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key_id", models.CharField(max_length=16, unique=True)),
                (
                    "public_key",
                    models.CharField(help_text="Raw Ed25519 public key, base64.", max_length=64),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "rotation",
                    models.JSONField(
                        help_text="The rotation statement (none for the first).", null=True
                    ),
                ),
                ("predecessor_signature", models.TextField(blank=True)),
                ("successor_signature", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="key_id",
            field=models.CharField(blank=True, help_text="The signing key's id.", max_length=16),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="number",
            field=models.PositiveIntegerField(
                help_text="Place among the signed checkpoints: 1, 2, 3, …", null=True, unique=True
            ),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="signature",
            field=models.TextField(blank=True, help_text="Ed25519 signature of the statement."),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="statement",
            field=models.JSONField(
                help_text="What was signed: every log's Merkle tree size and root.", null=True
            ),
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="trees",
            field=models.JSONField(
                default=dict,
                help_text="{log: {size, frontier, max_id}}: where the next one goes on.",
            ),
        ),
        migrations.RunPython(protect_append_only_tables, migrations.RunPython.noop),
    ]
