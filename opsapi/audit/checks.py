"""Deployment checks of the audit trail (``manage.py check --deploy``)."""

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection

from opsapi.audit.append_only import append_only_tables


@checks.register(checks.Tags.security, deploy=True)
def chain_key_is_set(app_configs, **kwargs):
    """Without its own AUDIT_CHAIN_KEY the chain key follows SECRET_KEY, and rotating the secret
    key would make every earlier record fail verification."""
    if not settings.AUDIT_CHAIN_KEY_FROM_SECRET_KEY:
        return []
    return [
        checks.Warning(
            "AUDIT_CHAIN_KEY is not set: the history chain key is derived from SECRET_KEY, so "
            "rotating SECRET_KEY would make every earlier history record fail verify_audit.",
            hint="Set AUDIT_CHAIN_KEY to a random value kept outside the database, and keep it.",
            id="audit.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def database_role_cannot_rewrite_the_trail(app_configs, **kwargs):
    """The append-only triggers hold against the application only if its database role can
    neither skip them (a superuser sets ``session_replication_role``) nor drop or disable them
    (the tables' owner, or a member of the owner's role). PostgreSQL only: SQLite has no roles.

    A deployment check of whom the application connects as must connect, so this one does
    whether or not ``--database`` is given (Django's own database checks wait for it)."""
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper, rolcreaterole FROM pg_roles "
                "WHERE rolname = current_user"
            )
            role, superuser, createrole = cursor.fetchone()
            cursor.execute(
                "SELECT tablename, tableowner FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
                "AND pg_has_role(current_user, tableowner, 'MEMBER') ORDER BY tablename",
                [append_only_tables(apps)],
            )
            owned = cursor.fetchall()
    except DatabaseError as error:
        return [
            checks.Warning(
                f"Could not check the database role the application connects as: {error}".strip(),
                hint="Run the deployment check with the production DATABASE_URL, the database "
                "reachable.",
                id="audit.W004",
            )
        ]
    found = []
    if superuser or createrole:
        power = "a superuser" if superuser else "a role with CREATEROLE"
        found.append(
            checks.Warning(
                f"The application connects to the database as {role!r}, {power}: it can "
                "switch off the audit trail's append-only triggers (session_replication_role) "
                "and rewrite history.",
                hint="Connect as the application role of docs/production.md §3 (no superuser, "
                "no CREATEROLE, no ownership).",
                id="audit.W002",
            )
        )
    if owned:
        tables = ", ".join(table for table, _ in owned[:3]) + (", …" if len(owned) > 3 else "")
        owners = ", ".join(sorted({owner for _, owner in owned}))
        found.append(
            checks.Warning(
                f"The application connects to the database as {role!r}, which owns (or is a "
                f"member of {owners}, which owns) {len(owned)} history tables ({tables}): it "
                "can disable or drop their append-only triggers and rewrite history.",
                hint="Run migrations as the owner role and the application as the application "
                "role of docs/production.md §3.",
                id="audit.W003",
            )
        )
    return found
