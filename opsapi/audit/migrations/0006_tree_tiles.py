"""The tiles of every log's Merkle tree (opsapi.audit.tiles), written by checkpoints, from which
inclusion proofs are read. Derived data, not append-only: the last tile of each level grows, and
a log's tiles are rebuilt from its records by the first checkpoint after this migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_chain_key_ids"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditTreeTile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "log",
                    models.CharField(
                        help_text="The history table, or the access log.", max_length=100
                    ),
                ),
                (
                    "level",
                    models.PositiveSmallIntegerField(
                        help_text="0: leaf hashes; L: the roots of the full tiles of level L - 1."
                    ),
                ),
                (
                    "index",
                    models.PositiveBigIntegerField(help_text="Place in its level: 0, 1, 2, …"),
                ),
                (
                    "width",
                    models.PositiveSmallIntegerField(help_text="How many hashes: 256 once full."),
                ),
                (
                    "hashes",
                    models.BinaryField(
                        help_text="The hashes (SHA-256, 32 bytes each), in tree order."
                    ),
                ),
                (
                    "first_id",
                    models.PositiveBigIntegerField(
                        help_text="Level 0: the id of its first record.", null=True
                    ),
                ),
                (
                    "ids",
                    models.JSONField(
                        help_text="Level 0: the ids of its records, in order.", null=True
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["log", "level", "first_id"], name="audit_tile_first_id")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("log", "level", "index"), name="audit_tile_place"
                    )
                ],
            },
        ),
    ]
