"""GIN indexes for full-text search over partners and their contacts (PostgreSQL only).

The indexed expressions are the vectors ``coordination.search`` matches against
(``search_document("partner")`` and ``search_document("contact")``), written out here as SQL:
the planner uses an expression index only for the very same expression, so the two must
change together (tests/coordination/test_search.py checks the plan). On SQLite, which has no
such indexes, search falls back to substring matching and this migration does nothing.
"""

from django.db import migrations


def vector(column, weight):
    words = f"COALESCE(regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g'), '')"
    return f"setweight(to_tsvector('english'::regconfig, {words}), '{weight}')"


INDEXES = {
    "partner_search_idx": ("partners_partner", vector("name", "C")),
    "contact_search_idx": (
        "partners_contact",
        f"({vector('name', 'D')} || {vector('title', 'D')}) || {vector('email', 'D')}",
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {name} ON {table} USING gin (({expression}))")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
