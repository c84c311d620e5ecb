import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from opsapi.audit.checkpoints import parse_kept_copy, tracked_models
from opsapi.audit.verify import AuditVerifier


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every history record's HMAC and its link to the object's "
        "previous record, every live row against its newest record (many-to-many links "
        "included), the access log (every entry's HMAC, and its numbering: none missing), and "
        "every checkpoint (its seal, and that the records and entries it covered are still "
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
            "checkpoint seals and the access log are checked in any case.",
        )
        parser.add_argument(
            "--kept-checkpoints",
            metavar="FILE",
            help="The checkpoint_audit output kept outside the database (one JSON line per "
            "checkpoint): each must still be in the database, unchanged, and the records it "
            "covered are checked against it even if its row is gone.",
        )

    def handle(self, *args, models=None, kept_checkpoints=None, **options):
        kept = self._kept(kept_checkpoints) if kept_checkpoints else []
        verifier = AuditVerifier(self._models(models) if models else None, kept=kept)
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
    def _kept(path) -> list:
        try:
            with open(path, encoding="utf-8") as lines:
                return [parse_kept_copy(line) for line in lines if line.strip()]
        except OSError as error:
            raise CommandError(f"--kept-checkpoints: {error}") from None
        except ValueError as error:
            raise CommandError(f"--kept-checkpoints: {path}: {error}") from None

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
