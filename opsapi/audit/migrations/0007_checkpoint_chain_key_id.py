"""Each checkpoint names the chain key that sealed it (empty for those sealed before key ids,
under the original key): verify_audit checks its seal under that key alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_tree_tiles'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditcheckpoint',
            name='chain_key_id',
            field=models.CharField(blank=True, default='', help_text='Id of the chain key that sealed it (empty: sealed before key ids, under the original key).', max_length=16),
        ),
    ]
