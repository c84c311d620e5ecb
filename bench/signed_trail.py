"""``python -m bench.signed_trail``: the cost of signed checkpoints and of the offline check.

On the benchmark's database (``DATABASE_URL``, or the SQLite file under ``bench/.cache/``;
seeded as ``make bench`` seeds it, or reused), each step runs as a process of its own, timed
and with its peak memory (``/usr/bin/time``):

1. ``checkpoint_audit``: the first signed checkpoint hashes every record; a later one only
   the records written since (the second run here, with none written: the fixed cost);
2. ``export_audit --checkpoints`` to a file;
3. ``python -m opsapi.audit.verify_export`` over that file with the public key.

Benchmark databases sign with a fixed, public key (their data is synthetic): never point this
at real data. See docs/benchmark.md.
"""

import argparse
import base64
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import run

# 32 fixed bytes: the benchmark databases' signing key, public like their chain key.
BENCH_SIGNING_KEY = base64.b64encode(hashlib.sha256(b"opsapi-benchmark-signing").digest()).decode()


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
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), int(kilobytes) // 1024, done.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signed_trail", description=__doc__)
    parser.add_argument("--scale", choices=("national", "small", "tiny"))
    args = parser.parse_args(argv)
    run._environment()
    os.environ["AUDIT_SIGNING_KEY"] = BENCH_SIGNING_KEY
    import django

    django.setup()
    from django.db import connection

    from bench.scale import SCALES
    from opsapi.audit import signing
    from opsapi.audit.checkpoints import newest_signed

    name = args.scale or ("national" if connection.vendor == "postgresql" else "small")
    census, _ = run._prepare_database(SCALES[name])
    first = newest_signed() is None
    connection.close()
    manage = [sys.executable, str(run.ROOT / "manage.py")]
    rows = []
    took, peak, _ = _timed([*manage, "checkpoint_audit"])
    rows.append(("checkpoint_audit, " + ("first (every record)" if first else "later"), took, peak))
    took, peak, _ = _timed([*manage, "checkpoint_audit"])
    rows.append(("checkpoint_audit, none written since", took, peak))
    with tempfile.TemporaryDirectory() as folder:
        export, public = Path(folder) / "export.jsonl", Path(folder) / "audit.pub"
        key = signing.load_private_key(BENCH_SIGNING_KEY)
        public.write_text(signing.public_key_text(key.public_key()))
        took, peak, _ = _timed([*manage, "export_audit", "--checkpoints", "--output", str(export)])
        size = export.stat().st_size / 2**20
        records = sum(1 for _ in export.open()) - 1
        rows.append((f"export_audit --checkpoints ({size:.0f} MB)", took, peak))
        verifier = [sys.executable, "-m", "opsapi.audit.verify_export", str(export), str(public)]
        took, peak, out = _timed(verifier)
        rows.append(("verify_export", took, peak))
    run._log(f"{census}; {connection.vendor}; {records:,} export lines")
    run._log(out.strip())
    run._log("| Step | Time | Peak RSS |\n|---|---|---|")
    for step, seconds, megabytes in rows:
        run._log(f"| {step} | {seconds:.1f} s | {megabytes} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
