"""Deployment checks of the audit trail (``manage.py check --deploy``)."""

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection

from opsapi.audit.append_only import append_only_tables
from opsapi.audit.chain import chain_keys, current_key_id, key_id
from opsapi.audit.checkpoints import tracked_models
from opsapi.audit.models import AuditAccess, AuditChainKeyRotation


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


@checks.register(checks.Tags.security, deploy=True)
def chain_keys_are_configured(app_configs, databases=None, **kwargs):
    """Every chain key the trail names must be configured, or the records it sealed cannot be
    verified: the keys the recorded rotations retired, and those of the newest record of every
    history table and the access log. A rotation recorded but not applied is reported too.

    The database is read on PostgreSQL (as :func:`database_role_cannot_rewrite_the_trail`),
    elsewhere only with ``--database``; one indexed query per table."""
    found = []
    retired = settings.AUDIT_CHAIN_RETIRED_KEYS
    ids = [key_id(key) for key in retired]
    if current_key_id() in ids or len(set(ids)) < len(ids):
        found.append(
            checks.Warning(
                "AUDIT_CHAIN_RETIRED_KEYS holds AUDIT_CHAIN_KEY, or one key twice.",
                hint="List each retired chain key once, oldest first, without the current one.",
                id="audit.W005",
            )
        )
    if connection.vendor != "postgresql" and not databases:
        return found
    try:
        named = _chain_keys_named()
    except DatabaseError:
        return found  # not reachable, or not migrated: the role check says which (W004)
    missing = {key: where for key, where in named["used"].items() if key not in chain_keys()}
    for key, where in sorted(missing.items()):
        found.append(
            checks.Warning(
                f"Chain key {key} is not configured, yet {where} names it: verify_audit cannot "
                "check what it sealed.",
                hint="Add the key to AUDIT_CHAIN_RETIRED_KEYS (or set it as AUDIT_CHAIN_KEY) on "
                "every host; see docs/audit.md, Rotating the chain key.",
                id="audit.W006",
            )
        )
    rotation = named["newest_rotation"]
    if rotation is not None and rotation.new_key_id != current_key_id():
        found.append(
            checks.Warning(
                f"A rotation of the chain key to key {rotation.new_key_id} was recorded at "
                f"{rotation.at:%Y-%m-%d %H:%M %Z}, but AUDIT_CHAIN_KEY is key {current_key_id()}: "
                "new records are still sealed under the old key.",
                hint="Set the AUDIT_CHAIN_KEY and AUDIT_CHAIN_RETIRED_KEYS the rotation printed "
                "on every host and restart; see docs/audit.md, Rotating the chain key.",
                id="audit.W007",
            )
        )
    return found


def _chain_keys_named() -> dict:
    """{"used": {key id: what names it}, "newest_rotation": the newest AuditChainKeyRotation}."""
    used = {}
    rotations = list(AuditChainKeyRotation.objects.order_by("pk"))
    for rotation in rotations:  # the key each retired sealed the records before it
        used.setdefault(
            rotation.old_key_id, f"the chain key rotation of {rotation.at:%Y-%m-%d %H:%M %Z}"
        )
    newest = [(AuditAccess, "sequence")]
    newest += [(model.history.model, "history_id") for model in tracked_models()]
    for model, order in newest:
        key = (
            model._base_manager.order_by(f"-{order}").values_list("chain_key_id", flat=True).first()
        )
        if key:
            used.setdefault(key, f"the newest record of {model._meta.db_table}")
    return {"used": used, "newest_rotation": rotations[-1] if rotations else None}
