"""Faults around real server processes: PostgreSQL or Redis going away behind a loopback proxy
(the shared services themselves are never stopped), a statement stuck on a lock, and a server
killed under load. Each ends with what a client saw and what the database holds."""

import threading
import urllib.error

import pytest
from django.db import connection, transaction
from websockets.exceptions import ConnectionClosed

from coordination.models import Incident
from opsapi.accounts.access import OPS_OFFICER
from opsapi.graphql.errors import DATABASE_UNAVAILABLE_MESSAGE
from tests.audit.test_verify import verify
from tests.factories import global_id, make_incident
from tests.operations import CREATE_INCIDENT, ME, UPDATE_INCIDENT, token_for
from tests.servers import (
    REDIS_URL,
    Server,
    TcpProxy,
    closed_port,
    database_address_of_tests,
    database_url_of_tests,
    require_redis,
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


def test_subscriptions_end_when_redis_goes_away_and_resume_when_it_returns(
    serve, proxy_to, officer
):
    require_redis()
    proxy = proxy_to(("127.0.0.1", 6379))
    server = serve(redis_url=REDIS_URL.replace(":6379/", f":{proxy.port}/"))
    token = token_for(officer)
    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)
        server.graphql(CREATE_INCIDENT, new_incident("Before"), token=token)
        assert ws.receive()["payload"]["data"]["incidentChanged"]["incident"]["title"] == "Before"

        proxy.cut()
        # The server ends the connection: the client knows at once, no silent hang.
        with pytest.raises(ConnectionClosed):
            ws.receive(timeout=10)
    created = server.graphql(CREATE_INCIDENT, new_incident("During"), token=token)
    assert created["data"]["createIncident"]["reference"], "writes go on without Redis"

    proxy.restore()
    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        # Joins Redis again over a connection pooled before the outage: no error either.
        assert ws.nothing_within(0.3)
        server.graphql(CREATE_INCIDENT, new_incident("After"), token=token)
        assert ws.receive()["payload"]["data"]["incidentChanged"]["incident"]["title"] == "After"
    assert server.alive()


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
