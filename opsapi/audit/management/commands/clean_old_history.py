"""Replaces simple-history's ``clean_old_history``: history is never pruned."""

from simple_history.management.commands import clean_old_history

from opsapi.audit.append_only import RefusesPruning


class Command(RefusesPruning, clean_old_history.Command):
    """Refuses: the audit trail is append-only, so no history record is ever deleted."""
