import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from opsapi.audit.checkpoints import tracked_models
from opsapi.audit.verify import AuditVerifier


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every history record's HMAC and its link to the object's "
        "previous record, every live row against its newest record (many-to-many links "
        "included), and every checkpoint (its seal, and that the records it covered are still "
        "there). Prints OK with counts, or one line per finding and exits with status 1. "
        "Needs the AUDIT_CHAIN_KEY the records were written with. See docs/audit.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            dest="models",
            nargs="+",
            action="extend",
            metavar="APP.MODEL",
            help="Verify only these tracked models (e.g. coordination.Incident auth.User); "
            "checkpoint seals are checked in any case.",
        )

    def handle(self, *args, models=None, **options):
        verifier = AuditVerifier(self._models(models) if models else None)
        started = time.monotonic()
        findings = 0
        for finding in verifier.findings():
            findings += 1
            self.stdout.write(str(finding))
        elapsed = time.monotonic() - started
        if findings:
            raise CommandError(
                f"{findings} finding(s) in the audit trail ({verifier.totals}).", returncode=1
            )
        self.stdout.write(self.style.SUCCESS(f"OK: {verifier.totals}"))
        if options["verbosity"] >= 2:
            rate = verifier.totals.records / elapsed if elapsed else 0
            self.stderr.write(f"Verified in {elapsed:.1f} s ({rate:,.0f} records/s).")

    @staticmethod
    def _models(labels) -> list:
        tracked = tracked_models()
        chosen = []
        for label in labels:
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError) as error:
                raise CommandError(f"Unknown model {label!r}: {error}") from error
            if model not in tracked:
                raise CommandError(f"{label} has no tracked history.")
            if model not in chosen:
                chosen.append(model)
        return chosen
