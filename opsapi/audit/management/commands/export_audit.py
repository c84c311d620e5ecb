import itertools

from django.core.management.base import BaseCommand, CommandError

from opsapi.audit import export
from opsapi.audit.context import command_context
from opsapi.audit.models import AuditAccess


class Command(BaseCommand):
    help = (
        "Export the audit trail of a time range, oldest record first, one line per record "
        "with all its fields, then a summary line with the count and the range hash. Streams "
        "in bounded pages: memory stays flat for any range. With --checkpoints, the signed "
        "export instead: the signing keys, every signed checkpoint and every record they cover, "
        "for python -m opsapi.audit.verify_export (docs/audit.md §10)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO 8601 time with offset (inclusive).")
        parser.add_argument("--until", help="ISO 8601 time with offset (exclusive).")
        parser.add_argument("--format", choices=export.FORMATS, default="jsonl")
        parser.add_argument(
            "--model", action="append", default=[], help="Only this model (repeatable)."
        )
        parser.add_argument("--output", help="Write to this file instead of standard output.")
        parser.add_argument(
            "--checkpoints",
            action="store_true",
            help="The signed export: keys, checkpoints and the records they cover (all of them).",
        )

    def handle(self, *args, since, until, format, model, output, checkpoints, **options):  # noqa: A002
        if checkpoints:
            self._signed(output, since=since, until=until, model=model, format=format)
            return
        try:
            flt = export.export_filter(since=since, until=until, models=model)
        except export.ExportError as error:
            raise CommandError(f"--{error.parameter}: {error}") from None
        with command_context("export_audit"):
            AuditAccess.record(
                user=None,
                operation="export",
                target=f"{since or '-'}..{until or '-'}",
                arguments={"since": since, "until": until, "format": format, "model": model},
            )
            self._write(output, export.lines(flt, format))

    def _signed(self, output, **others):
        if any(others[name] for name in ("since", "until", "model")) or others["format"] != "jsonl":
            raise CommandError(
                "--checkpoints exports every record the checkpoints cover, as JSON lines: "
                "it takes no --since, --until, --model or --format."
            )
        with command_context("export_audit"):
            AuditAccess.record(
                user=None, operation="export", target="signed", arguments={"checkpoints": True}
            )
            lines = export.signed_lines()
            try:
                first = next(lines)
            except export.NoSignedCheckpoint as error:
                raise CommandError(f"--checkpoints: {error}") from None
            self._write(output, itertools.chain([first], lines))

    def _write(self, output, lines):
        if output:
            with open(output, "w", encoding="utf-8") as stream:
                stream.writelines(lines)
        else:
            for line in lines:
                self.stdout.write(line, ending="")
