"""Faults around real server processes: PostgreSQL or Redis going away behind a loopback proxy
(the shared services themselves are never stopped), a statement stuck on a lock, and a server
killed under load. Each ends with what a client saw and what the database holds."""

import itertools
import threading
import time
import urllib.error

import pytest
import redis
from django.db import connection, transaction

from coordination.models import Incident
from opsapi.accounts.access import OPS_OFFICER
from opsapi.graphql.changes import LIVE_UPDATES_UNAVAILABLE
from opsapi.graphql.errors import DATABASE_UNAVAILABLE_MESSAGE
from tests.audit.test_verify import verify
from tests.factories import global_id, make_incident, make_partner
from tests.operations import CREATE_INCIDENT, ME, UPDATE_INCIDENT, token_for
from tests.servers import (
    REDIS_URL,
    Server,
    TcpProxy,
    closed_port,
    database_address_of_tests,
    database_url_of_tests,
    require_redis,
    unique_prefix,
)
from tests.wsclient import GraphQLWebSocket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def postgres_only(test):
    """A database reached over the network can go away; SQLite is a file the server opens."""
    skip = pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a database reached over the network"
    )
    return pytest.mark.postgres(skip(test))


# Seconds the servers below wait to connect to the database; every answer must come well
# within the client's timeout, which is this plus a margin.
CONNECT_TIMEOUT = 2
CLIENT_TIMEOUT = CONNECT_TIMEOUT + 8


INCIDENT_CHANGED = "subscription { incidentChanged { change incident { title } } }"

OUTAGE = {
    "errors": [
        {"message": DATABASE_UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}
    ]
}
DATABASE_DOWN = {"status": "unavailable", "database": "unavailable"}


def new_incident(title: str) -> dict:
    return {"input": {"title": title, "category": "INFRASTRUCTURE", "severity": "LOW"}}


@pytest.fixture
def serve():
    """Start servers with ``serve(**options)``; all are stopped after the test."""
    started = []

    def start(**options) -> Server:
        started.append(Server(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def proxy_to():
    """``proxy_to((host, port))``: a cuttable loopback relay, closed after the test."""
    proxies = []

    def start(target) -> TcpProxy:
        proxies.append(TcpProxy(target))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.close()


# --- PostgreSQL unavailable ---------------------------------------------------------------


@postgres_only
def test_a_server_whose_database_is_unreachable_answers_503_service_unavailable(serve, officer):
    server = serve(
        database_url=database_url_of_tests(port=closed_port()),
        extra_env={"DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)},
        wait_for_database=False,
    )
    assert server.get("/healthz", timeout=CLIENT_TIMEOUT) == (503, DATABASE_DOWN)
    status, body = server.post_graphql(ME, token=token_for(officer), timeout=CLIENT_TIMEOUT)
    assert (status, body) == (503, OUTAGE)
    assert server.alive()


@postgres_only
def test_the_database_going_away_and_back_is_reported_then_served_without_a_restart(
    serve, proxy_to, officer
):
    proxy = proxy_to(database_address_of_tests())
    server = serve(
        database_url=database_url_of_tests(port=proxy.port),
        extra_env={"DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)},
    )
    token = token_for(officer)
    assert server.post_graphql(ME, token=token) == (200, {"data": {"me": {"username": "officer"}}})

    proxy.cut()
    assert server.get("/healthz", timeout=CLIENT_TIMEOUT) == (503, DATABASE_DOWN)
    assert server.post_graphql(ME, token=token, timeout=CLIENT_TIMEOUT) == (503, OUTAGE)
    status, body = server.post_graphql(
        CREATE_INCIDENT, new_incident("During the outage"), token=token, timeout=CLIENT_TIMEOUT
    )
    assert (status, body) == (503, OUTAGE)

    proxy.restore()
    assert server.get("/healthz") == (200, {"status": "ok", "database": "ok"})
    assert server.post_graphql(ME, token=token) == (200, {"data": {"me": {"username": "officer"}}})
    assert server.alive(), "the same process recovered by itself"
    assert not Incident.objects.filter(title="During the outage").exists()


@postgres_only
def test_a_statement_stuck_on_a_lock_is_cancelled_at_the_statement_timeout(serve, officer):
    server = serve(extra_env={"DATABASE_STATEMENT_TIMEOUT": "500"})
    token = token_for(officer)
    incident = make_incident(officer, title="Locked")
    variables = {"input": {"id": global_id(incident), "version": 1, "title": "Waited"}}

    with transaction.atomic():  # another writer holds the row
        Incident.objects.select_for_update().get(pk=incident.pk)
        status, body = server.post_graphql(UPDATE_INCIDENT, variables, token=token, timeout=10)

    # A well-formed GraphQL result (application/json): 200, the code says what happened.
    assert status == 200
    assert body["data"] is None
    assert [error["extensions"] for error in body["errors"]] == [{"code": "SERVICE_UNAVAILABLE"}]
    assert body["errors"][0]["message"] == DATABASE_UNAVAILABLE_MESSAGE
    incident.refresh_from_db()
    assert (incident.title, incident.version, incident.history.count()) == ("Locked", 1, 1)


# --- Redis unavailable --------------------------------------------------------------------

# These tests found that the per-user rate limit (opsapi/ratelimit.py), which counts in the
# Redis cache when REDIS_URL is set, failed every API request with a 500 while Redis was down;
# it now lets requests through uncounted.


def test_without_redis_mutations_and_queries_still_succeed(serve, officer):
    server = serve(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    token = token_for(officer)

    created = server.graphql(CREATE_INCIDENT, new_incident("No Redis"), token=token)
    reference = created["data"]["createIncident"]["reference"]
    incident = Incident.objects.get(reference=reference)
    updated = server.graphql(
        UPDATE_INCIDENT,
        {"input": {"id": global_id(incident), "version": 1, "title": "Still no Redis"}},
        token=token,
    )
    assert updated == {"data": {"updateIncident": {"version": 2}}}
    assert server.graphql(ME, token=token) == {"data": {"me": {"username": "officer"}}}
    assert incident.history.count() == 2, "both changes on the record, their events dropped"


# What a subscriber gets while Redis is away: a `next` message with the error (an `error`
# message would end the subscription), for the subscription's field, and no data.
INTERRUPTED = {
    "data": None,
    "errors": [
        {
            "message": LIVE_UPDATES_UNAVAILABLE,
            "path": ["incidentChanged"],
            "extensions": {"code": "SERVICE_UNAVAILABLE"},
        }
    ],
}
# Seconds within which live updates resume once Redis is back: the longest retry delay
# (opsapi.subscriptions.retry_delays) and a margin.
RESUMED_WITHIN = 15


@pytest.fixture
def redis_behind_a_proxy(serve, proxy_to):
    """(server, proxy, prefix): a server whose channel layer reaches the local Redis through a
    cuttable proxy, under a channel-layer prefix of the test's own."""
    require_redis()
    proxy = proxy_to(("127.0.0.1", 6379))
    prefix = unique_prefix()
    server = serve(redis_url=REDIS_URL.replace(":6379/", f":{proxy.port}/"), redis_prefix=prefix)
    return server, proxy, prefix


CREATE_ACTION = """
mutation ($input: CreateCoordinationActionInput!) {
  createCoordinationAction(input: $input) { ... on CoordinationAction { status } }
}"""


def messages_within(ws, seconds: float) -> list[dict]:
    """The messages ``ws`` receives until none comes for ``seconds``."""
    messages = []
    while True:
        try:
            messages.append(ws.receive(timeout=seconds))
        except TimeoutError:
            return messages


def titles(messages: list[dict]) -> list[str]:
    """The incident titles of incidentChanged events."""
    assert all(m["type"] == "next" for m in messages), messages
    return [m["payload"]["data"]["incidentChanged"]["incident"]["title"] for m in messages]


def until_each_delivers(ws, subscriptions: set[str], change) -> tuple[list[dict], float]:
    """Call ``change(n)`` for n = 0, 1, ... until each of the ``subscriptions`` has delivered
    an event: (the events, seconds it took). The server resumes on its own schedule and tells
    no one; every change made once it has must come."""
    started = time.monotonic()
    delivered = []
    for n in itertools.count():
        change(n)
        delivered += messages_within(ws, 0.5)
        if subscriptions <= {m["id"] for m in delivered}:
            return delivered, time.monotonic() - started
        assert time.monotonic() - started < RESUMED_WITHIN, f"not resumed: {delivered}"
    raise AssertionError  # unreachable: count() is endless


def test_a_subscription_reports_redis_going_away_and_resumes_when_it_returns(
    redis_behind_a_proxy, officer
):
    server, proxy, _ = redis_behind_a_proxy
    token = token_for(officer)

    def create(n):
        server.graphql(CREATE_INCIDENT, new_incident(f"After {n}"), token=token)

    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)
        server.graphql(CREATE_INCIDENT, new_incident("Before"), token=token)
        assert titles(messages_within(ws, 1)) == ["Before"]

        proxy.cut()
        # The subscriber is told at once, once, and the subscription goes on.
        assert ws.receive(timeout=5) == {"id": "1", "type": "next", "payload": INTERRUPTED}
        created = server.graphql(CREATE_INCIDENT, new_incident("During"), token=token)
        assert created["data"]["createIncident"]["reference"], "writes go on without Redis"
        assert ws.nothing_within(2), "no event of the outage, no second error, no complete"

        proxy.restore()
        delivered, _ = until_each_delivers(ws, {"1"}, create)
        assert all(title.startswith("After") for title in titles(delivered)), delivered
        server.graphql(CREATE_INCIDENT, new_incident("Later"), token=token)
        assert titles(messages_within(ws, 1)) == ["Later"], "one event per change, at once"
        # The same connection still takes new subscriptions.
        ws.subscribe("2", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)
        server.graphql(CREATE_INCIDENT, new_incident("Both"), token=token)
        assert sorted(m["id"] for m in messages_within(ws, 1)) == ["1", "2"]
    assert server.alive()


def test_a_subscription_made_while_redis_is_away_reports_it_and_starts_when_it_returns(
    redis_behind_a_proxy, officer
):
    server, proxy, _ = redis_behind_a_proxy
    token = token_for(officer)
    proxy.cut()
    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.receive(timeout=10) == {"id": "1", "type": "next", "payload": INTERRUPTED}
        server.graphql(CREATE_INCIDENT, new_incident("During"), token=token)
        assert ws.nothing_within(1)

        proxy.restore()
        delivered, _ = until_each_delivers(
            ws,
            {"1"},
            lambda n: server.graphql(CREATE_INCIDENT, new_incident(f"After {n}"), token=token),
        )
        assert all(title.startswith("After") for title in titles(delivered)), delivered


def test_a_subscription_made_just_after_redis_returns_is_not_told_of_the_past_outage(
    redis_behind_a_proxy, officer
):
    """The server's connections to Redis from before the outage are dead; the first use of
    one fails, and must not pass for the outage."""
    server, proxy, _ = redis_behind_a_proxy
    token = token_for(officer)
    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)
        proxy.cut()
        assert ws.receive(timeout=5) == {"id": "1", "type": "next", "payload": INTERRUPTED}
        server.graphql(CREATE_INCIDENT, new_incident("During"), token=token)

        proxy.restore()
        with GraphQLWebSocket(server.ws_url) as fresh:
            assert fresh.init(token)["type"] == "connection_ack"
            fresh.subscribe("1", INCIDENT_CHANGED)
            assert fresh.nothing_within(1)
            server.graphql(CREATE_INCIDENT, new_incident("After"), token=token)
            assert titles(messages_within(fresh, 1)) == ["After"]


def test_subscriptions_join_again_after_redis_lost_its_data(redis_behind_a_proxy, officer):
    """Redis restarted empty: the groups the subscriptions had joined are gone with it. Each
    subscription of a connection is told, whatever it selected, and each resumes."""
    server, proxy, prefix = redis_behind_a_proxy
    token = token_for(officer)
    partner = make_partner(officer, name="Gulf Coast Fusion Center")
    incident = make_incident(officer)

    def change(n):
        server.graphql(CREATE_INCIDENT, new_incident(f"After {n}"), token=token)
        action = {
            "incident": global_id(incident),
            "partner": global_id(partner),
            "kind": "NOTIFICATION",
            "instructions": f"Stand by ({n})",
        }
        body = server.graphql(CREATE_ACTION, {"input": action}, token=token)
        assert body["data"]["createCoordinationAction"] == {"status": "PENDING"}, body

    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("incidents", INCIDENT_CHANGED)
        ws.subscribe("actions", "subscription { coordinationActionChanged { change } }")
        assert ws.nothing_within(0.3)

        proxy.cut()
        told = sorted((ws.receive(timeout=5) for _ in "ab"), key=lambda m: m["id"])
        assert [(m["id"], m["type"]) for m in told] == [("actions", "next"), ("incidents", "next")]
        assert [m["payload"]["errors"][0]["path"] for m in told] == [
            ["coordinationActionChanged"],
            ["incidentChanged"],
        ]
        assert all(m["payload"]["data"] is None for m in told)
        with redis.Redis.from_url(REDIS_URL) as client:
            keys = list(client.scan_iter(match=f"{prefix}*"))
            assert keys, "the groups were in Redis"
            client.delete(*keys)

        proxy.restore()
        _, seconds = until_each_delivers(ws, {"incidents", "actions"}, change)
        assert seconds < RESUMED_WITHIN


# --- a server killed under load -----------------------------------------------------------

WRITERS = 8
WRITES_BEFORE_THE_KILL = 60


def test_a_server_killed_under_load_loses_no_acknowledged_write(serve, make_user):
    server = serve()
    tokens = [token_for(make_user(f"writer-{n}", roles=[OPS_OFFICER])) for n in range(WRITERS)]
    acknowledged: list[str] = []
    enough = threading.Event()

    def writer(n):
        sequence = 0
        while True:
            sequence += 1
            try:
                status, body = server.post_graphql(
                    CREATE_INCIDENT, new_incident(f"Load {n}-{sequence}"), token=tokens[n]
                )
            except (urllib.error.URLError, ConnectionError, OSError):
                return  # the server is gone
            assert status == 200, body
            acknowledged.append(body["data"]["createIncident"]["reference"])
            if len(acknowledged) >= WRITES_BEFORE_THE_KILL:
                enough.set()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=60), f"only {len(acknowledged)} writes in a minute"
    server.kill()
    for thread in threads:
        thread.join(timeout=30)

    assert len(acknowledged) >= WRITES_BEFORE_THE_KILL
    stored = set(
        Incident.objects.filter(title__startswith="Load ").values_list("reference", flat=True)
    )
    assert set(acknowledged) <= stored, "every write a client was told succeeded is there"
    created = Incident.history.filter(history_type="+", title__startswith="Load ")
    assert set(created.values_list("reference", flat=True)) == stored, "each with its history"
    assert created.count() == len(stored)
    status, output = verify()
    assert status == 0, output
