"""The results as Markdown: targets met or missed, the tables behind them, the profile.

``bench/RESULTS.md`` also holds the soak's section (``python -m bench.soak``), between the
markers below; rewriting the file keeps it.
"""

import dataclasses
from pathlib import Path

from bench.http import CONCURRENCY, POOL_SIZE, HttpResult
from bench.limits import LimitsResult, limits_section
from bench.limits import targets as limit_targets
from bench.machine import Machine
from bench.profiling import Profile
from bench.reads import SIZES, ReadResult
from bench.scale import Census
from bench.search import SearchResult, search_section
from bench.search import targets as search_targets
from bench.signed_trail import SignedTrailResult, signed_trail_section
from bench.signed_trail import targets as signed_trail_targets
from bench.trail import AuditResult
from bench.writes import WriteResult

QUIET_BELOW = 0.10  # share of the machine busy with other work
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SOAK_START, SOAK_END = "<!-- soak -->", "<!-- /soak -->"


@dataclasses.dataclass
class Target:
    what: str
    measured: float
    limit: float
    unit: str  # "x" (a ratio), "ms", "%", or "" (a count)
    at_most: bool = True  # measured must be <= limit (else >=)
    shown: tuple[str, str] | None = None  # (measured, limit) in words, instead of numbers

    @property
    def met(self) -> bool:
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit

    def cell(self, value: float) -> str:
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "ms":
            return f"{value:.2f} ms"
        if self.unit == "%":
            return f"{value:.2f}%"
        return f"{value:g}"

    def row(self) -> list[str]:
        sign = "≤" if self.at_most else "≥"
        if self.met:
            verdict = "**met**"
        else:
            gap = self.measured / self.limit if self.at_most else self.limit / self.measured
            by = f"{gap:.1f}x" if gap >= 1.5 else f"{gap - 1:.0%}"
            verdict = f"**missed** by {by}"
        if self.shown:
            return [self.what, *self.shown, "**met**" if self.met else "**missed**"]
        return [self.what, self.cell(self.measured), f"{sign} {self.cell(self.limit)}", verdict]


@dataclasses.dataclass
class Results:
    machine: Machine
    scale: str
    census: Census
    data_note: str  # seeded in / reused
    busy: tuple[float | None, float | None]  # before, after
    quick: bool
    reads: list[ReadResult]
    http: list[HttpResult] | None
    http_seconds: float
    writes: list[WriteResult]
    audit: list[AuditResult]
    profile: Profile
    partner_name: str
    limits: LimitsResult | None = None  # §6, hostile documents
    signed_trail: SignedTrailResult | None = None  # §7, signed checkpoints
    search: SearchResult | None = None  # §8, search at 50,000 incidents

    def read(self, who: str, n: int) -> ReadResult | None:
        return next((r for r in self.reads if r.who == who and r.n == n), None)

    def query_counts(self, who: str) -> list[float]:
        return [r.api_queries for r in self.reads if r.who == who]

    def targets(self) -> list[Target]:
        targets = [
            Target(
                f"Watch floor N={n}, API ÷ raw SQL (in-process)",
                self.read("officer", n).ratio,
                3,
                "x",
            )
            for n in (100, 1000)
        ]
        if self.http:
            api, raw = self.http
            targets.append(
                Target("Over HTTP, API req/s ÷ raw req/s", api.rate / raw.rate, 1 / 3, "x", False)
            )
        officer, partner = self.read("officer", 100), self.read("partner", 100)
        targets.append(
            Target(
                "Partner read ÷ officer read (N=100)",
                partner.api.median / officer.api.median,
                1.2,
                "x",
            )
        )
        for write in self.writes:
            targets.append(Target(f"{write.mutation}: history overhead", write.overhead, 1.2, "x"))
            targets.append(
                Target(f"{write.mutation} ÷ its raw-SQL floor", write.floor_ratio, 2, "x")
            )
            targets.append(Target(f"{write.mutation}: p50", write.on.median * 1e3, 5, "ms"))
        limits = {"object history": 10, "auditLog, one hour": 10, "asOf": 20}
        for read in self.audit:
            targets.append(
                Target(
                    f"Audit: {read.read}, p50", read.samples.median * 1e3, limits[read.read], "ms"
                )
            )
        if self.limits is not None:
            targets += limit_targets(self.limits)
        if self.signed_trail is not None:
            targets += signed_trail_targets(self.signed_trail)
        if self.search is not None:
            targets += search_targets(self.search)
        for who in ("officer", "partner"):
            counts = self.query_counts(who)
            sizes = ", ".join(str(r.n) for r in self.reads if r.who == who)
            targets.append(
                Target(
                    f"SQL queries per {who} read, N = {sizes}",
                    len(set(counts)),
                    1,
                    "",
                    shown=(", ".join(f"{c:g}" for c in counts), "the same for every N"),
                )
            )
        return targets


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _queries(read: ReadResult | None) -> str:
    return "—" if read is None else f"{read.api_queries:g}"


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


def machine_table(m, busy: tuple, not_quiet: str) -> list[str]:
    """The machine a run ran on, and how busy its CPUs were with other work."""
    busy_before, busy_after = busy
    quiet = all(b is not None and b < QUIET_BELOW for b in busy)
    return _table(
        ["CPU", "Cores", "RAM", "Python", "Database", "Other work on the machine"],
        [
            [
                m.cpu,
                str(m.cores),
                f"{m.memory_gb:.0f} GB",
                m.python,
                m.database,
                f"{_share(busy_before)} of the CPUs busy before, {_share(busy_after)} after: "
                + ("quiet" if quiet else not_quiet),
            ]
        ],
    )


def markdown(results: Results) -> str:
    m = results.machine
    lines = [
        "# Benchmark results",
        "",
        f"`make bench`{' --quick' if results.quick else ''} on {m.database}, "
        f"{results.scale} scale, {m.date}. Regenerate with `make bench` (see docs/benchmark.md).",
        "",
        "## Machine",
        "",
        *machine_table(m, results.busy, "**not quiet** — treat absolute times with care"),
        "",
        f"Data: {results.census} ({results.data_note}).",
        "",
        "## Targets",
        "",
        *_table(["Target", "Measured", "Limit", ""], [t.row() for t in results.targets()]),
        "",
        "Medians; ratios are of medians from the same interleaved run.",
        "",
        "## 1. Watch-floor read, in-process (API vs raw SQL)",
        "",
        "`incidents(first: N)` with id, reference, title, severity, status, states and "
        "`actions { kind status dueAt partner { name kind state } }`, through the real URL "
        "routing, middleware, bearer-token authentication and view (Django's test client). "
        "N = 1000 is ten pages of 100 (the API's cap), following cursors; the raw floor "
        "(`bench/raw.py`) answers the same JSON, checked equal before timing. "
        f"Partner user: {results.partner_name}, the partner that sees the most incidents.",
        "",
        *_table(
            [
                "N",
                "User",
                "API ms, median (min-max)",
                "Raw ms",
                "API ÷ raw",
                "Fields",
                "Fields/ms API / raw",
                "SQL queries per request API / raw",
            ],
            [
                [
                    str(r.n),
                    r.who,
                    r.api.ms(),
                    r.raw.ms(),
                    f"{r.ratio:.2f}x",
                    f"{r.fields:,}",
                    f"{r.fields_per_ms(r.api):,.0f} / {r.fields_per_ms(r.raw):,.0f}",
                    f"{r.api_queries:g} / {r.raw_queries:g}",
                ]
                for r in results.reads
            ],
        ),
        "",
        "## 2. Over HTTP (uvicorn, one worker per core, concurrency 8)",
        "",
    ]
    if results.http:
        lines += [
            f"Watch floor N=100, {results.http_seconds:g} s of load per endpoint in alternating "
            "slices; the load generator is a separate process (`bench/load.py`) sharing the "
            "machine with the servers and PostgreSQL. Both servers pool their PostgreSQL "
            f"connections (`DATABASE_POOL_SIZE={POOL_SIZE}` per worker, see `bench/http.py`). Peak "
            "connections count every connection to the benchmark's database, its own included.",
            "",
            *_table(
                [
                    "Endpoint",
                    "Requests/s (slices min-max)",
                    "p50 ms",
                    "p99 ms",
                    "Requests",
                    "Load generator CPU",
                    "Peak DB connections",
                ],
                [
                    [
                        "API (`opsapi.asgi`)" if h.name == "api" else "raw SQL (`bench.asgi`)",
                        f"{h.rate:.1f} ({min(h.slice_rates):.1f}-{max(h.slice_rates):.1f})",
                        f"{h.latency(0.5) * 1e3:.1f}",
                        f"{h.latency(0.99) * 1e3:.1f}",
                        f"{h.requests:,}",
                        f"{h.client_load:.0%} of a core",
                        "-" if h.peak_connections is None else str(h.peak_connections),
                    ]
                    for h in results.http
                ],
            ),
        ]
    else:
        lines.append("Not run (`--no-http`).")
    lines += [
        "",
        "## 3. Writes: history on vs off, and the raw-SQL floor (in-process)",
        "",
        "Per mutation, through the API as an officer. History off = simple-history's "
        "`SIMPLE_HISTORY_ENABLED = False` around each call (`bench/writes.py`); the rows "
        "written that way are recorded afterwards so the trail still verifies. The floor "
        "(`bench/raw.py`) does the same change by hand in one transaction: the token, the row "
        "locked, the version checked, UPDATE, the history record with its chain link. The "
        "three are timed interleaved, through the same test client.",
        "",
        *_table(
            [
                "Mutation",
                "History on ms",
                "History off ms",
                "Floor ms",
                "Overhead",
                "÷ floor",
                "SQL queries on / off / floor",
            ],
            [
                [
                    w.mutation,
                    w.on.ms(),
                    w.off.ms(),
                    w.floor.ms(),
                    f"{w.overhead:.2f}x",
                    f"{w.floor_ratio:.2f}x",
                    f"{w.queries_on} / {w.queries_off} / {w.queries_floor}",
                ]
                for w in results.writes
            ],
        ),
        "",
        f"## 4. Audit reads at {results.census.history:,} history records (as an auditor)",
        "",
        *_table(
            ["Read", "What", "ms, median (min-max)", "SQL queries"],
            [[a.read, a.what, a.samples.ms(), str(a.queries)] for a in results.audit],
        ),
        "",
        "## 5. SQL queries per read",
        "",
        *_table(
            ["User", *[f"N={n}" for n in SIZES], "Constant?"],
            [
                [
                    who,
                    *[_queries(results.read(who, n)) for n in SIZES],
                    "yes" if len(set(results.query_counts(who))) == 1 else "**no**",
                ]
                for who in ("officer", "partner")
            ],
        ),
        "",
        "Per request (N=1000: per page of 100), authentication included.",
        "",
        *(limits_section(results.limits) if results.limits is not None else []),
        *(signed_trail_section(results.signed_trail) if results.signed_trail else []),
        *(search_section(results.search) if results.search else []),
        *gaps_section(results),
        *profile_section(results.profile),
    ]
    return with_soak_block("\n".join(lines) + "\n", soak_block(RESULTS))


def soak_block(path: Path) -> str:
    """The soak's section in the file at ``path``, markers included ("" if none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    start, end = text.find(SOAK_START), text.find(SOAK_END)
    return text[start : end + len(SOAK_END)] if 0 <= start < end else ""


def with_soak_block(text: str, block: str) -> str:
    """``text`` with its soak section replaced by ``block``, or ``block`` appended."""
    if not block:
        return text
    if not text.strip():
        return block + "\n"
    start, end = text.find(SOAK_START), text.find(SOAK_END)
    if 0 <= start < end:
        return text[:start] + block + text[end + len(SOAK_END) :]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def profile_section(profile: Profile) -> list[str]:
    return [
        f"## Profile: watch floor N=100 as the officer ({profile.requests} requests, cProfile)",
        "",
        *_table(["Where", "Share of the time"], [[a, f"{s:.0%}"] for a, s in profile.by_area]),
        "",
        "Functions with the most time of their own:",
        "",
        *_table(
            ["Function", "Share", "Calls per request"],
            [[f"`{f}`", f"{s:.1%}", f"{c / profile.requests:,.0f}"] for f, s, c in profile.top],
        ),
    ]


def _area_share(profile: Profile, *fragments: str) -> float:
    return sum(share for area, share in profile.by_area if any(f in area for f in fragments))


def gaps_section(results: Results) -> list[str]:
    """A line per kind of missed target: by how much, and what the measurements show."""
    missed = [t for t in results.targets() if not t.met]
    if not missed:
        return ["## Every target is met", ""]
    lines = ["## Where targets are missed, and what the profile shows", ""]
    names = " ".join(t.what for t in missed)
    profile = results.profile
    officer = results.read("officer", 100)
    if "Watch floor" in names or "HTTP" in names:
        execute_field = next((c for f, _, c in profile.top if f.startswith("execute_field")), 0)
        lines.append(
            f"- **Reads** ({officer.ratio:.1f}x the floor at N=100): not SQL. The API makes "
            f"{officer.api_queries:g} queries per request, the floor {officer.raw_queries:g}, "
            f"and the floor answers in {officer.raw.median * 1e3:.1f} ms. Of the API's time, "
            f"the profile puts {_area_share(profile, 'graphql', 'strawberry'):.0%} in GraphQL "
            "execution (graphql-core, strawberry, strawberry-django: `execute_field` runs "
            f"{execute_field / profile.requests:,.0f} times per request, once per field, each "
            "through strawberry's resolver wrappers), "
            f"{_area_share(profile, 'Django ORM'):.0%} in the Django ORM (querysets and model "
            f"instances for the prefetches) and {_area_share(profile, 'driver'):.0%} in the "
            "database driver."
        )
    if "HTTP" in names and results.http:
        api, raw = results.http
        lines.append(
            f"- **HTTP** ({api.rate:.1f} against {raw.rate:.1f} requests/s): the same cost per "
            "request, and Django runs a sync view on one thread per worker process, so with "
            f"{CONCURRENCY} requests in flight over {results.machine.cores} workers they "
            f"queue: p50 {api.latency(0.5) * 1e3:.0f} ms against {officer.api.median * 1e3:.0f} ms "
            "in-process."
        )
    partner = results.read("partner", 100)
    if "Partner read" in names and partner is not None:
        lines.append(
            f"- **Partner read** ({partner.api.median * 1e3:.1f} ms against the officer's "
            f"{officer.api.median * 1e3:.1f} ms, with {partner.fields / officer.fields:.0%} as "
            "many fields): the same "
            f"{partner.api_queries:g} queries, scoped by the visibility filter; in SQL alone "
            f"that filter costs the floor {partner.raw.median * 1e3:.1f} ms against "
            f"{officer.raw.median * 1e3:.1f} ms unscoped."
        )
    for write in results.writes:
        if any(t.what.startswith(write.mutation) for t in missed):
            links = (
                f"; the links of its {write.links} many-to-many fields, read for the snapshot "
                "and the diff and written as snapshot rows"
                if write.links
                else ""
            )
            lines.append(
                f"- **{write.mutation}** ({write.on.median * 1e3:.1f} ms with history, "
                f"{write.off.median * 1e3:.1f} ms without): {write.queries_off} SQL queries "
                "without history (token, roles, lookup, row lock, checks, UPDATE); history adds "
                f"{write.queries_on - write.queries_off} (the object's previous record, for the "
                f"diff and the chain{links}; the INSERT)."
            )
    for read in results.audit:
        if any(t.what == f"Audit: {read.read}, p50" for t in missed):
            lines.append(
                f"- **Audit, {read.read}** ({read.samples.median * 1e3:.1f} ms): "
                f"{read.queries} SQL queries, the recording of the audit read included."
            )
    return [*lines, ""]
