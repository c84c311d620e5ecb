"""§7: signed checkpoints, the offline check, and what a checkpoint costs a write (issue 15).

On the benchmark's database, each step runs as a process of its own, timed and with its peak
memory (``/usr/bin/time``):

1. ``checkpoint_audit``: the first signed checkpoint hashes every record; a later one only
   the records written since (the second run here, with none written: the fixed cost);
2. ``export_audit --checkpoints`` to a file;
3. ``python -m opsapi.audit.verify_export`` over that file with the public key;
4. ``inclusionProof``'s work (:func:`measure_proofs`) for records spread over the largest log.

Then what a checkpoint costs the write path: updateIncident in slices, alternately with no
checkpoint running and with ``checkpoint_audit`` taken again and again by another process
(each extending the trees by the records written since the last), and its SQL queries with
``AUDIT_SIGNING_KEY`` set and unset. Nothing of a checkpoint runs inside a write: the ratio
shows only the machine being shared (two cores: the checkpointer takes one while it hashes).

Benchmark databases sign with a fixed, public key (their data is synthetic): never point this
at real data. ``python -m bench.signed_trail`` measures this section alone.
"""

import base64
import dataclasses
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import run
from bench.timing import Samples

# 32 fixed bytes: the benchmark databases' signing key, public like their chain key.
BENCH_SIGNING_KEY = base64.b64encode(hashlib.sha256(b"opsapi-benchmark-signing").digest()).decode()
# A checkpoint again and again until stopped: the write-path measurement's other process.
CHECKPOINT_LOOP = (
    "from opsapi.audit.checkpoints import take_checkpoint\nwhile True: take_checkpoint()"
)
SLICES = 4


@dataclasses.dataclass
class Step:
    what: str
    seconds: float
    peak_mb: int


@dataclasses.dataclass
class SignedTrailResult:
    records: int  # lines of the export: one per record, and the checkpoints and keys
    export_mb: float
    steps: list[Step]
    verified: str  # verify_export's own summary line
    idle: Samples  # updateIncident, no checkpoint running
    checkpointing: Samples  # updateIncident while checkpoints are taken
    checkpoints_taken: int
    queries_unsigned: int
    queries_signed: int
    proofs: "ProofsResult"

    @property
    def write_ratio(self) -> float:
        return self.checkpointing.median / self.idle.median

    def step(self, prefix: str) -> Step:
        return next(s for s in self.steps if s.what.startswith(prefix))


def _timed(command: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, standard output) of ``command`` run to completion."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%e %M", *command],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            from bench.client import BenchError

            raise BenchError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), int(kilobytes) // 1024, done.stdout


def _signed_environment() -> dict:
    return {**os.environ, "AUDIT_SIGNING_KEY": BENCH_SIGNING_KEY}


def _manage(*arguments: str) -> list[str]:
    return [sys.executable, str(run.ROOT / "manage.py"), *arguments]


def measure_steps(folder: Path) -> tuple[list[Step], int, float, str]:
    """Checkpoint twice, export, verify: (steps, export lines, export MB, verifier's line)."""
    from django.db import connection

    from opsapi.audit import signing
    from opsapi.audit.checkpoints import newest_signed

    first = newest_signed() is None
    connection.close()  # the subprocesses wait for this process's transactions to end
    os.environ["AUDIT_SIGNING_KEY"] = BENCH_SIGNING_KEY
    steps = []
    took, peak, _ = _timed(_manage("checkpoint_audit"))
    kind = "first (every record)" if first else "later (the records written since)"
    steps.append(Step(f"checkpoint_audit, {kind}", took, peak))
    took, peak, _ = _timed(_manage("checkpoint_audit"))
    steps.append(Step("checkpoint_audit, none written since", took, peak))
    export, public = folder / "export.jsonl", folder / "audit.pub"
    key = signing.load_private_key(BENCH_SIGNING_KEY)
    public.write_text(signing.public_key_text(key.public_key()))
    took, peak, _ = _timed(_manage("export_audit", "--checkpoints", "--output", str(export)))
    steps.append(Step("export_audit --checkpoints", took, peak))
    verifier = [sys.executable, "-m", "opsapi.audit.verify_export", str(export), str(public)]
    took, peak, out = _timed(verifier)
    steps.append(Step("verify_export (no database, public key only)", took, peak))
    with export.open("rb") as lines:
        count = sum(1 for _ in lines)
    return steps, count, export.stat().st_size / 2**20, out.strip()


def measure_write_cost(client, rounds: int):
    """updateIncident p50 with no checkpoint running and while another process takes
    checkpoints, in alternating slices; its SQL queries with and without a signing key."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from bench.queries import UPDATE_INCIDENT
    from bench.writes import Mutation
    from coordination.models import Incident

    incidents = list(Incident.objects.order_by("reported_at", "pk")[40:80])
    run_id = secrets.token_hex(4)
    update = Mutation(
        client,
        UPDATE_INCIDENT,
        "updateIncident",
        incidents,
        lambda n: {"title": f"Benchmark signed-trail update {run_id}.{n}", "changeReason": "Bench"},
    )
    idle, busy = Samples("idle"), Samples("checkpointing")
    per_slice = max(1, rounds // SLICES)
    taken = _checkpoint_count()
    for _ in range(SLICES):
        _time_into(idle, update, per_slice)
        loop = subprocess.Popen(
            _manage("shell", "-c", CHECKPOINT_LOOP),
            env=_signed_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _await_checkpoint(taken)
            _time_into(busy, update, per_slice)
        finally:
            loop.terminate()
            loop.wait()
    counts = []
    for signing_key in ("", BENCH_SIGNING_KEY):
        with (
            override_settings(AUDIT_SIGNING_KEY=signing_key),
            CaptureQueriesContext(connection) as q,
        ):
            update()
        counts.append(len(q))
    return idle, busy, _checkpoint_count() - taken, counts


def _checkpoint_count() -> int:
    from opsapi.audit.models import AuditCheckpoint

    return AuditCheckpoint.objects.count()


def _await_checkpoint(before: int, timeout: float = 120.0) -> None:
    """Until the checkpointer has taken one (it is then surely hashing while writes go on)."""
    import time

    deadline = time.monotonic() + timeout
    while _checkpoint_count() <= before:
        if time.monotonic() > deadline:
            from bench.client import BenchError

            raise BenchError("the checkpointing process took no checkpoint in two minutes")
        time.sleep(0.2)


def _time_into(samples: Samples, operation, rounds: int) -> None:
    import gc
    import time

    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        operation()
        samples.times.append(time.perf_counter() - started)


@dataclasses.dataclass
class ProofsResult:
    log: str
    tree_size: int
    proofs: Samples  # opsapi.audit.proofs.inclusion_proof, one record each
    queries: int  # per proof


def measure_proofs(samples: int = 200) -> ProofsResult:
    """What ``inclusionProof`` costs: the proof of records spread over the largest log of the
    newest signed checkpoint (its tiles, its path, the record itself), timed one by one in this
    process, and its SQL queries. Run after a checkpoint (:func:`measure_steps`)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from opsapi.audit.checkpoints import newest_signed
    from opsapi.audit.models import AuditTreeTile
    from opsapi.audit.proofs import inclusion_proof

    heads = newest_signed().statement["logs"]
    log = max(heads, key=lambda name: heads[name]["size"])
    firsts = AuditTreeTile.objects.filter(log=log, level=0).order_by("index")
    firsts = list(firsts.values_list("first_id", "ids"))
    step = max(1, len(firsts) // samples)
    records = [ids[len(ids) // 2] for _, ids in firsts[::step]][:samples]
    inclusion_proof(log, records[0])  # warms the caches: not counted
    timed = Samples("inclusion proof")
    for record_id in records:
        _time_into(timed, lambda record_id=record_id: inclusion_proof(log, record_id), 1)
    with CaptureQueriesContext(connection) as queries:
        inclusion_proof(log, records[-1])
    return ProofsResult(log, heads[log]["size"], timed, len(queries))


def proofs_line(result: ProofsResult) -> str:
    return (
        f"An inclusion proof in {result.log} ({result.tree_size:,} records): "
        f"{result.proofs.ms()} ms, {result.queries} SQL queries ({len(result.proofs.times)} "
        "records spread over the log)."
    )


def measure_signed_trail(client, rounds: int) -> SignedTrailResult:
    with tempfile.TemporaryDirectory() as folder:
        steps, records, size, verified = measure_steps(Path(folder))
    proofs = measure_proofs()
    idle, busy, taken, (unsigned, signed) = measure_write_cost(client, rounds)
    return SignedTrailResult(
        records=records,
        export_mb=size,
        steps=steps,
        verified=verified,
        idle=idle,
        checkpointing=busy,
        checkpoints_taken=taken,
        queries_unsigned=unsigned,
        queries_signed=signed,
        proofs=proofs,
    )


def signed_trail_section(result: SignedTrailResult) -> list[str]:
    rows = [f"| {s.what} | {s.seconds:.1f} s | {s.peak_mb} MB |" for s in result.steps]
    return [
        "## 7. Signed trail: checkpoints, the offline check, and writes",
        "",
        f"The export: {result.records:,} lines ({result.export_mb:,.0f} MB), "
        f"`verify_export`: {result.verified}",
        "",
        "| Step (a process of its own) | Time | Peak RSS |",
        "|---|---|---|",
        *rows,
        "",
        f"updateIncident while another process took checkpoints ({result.checkpoints_taken} "
        f"taken, each extending the trees by the records written since the last): "
        f"{result.checkpointing.ms()} ms against {result.idle.ms()} ms with none running, "
        f"{result.write_ratio:.2f}x, in {SLICES} alternating slices. Its SQL queries: "
        f"{result.queries_unsigned} without a signing key, {result.queries_signed} with one.",
        "",
        proofs_line(result.proofs),
        "",
    ]


def targets(result: SignedTrailResult) -> list:
    from bench.report import Target

    same = result.queries_signed == result.queries_unsigned
    return [
        Target(
            "Signed trail: a write's SQL queries, signing key set ÷ unset",
            result.queries_signed / result.queries_unsigned,
            1,
            "x",
            shown=(f"{result.queries_signed} ÷ {result.queries_unsigned}", "the same")
            if same
            else None,
        ),
        Target("updateIncident during checkpoints ÷ idle, p50", result.write_ratio, 1.2, "x"),
        Target("verify_export: peak RSS, MB", result.step("verify_export").peak_mb, 200, ""),
        Target("export_audit --checkpoints: peak RSS, MB", result.step("export").peak_mb, 200, ""),
        Target("inclusionProof at 1M records, p50", result.proofs.proofs.median * 1e3, 50, "ms"),
    ]


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.signed_trail", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="timed writes (default 40)")
    parser.add_argument("--scale", choices=("national", "small", "tiny"))
    parser.add_argument(
        "--proofs",
        action="store_true",
        help="only the inclusion proofs, against the newest signed checkpoint already taken",
    )
    args = parser.parse_args(argv)
    run._environment()
    import django

    django.setup()
    if args.proofs:
        run._log(proofs_line(measure_proofs()))
        return 0
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import override_settings

    from bench.client import ApiClient, BenchError
    from bench.directory import OFFICER
    from bench.scale import SCALES

    name = args.scale or ("national" if connection.vendor == "postgresql" else "small")
    try:
        census, _ = run._prepare_database(SCALES[name])
        client = ApiClient(get_user_model().objects.get(username=OFFICER.format(1)))
        with override_settings(ROOT_URLCONF="bench.urls"):
            result = measure_signed_trail(client, args.rounds)
    except BenchError as error:
        run._log(f"bench.signed_trail: {error}")
        return 1
    run._log(f"{census}; {connection.vendor}")
    run._log("\n".join(signed_trail_section(result)))
    for target in targets(result):
        run._log(" | ".join(target.row()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
