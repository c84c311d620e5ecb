"""The soak's result as the Markdown section kept in ``bench/RESULTS.md`` (between the markers
of :mod:`bench.report`, which keeps the section when ``make bench`` rewrites the file)."""

from collections import Counter

from bench.report import SOAK_END, SOAK_START, _table, machine_table
from bench.soak_traffic import EXPECTED_REFUSALS

MB = 2**20


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _verdict(result) -> str:
    t = result.tally
    transport = sum(t.transport.values())
    parts = [
        f"{t.server_errors} 5xx",
        f"{transport} requests unanswered",
        f"{sum(t.errors.values())} GraphQL errors",
        f"{sum(t.unexpected_refusals().values())} unexpected refusals",
        "no lost writes" if not result.lost_writes else "**writes lost or unaccounted**",
        f"`verify_audit` {'OK' if result.verify_ok else '**failed**'}",
    ]
    return f"**{'Passed' if result.passed else 'FAILED'}**: " + ", ".join(parts) + "."


def _requests(result) -> list[str]:
    t = result.tally
    refused = {}
    for (operation, code), n in t.refusals.items():
        refused.setdefault(operation, []).append(f"{code} {n:,}")

    def timing(latencies: list[float]) -> list[str]:
        quantiles = (
            _quantile(latencies, 0.5),
            _quantile(latencies, 0.95),
            max(latencies, default=0),
        )
        return [f"{q * 1e3:,.0f}" for q in quantiles]

    rows = [
        [
            operation,
            f"{n:,}",
            f"{n / result.seconds:.2f}",
            *timing(t.latencies[operation]),
            ", ".join(refused.get(operation, [])) or "-",
        ]
        for operation, n in t.requests.most_common()
    ]
    total = sum(t.requests.values())
    everything = [latency for values in t.latencies.values() for latency in values]
    rows.append(
        [
            "**all**",
            f"**{total:,}**",
            f"**{total / result.seconds:.2f}**",
            *timing(everything),
            f"{sum(t.refusals.values()):,}",
        ]
    )
    return _table(
        ["Operation", "Requests", "Req/s", "p50 ms", "p95 ms", "max ms", "Refused (by code)"],
        rows,
    )


def _errors(result) -> list[str]:
    t = result.tally
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(t.statuses.items()))
    lines = [
        f"- HTTP statuses: {statuses or 'none'}; 5xx: **{t.server_errors}**; "
        f"requests that got no answer: {sum(t.transport.values())}.",
        "- GraphQL errors (top-level `errors`) by code: "
        + (", ".join(f"{code} ({op}) {n:,}" for (op, code), n in t.errors.most_common()) or "none")
        + ".",
        "- Refusals in results (`OperationInfo`) by code: "
        + (
            ", ".join(
                f"{code} ({op}) {n:,}"
                + ("" if code in EXPECTED_REFUSALS.get(op, ()) else " **unexpected**")
                for (op, code), n in t.refusals.most_common()
            )
            or "none"
        )
        + ". `stale_version` is the optimistic version check refusing a writer who lost a "
        "race; expected, not an error.",
    ]
    if t.unchanged:
        lines.append(
            "- Accepted without a change (the incident was already shared with that partner; "
            "no new version, no record): "
            + ", ".join(f"{op} {n:,}" for op, n in t.unchanged.items())
            + "."
        )
    return lines


def _memory(result) -> list[str]:
    samples = result.memory
    start, end = samples[0], samples[-1]
    warm = next((s for s in samples if s.at >= min(60.0, result.seconds / 5)), end)
    peak = max(samples, key=lambda s: s.total)
    kinds = Counter(start.kinds.values())
    processes = ", ".join(
        f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(kinds.items(), reverse=True)
    )
    restarted = set(start.rss) != set(end.rss)
    return [
        f"RSS of the server's processes ({processes}; the helper is multiprocessing's "
        f"resource tracker), summed, from `/proc/<pid>/status`, {len(samples)} samples.",
        "",
        *_table(
            ["At start (served, idle)", f"After {warm.at:.0f} s", "Peak", "At end", "Processes"],
            [
                [
                    f"{start.total / MB:,.0f} MB",
                    f"{warm.total / MB:,.0f} MB",
                    f"{peak.total / MB:,.0f} MB (at {peak.at:.0f} s)",
                    f"{end.total / MB:,.0f} MB",
                    "the same at the end"
                    if not restarted
                    else f"**changed**: {sorted(start.rss)} then {sorted(end.rss)}",
                ]
            ],
        ),
        "",
        "Per process, RSS at start → end and CPU time used during the load: "
        + ", ".join(
            f"{start.kinds[pid]} {start.rss[pid] / MB:,.0f} → {end.rss.get(pid, 0) / MB:,.0f} MB "
            f"and {end.cpu.get(pid, 0) - start.cpu[pid]:,.0f} s"
            for pid in start.rss
        )
        + ".",
    ]


def markdown(result) -> str:
    """The soak section, markers included."""
    m = result.machine
    roles = ", ".join(f"{n} {role} threads" for role, n in result.roles.items() if n)
    rec = result.reconciliation
    lines = [
        SOAK_START,
        "## Soak (`python -m bench.soak`)",
        "",
        _verdict(result),
        "",
        f"{result.seconds / 60:.1f} minutes on {m.database}, {m.date}: {result.concurrency} "
        f"clients at once ({roles}; partner users of {', '.join(result.partner_names)}), each "
        "on a keep-alive connection, against `uvicorn opsapi.asgi:application --workers "
        f"{result.workers}` with production settings (`DEBUG` off, `CONN_MAX_AGE=0`), the "
        "rate limit raised out of reach, "
        + ("Redis for events and counters" if result.redis else "no Redis")
        + f'. Run tag `{result.tag}`. See docs/benchmark.md, "Soak".',
        "",
        *machine_table(m, result.busy, "**not quiet**"),
        "",
        "### Requests",
        "",
        *_requests(result),
        "",
        *_errors(result),
        "",
        "### Reconciled with the database",
        "",
        "Every write a client saw accepted, against what the database holds for the run's "
        "rows afterwards (`bench/soak_ledger.py`, row by row; the sums below).",
        "",
        *_table(
            ["What", "Accepted, as the clients saw it", "In the database", ""],
            [
                [
                    line.what,
                    f"{line.accepted:,}",
                    f"{line.stored:,}",
                    "=" if line.agrees else "**≠**",
                ]
                for line in rec.lines
            ],
        ),
        "",
        *([f"- {problem}" for problem in rec.problems] or ["No row differs."]),
        "",
        f"`manage.py verify_audit` afterwards: {result.verify_output}",
        "",
        "### Server memory",
        "",
        *_memory(result),
    ]
    if result.tally.samples:
        lines += ["", "First failures, verbatim:", "", "```", *result.tally.samples, "```"]
    lines.append(SOAK_END)
    return "\n".join(lines)
