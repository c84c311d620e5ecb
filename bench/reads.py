"""§1 and §5: the watch-floor read against the raw-SQL floor, and SQL queries per read.

Pages are capped at ``GRAPHQL_MAX_PAGE_SIZE`` (100), so N = 1000 is what a client does to
show 1000 incidents: ten requests, each for the next 100 after the previous page's cursor.
The floor does the same ten requests. The cursors are computed beforehand (each the keyset
cursor of the officer's list's row before the page, as the API writes it), so neither contender
is charged for a client parsing the previous page.
"""

import dataclasses
import functools
import json
from functools import partial

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.client import ApiClient, BenchError
from bench.queries import WATCH_FLOOR
from bench.raw import incident_order
from bench.timing import Contender, Samples, interleave
from bench.urls import RAW_WATCH_FLOOR
from coordination.models import Incident

API = "/graphql/"
SIZES = (10, 100, 1000)


@functools.cache
def pages(n: int) -> list[dict]:
    """The variables of the requests that fetch the first ``n`` incidents (worked out once:
    the data does not change while the benchmark reads)."""
    size = settings.GRAPHQL_MAX_PAGE_SIZE
    if n <= size:
        return [{"first": n}]
    queryset, order = incident_order()
    names = [key.name for key in order.keys]
    variables = []
    for start in range(0, n, size):
        page = {"first": min(size, n - start)}
        if start:
            row = queryset.values(*names)[start - 1]
            page["after"] = order.cursor([row[name] for name in names])
        variables.append(page)
    return variables


def read(client: ApiClient, path: str, n: int) -> list[bytes]:
    return [client.post(path, WATCH_FLOOR, variables) for variables in pages(n)]


def fields_in(value) -> int:
    """Fields in a GraphQL answer: every key of every object (what was resolved)."""
    if isinstance(value, dict):
        return len(value) + sum(fields_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(fields_in(v) for v in value)
    return 0


def check_floor(client: ApiClient, n: int) -> int:
    """Assert that the floor answers exactly what the API answers for ``n`` incidents, and
    that there are ``n`` to show; return how many fields the API resolved."""
    fields = shown = 0
    for api, raw in zip(read(client, API, n), read(client, RAW_WATCH_FLOOR, n), strict=True):
        api, raw = json.loads(api), json.loads(raw)
        if "errors" in api:
            raise BenchError(f"The API answered with errors: {api['errors']}")
        if api != raw:
            raise BenchError(
                f"The raw floor's answer differs from the API's for N={n} as "
                f"{client.user.username}: the floor must be brought in line (bench/raw.py)."
            )
        fields += fields_in(api["data"])
        shown += len(api["data"]["incidents"]["edges"])
    if shown != n:
        raise BenchError(f"{client.user.username} sees {shown} incidents, fewer than N={n}.")
    return fields


def queries_per_request(client: ApiClient, path: str, n: int) -> float:
    """SQL queries one request makes (averaged over the requests N takes)."""
    with CaptureQueriesContext(connection) as captured:
        read(client, path, n)
    return len(captured) / len(pages(n))


@dataclasses.dataclass
class ReadResult:
    """One N, one user: the API and the floor."""

    n: int
    who: str
    api: Samples
    raw: Samples
    fields: int
    api_queries: float
    raw_queries: float

    @property
    def ratio(self) -> float:
        return self.api.median / self.raw.median

    def fields_per_ms(self, samples: Samples) -> float:
        return self.fields / (samples.median * 1e3)


def measure_reads(clients: dict[str, ApiClient], rounds: dict[int, int]) -> list[ReadResult]:
    """For each N: every user's API read and floor read, all interleaved (a user who sees
    fewer than N incidents sits that N out)."""
    visible = {who: Incident.objects.visible_to(c.user).count() for who, c in clients.items()}
    results = []
    for n in SIZES:
        readers = {who: client for who, client in clients.items() if visible[who] >= n}
        fields = {who: check_floor(client, n) for who, client in readers.items()}
        contenders = []
        for who, client in readers.items():
            contenders.append(Contender(f"{who} api", partial(read, client, API, n)))
            contenders.append(Contender(f"{who} raw", partial(read, client, RAW_WATCH_FLOOR, n)))
        samples = interleave(contenders, rounds=rounds[n])
        for who, client in readers.items():
            results.append(
                ReadResult(
                    n=n,
                    who=who,
                    api=samples[f"{who} api"],
                    raw=samples[f"{who} raw"],
                    fields=fields[who],
                    api_queries=queries_per_request(client, API, n),
                    raw_queries=queries_per_request(client, RAW_WATCH_FLOOR, n),
                )
            )
    return results
