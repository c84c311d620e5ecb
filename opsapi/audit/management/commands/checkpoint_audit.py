from django.core.management.base import BaseCommand

from opsapi.audit.checkpoints import export, take_checkpoint


class Command(BaseCommand):
    help = (
        "Take a checkpoint of the audit trail: for each history table, its number of records, "
        "highest history id and a digest of every object's newest record hash, sealed with "
        "the chain key. verify_audit then reports any record it covered that has gone. Run it "
        "from cron (e.g. hourly) and keep its output, one JSON line per checkpoint, outside the "
        "database. See docs/audit.md."
    )

    def handle(self, *args, **options):
        self.stdout.write(export(take_checkpoint()))
