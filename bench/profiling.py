"""Where a read's time goes: cProfile (standard library) over watch-floor requests, summed by
area (graphql-core, strawberry, strawberry-django, the Django ORM, the driver, ...) and listed
by function. cProfile slows Python code down more than C code, so the shares are a guide to
where the time goes, not exact."""

import cProfile
import dataclasses
import pstats
from pathlib import Path

ROOT = f"{Path(__file__).resolve().parent.parent}/"

AREAS = (  # (area, a path fragment of its files), first match wins
    ("graphql-core (parse, validate, execute)", "/graphql/"),
    ("strawberry-django (optimizer, fields)", "/strawberry_django/"),
    ("strawberry (schema, resolvers, relay)", "/strawberry/"),
    ("Django ORM (queries, model instances)", "/django/db/"),
    ("Django (request, middleware, rest)", "/django/"),
    ("psycopg (driver)", "/psycopg"),
    ("sqlite3 (driver)", "sqlite3"),
    ("the project's code", "/opsapi/"),
    ("the project's code", "/coordination/"),
    ("the project's code", "/partners/"),
    ("the benchmark's client", "/bench/"),
    ("json", "/json/"),
)
OTHER = "everything else (Python built-ins, standard library)"


@dataclasses.dataclass
class Profile:
    requests: int
    seconds: float
    by_area: list[tuple[str, float]]  # (area, share of the time)
    top: list[tuple[str, float, int]]  # (function, share, calls)


def _area(filename: str) -> str:
    for area, fragment in AREAS:
        if fragment in filename:
            return area
    return OTHER


def profile(run, requests: int) -> Profile:
    """Profile ``requests`` calls of ``run``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        run()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(tottime for _, _, tottime, _, _ in stats.values())
    areas: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.items():
        area = _area(filename)
        areas[area] = areas.get(area, 0.0) + tottime
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:12]
    return Profile(
        requests=requests,
        seconds=total,
        by_area=sorted(((a, t / total) for a, t in areas.items()), key=lambda x: -x[1]),
        top=[
            (_function_name(filename, line, name), tottime / total, calls)
            for (filename, line, name), (_, calls, tottime, _, _) in top
        ],
    )


def _function_name(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name  # a built-in
    filename = filename.removeprefix(ROOT)
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{name} ({filename}:{line})"
