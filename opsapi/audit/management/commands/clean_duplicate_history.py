"""Replaces simple-history's ``clean_duplicate_history``: history is never pruned."""

from django.core.management.base import CommandError
from simple_history.management.commands import clean_duplicate_history


class Command(clean_duplicate_history.Command):
    """Refuses: the audit trail is append-only, so no history record is ever deleted, not
    even one identical to its predecessor (it still records who saved, when and why).

    Takes simple-history's arguments so that any invocation gets this refusal rather than a
    usage error.
    """

    help = "Refuses to run: the audit trail is append-only and is never pruned."

    def handle(self, *args, **options):
        raise CommandError(
            "clean_duplicate_history is disabled: the audit trail is append-only and history "
            "records are never deleted."
        )
