"""Replaces simple-history's ``clean_duplicate_history``: history is never pruned."""

from simple_history.management.commands import clean_duplicate_history

from opsapi.audit.append_only import RefusesPruning


class Command(RefusesPruning, clean_duplicate_history.Command):
    """Refuses: the audit trail is append-only, so no history record is ever deleted, not
    even one identical to its predecessor (it still records who saved, when and why)."""
