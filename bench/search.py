"""§8: search for a broad word at 50,000 incidents, the API against the SQL it runs.

The national data set holds 20,000 incidents; search is measured at 50,000, so it has a
database of its own: the benchmark's with ``_search`` appended to its name (on SQLite a file
beside the benchmark's), created if missing, migrated and seeded once by the same loader
(:func:`bench.seed.seed`, at the sizes of :data:`SIZES`: 50,000 incidents, an action or
so each, short timelines) and reused by later runs. It is measured in a process of its own
pointed at that database, so the national measurements never see those incidents.

The word is :data:`WORD`, which every seeded incident's summary holds ("the situation is being
assessed", stemmed ``situat``) and so do a third of the timeline notes (situation reports):
the broadest search there is, every incident a hit to rank. As an officer, through the real
URL routing, middleware, token authentication and view (``bench.client``), the first page of
20 with each hit's reference and title. The floor is the SQL statements
:func:`coordination.search.search` runs for it (the count and the ranked page), recorded once
and replayed through a cursor.

``python -m bench.search`` measures this section alone, on the database ``DATABASE_URL``
names (use a dedicated one, e.g. ``postgres://postgres@127.0.0.1:5432/opsapi_bench_search``).
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import run
from bench.timing import Samples

WORD = "situation"
PAGE = 20
TARGET_MS = 100
# The search data set for each scale of the benchmark: partners, incidents, actions, history.
SIZES = {
    "national": (520, 50_000, 50_000, 750_000),
    "small": (120, 5_000, 5_000, 75_000),
    "tiny": (8, 30, 150, 1_000),
}

SEARCH = """
query Search($query: String!, $first: Int!) {
  search(query: $query, first: $first) {
    totalCount
    edges { rank node { __typename ... on Incident { reference title } ... on Partner { name } } }
  }
}
"""


@dataclasses.dataclass
class SearchResult:
    word: str
    census: str
    data_note: str
    incidents: int
    hits: int
    api: Samples
    raw: Samples
    queries: int
    raw_queries: int

    @property
    def ratio(self) -> float:
        return self.api.median / self.raw.median


def search_scale(name: str):
    """The search data set of the benchmark's scale ``name``."""
    from bench.scale import Scale

    return Scale(f"search ({name})", *SIZES[name], officers=3 if name == "tiny" else 24)


def search_database_url(url: str) -> str:
    """The search data set's database, beside the benchmark's own."""
    if url.startswith("sqlite"):
        stem, dot, suffix = url.rpartition(".")
        return f"{stem}-search.{suffix}" if dot else f"{url}-search"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_search"))


def measure_search(scale_name: str, rounds: int, log=print) -> SearchResult:
    """§8 in a process of its own, on the search database (seeded there first if need be)."""
    env = {**os.environ, "DATABASE_URL": search_database_url(os.environ["DATABASE_URL"])}
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "search.json"
        command = [sys.executable, "-m", "bench.search", "--scale", scale_name]
        command += ["--rounds", str(rounds), "--json", str(output)]
        subprocess.run(command, env=env, check=True)
        return _from_json(json.loads(output.read_text(encoding="utf-8")))


def _from_json(data: dict) -> SearchResult:
    return SearchResult(
        **{**data, "api": Samples("api", data["api"]), "raw": Samples("raw", data["raw"])}
    )


def _create_database() -> None:
    """Create the database the settings name if the PostgreSQL server has none of that name."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    name = connection.settings_dict["NAME"]
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")


def _statements(user) -> list[tuple[str, list]]:
    """The SQL statements (with their parameters) that search runs for :data:`WORD`."""
    from django.db import connection

    from coordination.search import search

    search(user=user, text=WORD, offset=0, limit=PAGE)  # the user's roles, read once, cached
    recorded = []

    def record(execute, sql, params, many, context):
        recorded.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        search(user=user, text=WORD, offset=0, limit=PAGE)
    return recorded


def _replay(statements) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()


def time_search(client, rounds: int) -> dict:
    """The API's search for :data:`WORD` and its SQL floor, interleaved; checks that the page
    is full and that every incident is a hit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.client import BenchError
    from bench.timing import Contender, interleave
    from coordination.models import Incident

    variables = {"query": WORD, "first": PAGE}
    page = client.data(SEARCH, variables)["search"]
    incidents = Incident.objects.count()
    if len(page["edges"]) != min(PAGE, incidents) or page["totalCount"] < incidents:
        raise BenchError(f"search({WORD!r}) found {page['totalCount']} of {incidents} incidents.")
    statements = _statements(client.user)
    samples = interleave(
        [
            Contender("api", partial(client.post, "/graphql/", SEARCH, variables)),
            Contender("raw", partial(_replay, statements)),
        ],
        rounds=rounds,
    )
    with CaptureQueriesContext(connection) as captured:
        client.post("/graphql/", SEARCH, variables)
    return {
        "word": WORD,
        "incidents": incidents,
        "hits": page["totalCount"],
        "api": samples["api"].times,
        "raw": samples["raw"].times,
        "queries": len(captured),
        "raw_queries": len(statements),
    }


def search_section(result: SearchResult) -> list[str]:
    return [
        f"## 8. Search: a broad word at {result.incidents:,} incidents",
        "",
        f"`search(query: {result.word!r}, first: {PAGE})` as an officer: {result.hits:,} hits "
        "(every incident, by its summary, and the partners none), ranked on the stored "
        "`search_vector` columns; the floor is the count and the ranked page that "
        "`coordination.search` runs, replayed through a cursor. A data set of its own "
        f"(`bench/search.py`): {result.census} ({result.data_note}).",
        "",
        "| Contender | ms, median (min-max) | SQL queries |",
        "|---|---|---|",
        f"| API | {result.api.ms()} | {result.queries} |",
        f"| its SQL (count, ranked page) | {result.raw.ms()} | {result.raw_queries} |",
        "",
        f"API ÷ its SQL: {result.ratio:.2f}x.",
        "",
    ]


def targets(result: SearchResult) -> list:
    from bench.report import Target

    return [
        Target(
            f"Search, a broad word at {result.incidents:,} incidents, p50",
            result.api.median * 1e3,
            TARGET_MS,
            "ms",
        )
    ]


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="timed searches (default 30)")
    parser.add_argument("--scale", choices=tuple(SIZES))
    parser.add_argument("--json", type=Path, help="write the measurement there (for make bench)")
    args = parser.parse_args(argv)
    run._environment()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.client import ApiClient, BenchError
    from bench.directory import OFFICER

    name = args.scale or ("national" if connection.vendor == "postgresql" else "small")
    try:
        _create_database()
        census, data_note = run._prepare_database(search_scale(name))
        client = ApiClient(get_user_model().objects.get(username=OFFICER.format(1)))
        measured = time_search(client, args.rounds)
    except BenchError as error:
        run._log(f"bench.search: {error}")
        return 1
    measured.update(census=str(census), data_note=data_note)
    if args.json:
        args.json.write_text(json.dumps(measured), encoding="utf-8")
    else:
        run._log("\n".join(search_section(_from_json(measured))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
