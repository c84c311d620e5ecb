"""Stored full-text vectors for partners and their contacts, with their GIN indexes
(PostgreSQL only).

As ``coordination/0006_search_vectors`` does for incidents: a ``search_vector`` column that
PostgreSQL computes on every INSERT and UPDATE (``GENERATED ALWAYS AS (...) STORED``) from the
fields and weights of ``coordination.search.DOCUMENTS``, and a GIN index on it, in place of
the expression indexes of ``0002_search_indexes``. It is not a model field: Django never
writes it, simple-history does not copy it, the audit chain does not hash it. On SQLite this
migration does nothing.
"""

from django.db import migrations

COLUMN = "search_vector"


def vector(column, weight):
    words = f"COALESCE(regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g'), '')"
    return f"setweight(to_tsvector('english'::regconfig, {words}), '{weight}')"


# index: (table, the vector of coordination.search.DOCUMENTS[...])
VECTORS = {
    "partner_search_idx": ("partners_partner", vector("name", "C")),
    "contact_search_idx": (
        "partners_contact",
        f"({vector('name', 'D')} || {vector('title', 'D')}) || {vector('email', 'D')}",
    ),
}


def add_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, (table, expression) in VECTORS.items():
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN {COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX {index} ON {table} USING gin ({COLUMN})")


def drop_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, (table, expression) in VECTORS.items():
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN {COLUMN}")  # and its index
        schema_editor.execute(f"CREATE INDEX {index} ON {table} USING gin (({expression}))")


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_history_chain_index"),
    ]

    operations = [
        migrations.RunPython(add_vectors, drop_vectors, elidable=False),
    ]
