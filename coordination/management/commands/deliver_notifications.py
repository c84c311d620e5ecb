from django.core.management.base import BaseCommand, CommandError

from coordination.outbox import DEFAULT_LIMIT, deliver_pending
from opsapi.audit.context import command_context


class Command(BaseCommand):
    help = (
        "Send the escalation e-mails due in the outbox: new ones, and failed ones whose back-off "
        "has passed. For a worker or a cron line of its own (escalate_overdue also does this "
        "after each run); run it as often as you like, even twice at once. Exits 1 if an e-mail "
        "was given up after its last attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"Send at most this many e-mails in this run (default {DEFAULT_LIMIT}).",
        )

    def handle(self, *args, limit, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        with command_context("deliver_notifications"):
            delivery = deliver_pending(limit=limit)
        self.stdout.write(delivery.summary())
        if delivery.given_up:
            raise CommandError(delivery.given_up_text())
