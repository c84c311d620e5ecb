"""Every history record names the chain key that sealed it (opsapi.audit.chain). Records
already there keep an empty id, "sealed before key ids, under the original key": the tables are
append-only, and adding the column with its default rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_history_chain_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalapitoken",
            name="chain_key_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Id of the chain key that sealed this record (empty: sealed before key ids, under the original key).",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="historicalpartnermembership",
            name="chain_key_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Id of the chain key that sealed this record (empty: sealed before key ids, under the original key).",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="historicaluser",
            name="chain_key_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Id of the chain key that sealed this record (empty: sealed before key ids, under the original key).",
                max_length=16,
            ),
        ),
    ]
