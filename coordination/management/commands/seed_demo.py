import argparse
import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coordination.demo import DEFAULT_SCALE, DEFAULT_SEED, MIN_SCALE, DemoDataError, seed_demo
from coordination.models import Incident
from opsapi.audit.context import command_context
from partners.models import Partner

SKIP_HINT = "make run DEMO=0"


def _moment(text: str) -> datetime.datetime:
    """An ISO 8601 date and time; without an offset, in the center's time zone."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time: write it as YYYY-MM-DDTHH:MM[+HH:MM]."
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = (
        "Fill the database with a realistic synthetic demo data set: partners in every state "
        "(with contacts), incidents of the last 30 days with their timelines, sharing and "
        "coordination actions, all written through the services so every row has its history. "
        "Needs the reference data (manage.py load_reference_data). The same --seed on an empty "
        "database gives the same data set. Runs once: if the demo officers (demo.officer1 ...) "
        "already exist it stops without changing anything; to seed again, start from an empty "
        "database. All or nothing: on any error nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=int,
            default=DEFAULT_SCALE,
            help=f"Number of incidents (default {DEFAULT_SCALE}, at least {MIN_SCALE}); "
            "the partner directory grows modestly with it.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--now",
            type=_moment,
            default=None,
            help="Seed as if it were this moment (ISO 8601, e.g. 2026-12-03T23:50; without an "
            "offset, in the center's time zone), not in the future. Default: now.",
        )
        parser.add_argument(
            "--first-run",
            action="store_true",
            help="What `make run` does: seed only a database holding no incident and no "
            "partner, saying so; otherwise leave the data alone and say nothing.",
        )

    def handle(self, *args, scale, seed, now, first_run, **options):
        if first_run:
            if Incident.objects.exists() or Partner.objects.exists():
                return
            self.stdout.write(
                "First run on an empty database: loading the demo data set "
                f"(to start empty instead: {SKIP_HINT}). Later runs leave the data alone."
            )
        started = time.monotonic()
        try:
            with command_context("seed_demo"):
                summary = seed_demo(scale=scale, seed=seed, now=now)
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] >= 1:
            elapsed = time.monotonic() - started
            self.stdout.write(
                self.style.SUCCESS(f"Seeded the demo data (seed {seed}) in {elapsed:.1f} s:")
            )
            for line in summary.lines():
                self.stdout.write(f"  {line}")
