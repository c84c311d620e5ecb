"""§6: hostile documents, and what the document limits cost an ordinary read (issue 13).

- the **fragment fan-out**: fragment F(n) spreads F(n-1) twice, 20 levels deep (about 900
  bytes, within the token limit; 2**20 fields once expanded), under ``incidents(first: 1)``;
- **100,000 IDs**: one variable of 100,000 global IDs given to ``nodes(ids:)`` under 30
  aliases (a 2.4 MB body);
- **700 same-named fields**: ``me { username }`` 700 times (2,800 tokens), which graphql-core's
  validation alone took 5 s to check (its OverlappingFieldsCanBeMerged rule);
- the **limit check of the watch floor**: ``opsapi.graphql.limits.document_limits`` on the
  parsed watch-floor document (N=100), against the whole watch-floor request.

The refusals are timed in-process like every read (``bench/client.py``: URL routing,
middleware, token authentication, view), from a request body encoded beforehand, so the time
is the server's: reading the body, parsing, the limits, the answer. Each must be answered with
its refusal code, checked before timing. ``python -m bench.limits`` measures this section
alone, on the benchmark's database (``--rounds``; see docs/benchmark.md).
"""

import dataclasses
import json
import sys
from functools import partial
from typing import TYPE_CHECKING

from graphql import parse

from bench.queries import WATCH_FLOOR
from bench.timing import Contender, Samples, interleave

if TYPE_CHECKING:  # bench.client needs Django set up, which main() does first
    from bench.client import ApiClient

API = "/graphql/"
FAN_OUT_LEVELS = 20
NODE_IDS = 100_000
NODE_ALIASES = 30
SAME_NAMED = 700


def fan_out_document(levels: int = FAN_OUT_LEVELS) -> str:
    lines = [f"{{ incidents(first: 1) {{ edges {{ node {{ ...F{levels} }} }} }} }}"]
    lines.append("fragment F0 on Incident { reference }")
    lines += [
        f"fragment F{n} on Incident {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)
    ]
    return "\n".join(lines)


def many_ids_document() -> str:
    aliases = " ".join(f"a{i}: nodes(ids: $ids) {{ id }}" for i in range(NODE_ALIASES))
    return f"query ManyIds($ids: [ID!]!) {{ {aliases} }}"


@dataclasses.dataclass
class Hostile:
    name: str
    what: str
    body: bytes  # the request body, encoded once
    code: str  # the refusal it must get

    @property
    def size(self) -> int:
        return len(self.body)


@dataclasses.dataclass
class LimitsResult:
    hostile: list[tuple[Hostile, Samples]]
    check: Samples  # document_limits on the watch floor
    watch_floor: Samples  # the whole watch-floor request, N=100

    @property
    def check_share(self) -> float:
        return self.check.median / self.watch_floor.median


def _post(client: "ApiClient", body: bytes) -> bytes:
    from bench.client import BenchError

    response = client.client.post(
        API, data=body, content_type="application/json", headers=client.headers
    )
    if response.status_code != 200:
        raise BenchError(f"{API} answered {response.status_code}: {response.content[:500]}")
    return response.content


def _hostile(some_id: str) -> list[Hostile]:
    fan_out = fan_out_document()
    ids = [some_id] * NODE_IDS
    same_named = "{ " + "me { username } " * SAME_NAMED + "}"
    return [
        Hostile(
            f"Fragment fan-out, {FAN_OUT_LEVELS} levels",
            f"{len(fan_out)} bytes, 2^{FAN_OUT_LEVELS} fields expanded",
            json.dumps({"query": fan_out}).encode(),
            "QUERY_TOO_COSTLY",
        ),
        Hostile(
            f"nodes(ids:) with {NODE_IDS:,} IDs",
            f"one variable under {NODE_ALIASES} aliases",
            json.dumps({"query": many_ids_document(), "variables": {"ids": ids}}).encode(),
            "TOO_MANY_IDS",
        ),
        Hostile(
            f"{SAME_NAMED} same-named fields",
            f"`me {{ username }}` {SAME_NAMED} times",
            json.dumps({"query": same_named}).encode(),
            "QUERY_TOO_COMPLEX",
        ),
    ]


def _check_refused(client: "ApiClient", hostile: Hostile) -> None:
    from bench.client import BenchError

    body = json.loads(_post(client, hostile.body))
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or ()]
    if body.get("data") is not None or hostile.code not in codes:
        raise BenchError(f"{hostile.name} was not refused with {hostile.code}: {str(body)[:500]}")


def measure_limits(client: "ApiClient", rounds: int) -> LimitsResult:
    from bench.client import BenchError
    from opsapi.graphql.limits import document_limits
    from opsapi.schema import schema

    some_id = client.data("{ incidents(first: 1) { edges { node { id } } } }")["incidents"]
    some_id = some_id["edges"][0]["node"]["id"]
    hostile = _hostile(some_id)
    for h in hostile:
        _check_refused(client, h)
    variables = {"first": 100}
    document = parse(WATCH_FLOOR)
    if document_limits(schema._schema, document, variables):
        raise BenchError("The watch-floor query is over a document limit.")
    contenders = [Contender(h.name, partial(_post, client, h.body)) for h in hostile]
    contenders.append(
        Contender("check", partial(document_limits, schema._schema, document, variables))
    )
    contenders.append(Contender("watch floor", partial(client.post, API, WATCH_FLOOR, variables)))
    samples = interleave(contenders, rounds=rounds)
    return LimitsResult(
        hostile=[(h, samples[h.name]) for h in hostile],
        check=samples["check"],
        watch_floor=samples["watch floor"],
    )


def limits_section(result: LimitsResult) -> list[str]:
    """The Markdown of §6."""
    rows = [
        f"| {h.name} | {h.what}; {h.size / 1e6:.2f} MB body | `{h.code}` | {s.ms()} |"
        if h.size >= 100_000
        else f"| {h.name} | {h.what}; {h.size:,} B body | `{h.code}` | {s.ms()} |"
        for h, s in result.hostile
    ]
    return [
        "## 6. Hostile documents and the document limits (in-process, as an officer)",
        "",
        "| Document | What | Answer | Server ms, median (min-max) |",
        "|---|---|---|---|",
        *rows,
        "",
        f"The limit check of the watch floor (N=100; `document_limits` on the parsed document) "
        f"took {result.check.ms()} ms, {result.check_share:.2%} of the whole request "
        f"({result.watch_floor.ms()} ms).",
        "",
    ]


def main(argv=None) -> int:
    """Measure §6 alone on the benchmark's database (seeded or reused as by ``make bench``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.limits", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--scale", choices=("national", "small", "tiny"))
    args = parser.parse_args(argv)
    from bench import run

    run._environment()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import override_settings

    from bench.client import ApiClient, BenchError
    from bench.directory import OFFICER
    from bench.scale import SCALES

    name = args.scale or ("national" if connection.vendor == "postgresql" else "small")
    try:
        run._prepare_database(SCALES[name])
        client = ApiClient(get_user_model().objects.get(username=OFFICER.format(1)))
        with override_settings(ROOT_URLCONF="bench.urls"):
            result = measure_limits(client, args.rounds)
    except BenchError as error:
        print(f"bench.limits: {error}")  # noqa: T201
        return 1
    print("\n".join(limits_section(result)))  # noqa: T201
    for target in targets(result):
        print(" | ".join(target.row()))  # noqa: T201
    return 0


def targets(result: LimitsResult) -> list:
    from bench.report import Target

    rows = [Target(f"{h.name}: refused, p50", s.median * 1e3, 50, "ms") for h, s in result.hostile]
    rows.append(
        Target("Watch floor N=100: limit check ÷ request", result.check_share * 100, 2, "%")
    )
    return rows


if __name__ == "__main__":
    sys.exit(main())
