"""``python -m bench.soak [--short] [--minutes M] [--output FILE]``: the soak run (issue 6 §7).

Mixed reads and writes from officers, an auditor and the users of several partners, 16 at a
time, against a real server served the production way (``uvicorn opsapi.asgi:application
--workers <cores>``, ``DEBUG`` off) and PostgreSQL, for 10 minutes (``--short``: one). It
reports every request by operation, the 5xx answers (there must be none), GraphQL errors and
refusals by code, the reconciled counts (every write a client saw accepted is in the database,
and nothing else: :mod:`bench.soak_ledger`), ``verify_audit``, and the server processes'
memory at the start and the end. The result goes into ``bench/RESULTS.md`` between
``<!-- soak -->`` and ``<!-- /soak -->``; a ``--short`` run writes to
``bench/.cache/RESULTS-soak-short.md`` instead, so it never replaces a full run's record.

PostgreSQL only (``DATABASE_URL``): SQLite takes one writer at a time, so a soak of it would
measure its lock, not the service. Use a database of its own (docs/benchmark.md, "Soak"): the
run adds its users (the benchmark's directory, :mod:`bench.directory`, if the database has
none) and its incidents. The per-user rate limit is raised far above what 16 clients send, so
that it counts every request (in Redis if ``REDIS_URL`` is set) without refusing any.
"""

import argparse
import concurrent.futures
import contextlib
import dataclasses
import datetime
import io
import os
import random
import secrets
import sys
import time
from pathlib import Path

from bench.run import BENCH_CHAIN_KEY, CACHE, RESULTS, ROOT

DEFAULT_MINUTES = 10.0
SHORT_MINUTES = 1.0
CONCURRENCY = 16
OFFICERS = 8
PARTNERS = 3
SHORT_OUTPUT = CACHE / "RESULTS-soak-short.md"
RATE_LIMIT = "1000000/m"  # counted, never reached


def _log(message: str) -> None:
    print(message, flush=True)  # noqa: T201 (the soak reports on the terminal)


@dataclasses.dataclass
class Accounts:
    """API tokens of the soak's users, and the partners' global IDs."""

    officers: list[str]
    auditor: str
    partner_users: list[str]
    partners: list[str]
    partner_names: list[str]


def prepare_accounts(rng: random.Random) -> Accounts:
    """Officers, an auditor and partner users of several partners, each with a fresh token:
    the benchmark's accounts, created first (:func:`bench.directory.create_directory`) if the
    database has none."""
    from django.contrib.auth import get_user_model
    from strawberry import relay

    from bench.directory import (
        AUDITOR_NAME,
        OFFICER,
        PARTNER_USERNAME,
        bench_data_present,
        create_directory,
    )
    from opsapi.accounts.models import PartnerMembership
    from opsapi.accounts.services import issue_token

    if not bench_data_present():
        create_directory(rng, partner_count=PARTNERS, officer_count=OFFICERS)
    users = get_user_model().objects

    def token(user) -> str:
        return issue_token(
            user=user, name="soak", actor=user, expires_in_days=1, reason="Soak run"
        )[1]

    memberships = list(
        PartnerMembership.objects.filter(
            user__username__startswith=PARTNER_USERNAME.format(""), partner__active=True
        )
        .select_related("user", "partner")
        .order_by("partner_id")[:PARTNERS]
    )
    return Accounts(
        officers=[token(users.get(username=OFFICER.format(n))) for n in range(1, OFFICERS + 1)],
        auditor=token(users.get(username=AUDITOR_NAME)),
        partner_users=[token(m.user) for m in memberships],
        partners=[relay.to_base64("Partner", m.partner_id) for m in memberships],
        partner_names=[m.partner.name for m in memberships],
    )


# --- the server's memory ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children = []
    for task in tasks:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
            children += [int(child) for child in f.read().split()]
    return children


def _rss(pid: int) -> int:
    """Resident memory of process ``pid`` in bytes (0 if it is gone)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time process ``pid`` has used (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _kind(pid: int, root: int) -> str:
    """What a process of the server is: uvicorn's supervisor, a worker (started by
    multiprocessing's spawn) or a helper (multiprocessing's resource tracker)."""
    if pid == root:
        return "supervisor"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
    except OSError:
        return "gone"
    return "worker" if b"spawn_main" in command else "helper"


@dataclasses.dataclass
class MemorySample:
    at: float  # seconds into the load
    rss: dict[int, int]  # pid -> bytes: the server process and every process under it
    kinds: dict[int, str]  # pid -> supervisor / worker / helper
    cpu: dict[int, float]  # pid -> CPU seconds used since it started

    @property
    def total(self) -> int:
        return sum(self.rss.values())


def memory_of(pid: int, at: float) -> MemorySample:
    """The RSS of ``pid`` and all its descendants (uvicorn's supervisor and its workers)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return MemorySample(
        at,
        rss={p: _rss(p) for p in pids},
        kinds={p: _kind(p, pid) for p in pids},
        cpu={p: _cpu_seconds(p) for p in pids},
    )


# --- the run --------------------------------------------------------------------------------


@dataclasses.dataclass
class SoakResult:
    tag: str
    ledger: object  # bench.soak_ledger.Ledger: the writes the clients saw accepted
    seconds: float
    concurrency: int
    workers: int
    redis: bool
    roles: dict[str, int]  # role -> threads
    partner_names: list[str]
    tally: object  # bench.soak_traffic.Tally
    reconciliation: object  # bench.soak_ledger.Reconciliation
    verify_ok: bool
    verify_output: str
    memory: list[MemorySample]
    machine: object = None  # bench.machine.Machine
    busy: tuple = (None, None)

    @property
    def lost_writes(self) -> bool:
        return not self.reconciliation.clean

    @property
    def passed(self) -> bool:
        t = self.tally
        return (
            t.server_errors == 0
            and not t.transport
            and not t.errors
            and not t.unexpected_refusals()
            and not self.lost_writes
            and self.verify_ok
        )


@contextlib.contextmanager
def _environment(values: dict):
    """``os.environ`` with ``values`` for the block (the server process inherits it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_server(database_url: str, workers: int, tag: str, redis_url: str | None):
    """``uvicorn opsapi.asgi:application --workers <workers>`` with production settings,
    the rate limit raised out of reach, on a free loopback port."""
    from bench.http import Server

    env = {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "GRAPHQL_RATE_LIMIT": RATE_LIMIT,
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url or "",
        # Keys of their own, so nothing else sharing the Redis hears or counts the soak.
        "CHANNEL_LAYER_PREFIX": f"opsapi-{tag}",
        "CACHE_KEY_PREFIX": f"opsapi-{tag}",
    }
    with _environment(env):
        return Server("opsapi.asgi:application", workers)


def verify_audit() -> tuple[bool, str]:
    """Run ``manage.py verify_audit``: (passed, its last line)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=io.StringIO())
    except CommandError as error:
        lines = out.getvalue().strip().splitlines()
        return False, f"{error} First finding: {lines[0] if lines else '-'}"
    return True, out.getvalue().strip().splitlines()[-1]


def _threads(concurrency: int, accounts: Accounts):
    """(role, token, name) of each client thread."""
    from bench.soak_traffic import THREAD_ROLES

    counts = dict.fromkeys(("officer", "partner user", "auditor"), 0)
    threads = []
    for i in range(concurrency):
        role = THREAD_ROLES[i % len(THREAD_ROLES)]
        k = counts[role]
        counts[role] += 1
        if role == "officer":
            token, name = accounts.officers[k % len(accounts.officers)], f"officer {k + 1}"
        elif role == "partner user":
            n = k % len(accounts.partner_users)
            token, name = accounts.partner_users[n], accounts.partner_names[n]
        else:
            token, name = accounts.auditor, "auditor"
        threads.append((role, token, name))
    return threads, counts


def run_soak(
    *,
    database_url: str,
    seconds: float,
    concurrency: int = CONCURRENCY,
    workers: int | None = None,
    redis_url: str | None = None,
    seed: int | None = None,
    log=_log,
) -> SoakResult:
    """Prepare the users, serve, load for ``seconds``, then reconcile and verify. Django must
    be set up, on the database the server will use (``database_url``)."""
    from django.db import connection
    from strawberry import relay

    from bench.soak_ledger import Ledger, reconcile
    from bench.soak_traffic import Tally, World, run_user
    from partners.models import State

    rng = random.Random(seed)
    tag = f"soak-{datetime.datetime.now(datetime.UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    workers = workers or os.cpu_count() or 1
    accounts = prepare_accounts(rng)
    world = World(
        ledger=Ledger(tag=tag),
        started=datetime.datetime.now(datetime.UTC),
        states=[relay.to_base64("State", pk) for pk in State.objects.values_list("pk", flat=True)],
        partners=accounts.partners,
    )
    threads, roles = _threads(concurrency, accounts)
    connection.close()  # the server and the clients from here; none held open meanwhile
    log(f"Serving with {workers} worker(s); {concurrency} clients for {seconds:g} s ({tag}).")
    server = start_server(database_url, workers, tag, redis_url)
    tallies = [Tally() for _ in threads]
    memory = []
    try:
        memory.append(memory_of(server.process.pid, 0.0))
        started = time.monotonic()
        deadline = started + seconds
        with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [
                pool.submit(
                    run_user,
                    role,
                    server.port,
                    token,
                    world,
                    rng.random(),
                    name,
                    deadline,
                    tallies[i],
                )
                for i, (role, token, name) in enumerate(threads)
            ]
            try:
                _watch(server, started, deadline, tallies, memory, futures, log)
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C, or a client thread's bug: stop them all
                world.stop.set()
                raise
        memory.append(memory_of(server.process.pid, time.monotonic() - started))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    tally = Tally()
    for each in tallies:
        tally.merge(each)
    log("Reconciling with the database, then verify_audit ...")
    reconciliation = reconcile(world.ledger)
    verify_ok, verify_output = verify_audit()
    return SoakResult(
        tag=tag,
        ledger=world.ledger,
        seconds=elapsed,
        concurrency=concurrency,
        workers=workers,
        redis=bool(redis_url),
        roles=roles,
        partner_names=accounts.partner_names,
        tally=tally,
        reconciliation=reconciliation,
        verify_ok=verify_ok,
        verify_output=verify_output,
        memory=memory,
    )


def _watch(server, started, deadline, tallies, memory, futures, log) -> None:
    """Until the load ends: sample the server's memory and log progress each interval."""
    interval = min(30.0, max(1.0, (deadline - started) / 10))
    while not all(f.done() for f in futures):
        concurrent.futures.wait(futures, timeout=interval)
        now = time.monotonic()
        if now >= deadline:
            break
        sample = memory_of(server.process.pid, now - started)
        memory.append(sample)
        answered = sum(sum(t.requests.values()) for t in tallies)
        failed = sum(t.server_errors + sum(t.transport.values()) for t in tallies)
        log(
            f"  {now - started:5.0f} s: {answered:,} requests, {failed} 5xx or unanswered, "
            f"server RSS {sample.total / 2**20:,.0f} MB"
        )


# --- the command ----------------------------------------------------------------------------


def _arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--short", action="store_true", help=f"{SHORT_MINUTES:g} minute")
    parser.add_argument("--minutes", type=float, help=f"how long (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--output",
        type=Path,
        help=f"the Markdown file to put the soak section in (default: "
        f"{RESULTS.relative_to(ROOT)}; with --short, {SHORT_OUTPUT.relative_to(ROOT)})",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        _log(
            "bench.soak: DATABASE_URL must name a PostgreSQL database of the soak's own, e.g.\n"
            "  createdb -h 127.0.0.1 -U postgres opsapi_soak\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/opsapi_soak "
            ".venv/bin/python -m bench.soak --short\n"
            "The soak measures the production stack; SQLite takes one writer at a time."
        )
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsapi.settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("AUDIT_CHAIN_KEY", BENCH_CHAIN_KEY)  # synthetic data, as bench's
    import django

    django.setup()
    from django.core.management import call_command

    from bench.machine import Machine, busy_share
    from bench.report import with_soak_block
    from bench.soak_report import markdown

    minutes = args.minutes or (SHORT_MINUTES if args.short else DEFAULT_MINUTES)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_reference_data", verbosity=0)
    busy_before = busy_share()
    result = run_soak(
        database_url=database_url,
        seconds=minutes * 60,
        concurrency=args.concurrency,
        redis_url=os.environ.get("REDIS_URL") or None,
    )
    result.busy = (busy_before, busy_share())
    result.machine = Machine.describe()
    block = markdown(result)
    output = args.output or (SHORT_OUTPUT if args.short else RESULTS)
    output.parent.mkdir(parents=True, exist_ok=True)
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    output.write_text(with_soak_block(existing, block), encoding="utf-8")
    _log("")
    _log(block)
    _log(f"Written to {output}.")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
