from django.core.management.base import BaseCommand, CommandError

from opsapi.audit import export
from opsapi.audit.context import command_context
from opsapi.audit.models import AuditAccess


class Command(BaseCommand):
    help = (
        "Export the audit trail of a time range, oldest record first, one line per record "
        "with all its fields, then a summary line with the count and the range hash. Streams "
        "in bounded pages: memory stays flat for any range."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO 8601 time with offset (inclusive).")
        parser.add_argument("--until", help="ISO 8601 time with offset (exclusive).")
        parser.add_argument("--format", choices=export.FORMATS, default="jsonl")
        parser.add_argument(
            "--model", action="append", default=[], help="Only this model (repeatable)."
        )
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, since, until, format, model, output, **options):  # noqa: A002
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
            if output:
                with open(output, "w", encoding="utf-8") as stream:
                    stream.writelines(export.lines(flt, format))
            else:
                for line in export.lines(flt, format):
                    self.stdout.write(line, ending="")
