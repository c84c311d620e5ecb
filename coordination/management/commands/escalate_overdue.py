from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coordination.services import (
    awaiting_escalation,
    center_time_text,
    duration_text,
    escalate_overdue,
)
from opsapi.audit.context import command_context


def describe(action, now) -> str:
    """One line about an overdue action: incident, what, to whom, due when, how late."""
    return (
        f"{action.incident.reference} {action.get_kind_display().lower()} to "
        f"{action.partner.name}, due {center_time_text(action.due_at)}, "
        f"{duration_text(now - action.due_at)} past due"
    )


class Command(BaseCommand):
    help = (
        "Escalate coordination actions still unacknowledged after their due time: mark each "
        "overdue, note it on the incident's internal timeline, and write e-mails to the partner's "
        "24/7 addresses and the incident lead to the outbox; then send every e-mail due in the "
        "outbox (failed ones are retried with back-off by later runs or deliver_notifications). "
        "Idempotent: an action is escalated once, so run it as often as you like (cron, systemd "
        "timer), even twice at once. Exits 1 if an action could not be escalated (it is retried "
        "next run) or an e-mail was given up. --dry-run lists what would be escalated without "
        "saving or sending anything."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the actions a run would escalate now; save and send nothing.",
        )

    def handle(self, *args, dry_run, **options):
        if dry_run:
            self._dry_run()
            return
        with command_context("escalate_overdue"):
            run = escalate_overdue()
        for escalation in run.escalated:
            action = escalation.action
            emailed = [*escalation.partner_recipients]
            if escalation.lead_recipient:
                emailed.append(escalation.lead_recipient)
            self.stdout.write(
                f"escalated {describe(action, action.escalated_at)}; "
                f"e-mailing {', '.join(emailed) or 'nobody'}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(run.escalated)} action(s) escalated."))
        self.stdout.write(run.delivery.summary())
        problems = []
        if run.failed:
            ids = ", ".join(str(pk) for pk in run.failed)
            problems.append(
                f"{len(run.failed)} action(s) could not be escalated (ids {ids}); "
                "see the log. Nothing of them was saved or sent; the next run tries again."
            )
        if run.delivery.given_up:
            problems.append(run.delivery.given_up_text())
        if problems:
            raise CommandError(" ".join(problems))

    def _dry_run(self):
        now = timezone.now()
        actions = awaiting_escalation(now).select_related("incident", "partner")
        count = 0
        for action in actions:
            self.stdout.write(f"would escalate {describe(action, now)}")
            count += 1
        self.stdout.write(f"{count} action(s) would be escalated (dry run: nothing saved or sent).")
