"""``make bench`` / ``python -m bench``: seed (or reuse) a database at scale, measure, report.

The database is the one ``DATABASE_URL`` names — use a dedicated one, e.g.
``postgres://postgres@127.0.0.1:5432/opsapi_bench`` (docs/benchmark.md) — or, without it, a
SQLite file under ``bench/.cache/``. It is migrated and given the reference data if needed,
then seeded at ``--scale`` unless it already holds that much (a seeded database is reused).
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "RESULTS.md"
# The chain key of benchmark databases. Their data is synthetic, so the key may be public; it
# is fixed so that a seeded benchmark database verifies from any checkout.
BENCH_CHAIN_KEY = "opsapi-benchmark-data-only-not-a-secret"

# (rounds per N for reads, rounds for writes, rounds for audit reads, HTTP seconds, slices)
FULL = ({10: 30, 100: 20, 1000: 6}, 40, 30, 20.0, 4)
QUICK = ({10: 8, 100: 6, 1000: 2}, 10, 10, 4.0, 2)


def _environment() -> None:
    """Production settings (DEBUG off: it would log every query), a dedicated database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsapi.settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("AUDIT_CHAIN_KEY", BENCH_CHAIN_KEY)
    if not os.environ.get("DATABASE_URL"):
        CACHE.mkdir(exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{CACHE / 'bench.sqlite3'}"


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scale",
        choices=("national", "small", "tiny"),
        help="data set size (default: national on PostgreSQL, small on SQLite)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 4 s of HTTP load")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    parser.add_argument(
        "--no-signed-trail",
        action="store_true",
        help="skip §7 (checkpoint, export and verify the whole trail: minutes at national scale)",
    )
    parser.add_argument(
        "--no-search",
        action="store_true",
        help="skip §8 (search at 50,000 incidents, in a database of its own seeded on first use)",
    )
    parser.add_argument(
        "--verify", action="store_true", help="run verify_audit on the data set and time it"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the Markdown (default: {RESULTS.relative_to(ROOT)}; with "
        "--quick, bench/.cache/RESULTS-quick.md)",
    )
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(message, flush=True)  # noqa: T201 (the benchmark reports on the terminal)


def _prepare_database(scale):
    """Migrate, load the reference data, and seed unless the data set is already there;
    returns (census, how the data came to be)."""
    from django.core.management import call_command

    from bench.client import BenchError
    from bench.directory import bench_data_present
    from bench.scale import Census
    from bench.seed import seed

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_reference_data", verbosity=0)
    census = Census.take()
    if census.reaches(scale):
        _log(f"Reusing the data set: {census}.")
        return census, "reused"
    if bench_data_present():
        raise BenchError(
            f"This database holds a smaller benchmark data set ({census}) than the "
            f"{scale.name} scale. Seed into an empty database (e.g. dropdb/createdb) "
            "or choose its --scale."
        )
    _log(f"Seeding the {scale.name} scale (one transaction)...")
    seed(scale, log=_log)
    census = Census.take()
    took = time.monotonic() - started
    _log(f"Seeded: {census} in {took:.0f} s.")
    return census, f"seeded by this run in {took:.0f} s, migrations included"


def _verify() -> None:
    from django.core.management import call_command

    _log("verify_audit ...")
    started = time.monotonic()
    call_command("verify_audit", verbosity=1)
    _log(f"verify_audit took {time.monotonic() - started:.0f} s.")


def _measure(args, scale, census, data_note):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import override_settings

    from bench.client import ApiClient
    from bench.directory import AUDITOR_NAME, OFFICER, PARTNER_USERNAME
    from bench.http import measure_http
    from bench.limits import measure_limits
    from bench.machine import Machine, busy_share
    from bench.profiling import profile
    from bench.reads import API, measure_reads, read
    from bench.report import Results
    from bench.search import measure_search
    from bench.signed_trail import measure_signed_trail
    from bench.trail import measure_audit
    from bench.writes import measure_writes
    from partners.models import Partner

    reads_rounds, write_rounds, audit_rounds, http_seconds, slices = QUICK if args.quick else FULL
    users = get_user_model().objects
    partner = Partner.objects.get(pk=_partner_seeing_most(connection))
    clients = {
        "officer": ApiClient(users.get(username=OFFICER.format(1))),
        "partner": ApiClient(users.get(username=PARTNER_USERNAME.format(partner.pk))),
    }
    auditor = ApiClient(users.get(username=AUDITOR_NAME))
    busy_before = busy_share()
    with override_settings(ROOT_URLCONF="bench.urls"):
        _log("1. Watch-floor reads, API against raw SQL ...")
        reads = measure_reads(clients, reads_rounds)
        _log("   profiling the N=100 read ...")
        read_profile = profile(lambda: read(clients["officer"], API, 100), 10 if args.quick else 20)
        _log("3. Writes, history on and off ...")
        writes = measure_writes(clients["officer"], write_rounds)
        _log("4. Audit reads ...")
        audit = measure_audit(auditor, audit_rounds)
        _log("6. Hostile documents and the document limits ...")
        limits = measure_limits(clients["officer"], audit_rounds)
        signed = None
        if not args.no_signed_trail:
            _log(
                "7. Signed trail: checkpoint, export, verify offline; writes during checkpoints ..."
            )
            signed = measure_signed_trail(clients["officer"], write_rounds)
    search = None
    if not args.no_search:
        _log("8. Search: a broad word at 50,000 incidents (a database of its own) ...")
        search = measure_search(scale.name, audit_rounds)
    http = None
    if not args.no_http:
        _log(f"2. Over HTTP, {http_seconds:g} s of load per endpoint ...")
        http = measure_http(
            clients["officer"].token, first=100, seconds=http_seconds, slices=slices
        )
    busy_after = busy_share()
    return Results(
        machine=Machine.describe(),
        scale=scale.name,
        census=census,
        data_note=data_note,
        busy=(busy_before, busy_after),
        quick=args.quick,
        reads=reads,
        http=http,
        http_seconds=http_seconds,
        writes=writes,
        audit=audit,
        profile=read_profile,
        partner_name=partner.name,
        limits=limits,
        signed_trail=signed,
        search=search,
    )


def _partner_seeing_most(connection) -> int:
    """The partner with the most incidents shared with it or asked of it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT partner_id FROM (
                SELECT partner_id, incident_id FROM coordination_coordinationaction
                UNION SELECT partner_id, incident_id FROM coordination_incident_shared_with
            ) seen
            GROUP BY partner_id ORDER BY COUNT(*) DESC, partner_id LIMIT 1
            """
        )
        return cursor.fetchone()[0]


def main(argv=None) -> int:
    args = _arguments(argv)
    _environment()
    import django

    django.setup()
    from django.db import connection

    from bench.client import BenchError
    from bench.report import markdown
    from bench.scale import SCALES

    started = time.monotonic()
    name = args.scale or ("national" if connection.vendor == "postgresql" else "small")
    scale = SCALES[name]
    try:
        census, data_note = _prepare_database(scale)
        if args.verify:
            _verify()
        results = _measure(args, scale, census, data_note)
    except BenchError as error:
        _log(f"make bench: {error}")
        return 1
    text = markdown(results)
    output = args.output or (CACHE / "RESULTS-quick.md" if args.quick else RESULTS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    _log("")
    _log(text)
    _log(f"Written to {output} ({time.monotonic() - started:.0f} s in all).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
