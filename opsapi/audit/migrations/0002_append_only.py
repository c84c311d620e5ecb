"""History tables refuse UPDATE, DELETE and TRUNCATE (PostgreSQL; see opsapi.audit.append_only)."""

from django.db import migrations

from opsapi.audit.append_only import protect_append_only_tables, unprotect_append_only_tables


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_roles"),
        ("audit", "0001_initial"),
        ("coordination", "0001_initial"),
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(protect_append_only_tables, unprotect_append_only_tables),
    ]
