"""Django's ``flush``, able to empty a *test* database whose history tables refuse TRUNCATE."""

from django.core.management.commands import flush
from django.db import connections
from django.db.backends.base.creation import TEST_DATABASE_PREFIX


class Command(flush.Command):
    """Django's ``flush`` command; on a PostgreSQL test database, with history triggers off.

    Transactional tests end with a flush, which TRUNCATEs every table, the append-only
    history tables included (:mod:`opsapi.audit.append_only`). On a test database (its name
    starts with ``test_``, as Django names them) the flush therefore runs with
    ``session_replication_role = replica``, which skips ordinary triggers; the previous
    setting is restored afterwards. Only a superuser may change that setting, so this works
    for the test runner's connection and never for an application role.

    Any other database is flushed exactly as Django does it — which on PostgreSQL means the
    triggers refuse it: a real database's audit trail cannot be emptied by this command.
    """

    def handle(self, **options):
        connection = connections[options["database"]]
        name = connection.settings_dict["NAME"] or ""
        if connection.vendor != "postgresql" or not name.startswith(TEST_DATABASE_PREFIX):
            return super().handle(**options)
        previous = self._set_replication_role(connection, "replica")
        try:
            return super().handle(**options)
        finally:
            self._set_replication_role(connection, previous)

    @staticmethod
    def _set_replication_role(connection, role: str) -> str:
        """Set the session's ``session_replication_role``; return the one it replaces."""
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('session_replication_role', %s, false)", [role])
        return previous
