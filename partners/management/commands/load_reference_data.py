from django.core.management.base import BaseCommand, CommandError

from opsapi.audit.context import command_context
from partners.reference import ReferenceDataError, load_reference_data


class Command(BaseCommand):
    help = (
        "Create the states, critical-infrastructure sectors and urban areas that are missing "
        "(partners/reference_data). No row is deleted, and the only change to an existing row "
        "gives an urban area nobody has edited the states the file lists, so it is safe to run "
        "on every start."
    )

    def handle(self, *args, **options):
        with command_context("load_reference_data"):
            try:
                created = load_reference_data()
            except ReferenceDataError as error:
                raise CommandError(str(error)) from error
        if options["verbosity"] >= 1:
            counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in created.items())
            self.stdout.write(f"Reference data created: {counts}.")
