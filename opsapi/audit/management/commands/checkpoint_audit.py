from django.core.management.base import BaseCommand, CommandError

from opsapi.audit.checkpoints import CheckpointError, export, take_checkpoint


class Command(BaseCommand):
    help = (
        "Take a checkpoint of the audit trail: for each history table, its number of records, "
        "highest history id and a digest of every object's newest record hash, sealed with "
        "the chain key; with AUDIT_SIGNING_KEY set, also every history table's and the access "
        "log's Merkle tree head, signed (Ed25519). verify_audit then reports any record it "
        "covered that has gone, and verify_export checks an export against it. Run it "
        "from cron (e.g. hourly) and keep its output, one JSON line per checkpoint, outside the "
        "database. See docs/audit.md."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = take_checkpoint()
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(export(checkpoint))
