"""Stored full-text vectors for incidents and their timeline, with their GIN indexes
(PostgreSQL only).

Each table gets a ``search_vector`` column that PostgreSQL computes on every INSERT and
UPDATE (``GENERATED ALWAYS AS (...) STORED``) from the fields and weights of
``coordination.search.DOCUMENTS``, and a GIN index on it; the expression indexes of
``0003_search_indexes`` go. The column is the database's alone: it is not a model field, so
Django never writes or reads it except where ``coordination.search`` asks for it, and
simple-history neither copies it into the historical tables nor the audit chain hashes it.
On SQLite search falls back to substring matching and this migration does nothing.
"""

from django.db import migrations

COLUMN = "search_vector"


def vector(column, weight):
    # Runs of other characters than letters and digits become blanks, as search.TERM splits
    # the query: "OPS-2026-000123" is three words, an email address several.
    words = f"COALESCE(regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g'), '')"
    return f"setweight(to_tsvector('english'::regconfig, {words}), '{weight}')"


# index: (table, the vector of coordination.search.DOCUMENTS[...])
VECTORS = {
    "incident_search_idx": (
        "coordination_incident",
        f"({vector('reference', 'A')} || {vector('title', 'B')}) || {vector('summary', 'C')}",
    ),
    "incident_update_search_idx": ("coordination_incidentupdate", vector("body", "D")),
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
        ("coordination", "0005_escalation_outbox"),
    ]

    operations = [
        migrations.RunPython(add_vectors, drop_vectors, elidable=False),
    ]
