"""The execution deadline (opsapi.graphql.deadline): an operation past
GRAPHQL_DEADLINE_SECONDS is stopped and answered ``data: null`` with one DEADLINE_EXCEEDED
error, between fields (a genuinely large document) and inside a statement (PostgreSQL: a read
waiting on a lock another connection holds, cancelled); a stopped mutation writes nothing; the
connection and the server go on serving, over HTTP and WebSocket."""

import asyncio
import threading
import time
from collections.abc import AsyncGenerator

import psycopg
import pytest
import strawberry
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from coordination.models import Incident
from opsapi.graphql.deadline import (
    DEADLINE_EXCEEDED,
    Deadline,
    DeadlineExecutionContext,
    watchdog,
)
from tests.factories import global_id, make_incident
from tests.graphql import GraphQLClient
from tests.operations import ME, UPDATE_INCIDENT, token_for
from tests.servers import Server
from tests.wsclient import GraphQLWebSocket

# Committed data, so that a second connection and the server processes see it.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a lock wait is cancellable on PostgreSQL only (SQLite's busy wait ignores "
    "interrupt()); SQLite is stopped between fields, as the large-document tests show",
)

ALIASES = 30
# 30 aliases of nodes(ids:) with 100 IDs each: 3,000 incidents of ten fields, one statement
# or two per alias; it takes seconds to complete (within every document limit).
_NODES = (
    "nodes(ids: $ids) { ... on Incident "
    "{ id reference title summary severity status tlp version states { code } } }"
)
LARGE = "query ($ids: [ID!]!) { " + " ".join(f"a{i}: {_NODES}" for i in range(ALIASES)) + " }"
INCIDENTS = "{ incidents(first: 1) { edges { node { title } } } }"


def large_variables(incident) -> dict:
    return {"ids": [global_id(incident)] * 100}


def assert_stopped(body: dict, seconds: float):
    """``body`` is the deadline's answer: no data, one coded error naming the limit."""
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": DEADLINE_EXCEEDED, "seconds": seconds}
    assert f"longer than {seconds:g} seconds" in error["message"]
    assert error["path"], "it names the field at which execution stopped"


class LockHolder:
    """A second PostgreSQL connection holding ``table`` in ACCESS EXCLUSIVE mode (every read
    and write of it waits) until released, or for 15 seconds at most: without the deadline a
    waiting operation would then complete, and the test fail instead of hang."""

    def __init__(self, table: str):
        self.connection = psycopg.connect(**connection.get_connection_params(), autocommit=False)
        self.connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        self._released = threading.Lock()
        self._backstop = threading.Timer(15, self.release)
        self._backstop.start()

    def release(self):
        if self._released.acquire(blocking=False):
            self._backstop.cancel()
            self.connection.rollback()
            self.connection.close()

    def release_when_waited_on(self, seconds: float):
        """Release the lock ``seconds`` after a statement has begun to wait for it."""

        def watch():
            with psycopg.connect(**connection.get_connection_params(), autocommit=True) as db:
                while not self._released.locked() and not db.execute(WAITING).fetchone()[0]:
                    time.sleep(0.02)
            time.sleep(seconds)
            self.release()

        threading.Thread(target=watch, daemon=True).start()


WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def statements_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(WAITING)
        return cursor.fetchone()[0]


# --- in process ---------------------------------------------------------------------------


@committed
@override_settings(GRAPHQL_DEADLINE_SECONDS=0.01)
def test_a_large_query_is_stopped_between_fields_and_the_connection_serves_the_next(officer):
    client = GraphQLClient.with_token(token_for(officer))
    incident = make_incident(officer)
    with CaptureQueriesContext(connection) as captured:
        body = client(LARGE, large_variables(incident))
    assert_stopped(body, 0.01)
    nodes_statements = [q for q in captured.captured_queries if "coordination_incident" in q["sql"]]
    assert len(nodes_statements) < ALIASES, "stopped before most aliases were read"
    assert watchdog.armed() == 0
    assert client.data(ME) == {"me": {"username": "officer"}}


@committed
@on_postgresql
@override_settings(GRAPHQL_DEADLINE_SECONDS=0.3)
def test_a_statement_waiting_on_a_lock_is_cancelled(officer, caplog):
    client = GraphQLClient.with_token(token_for(officer))
    make_incident(officer, title="Flooding")
    holder = LockHolder("coordination_incident")
    try:
        # Answered while the lock is still held: the statement was cancelled, not waited out.
        assert_stopped(client(INCIDENTS), 0.3)
        assert statements_waiting_on_a_lock() == 0
        assert not [r.getMessage() for r in caplog.records if r.exc_info], "no traceback"
        assert client.data(ME) == {"me": {"username": "officer"}}
    finally:
        holder.release()
    assert client.data(INCIDENTS)["incidents"]["edges"] == [{"node": {"title": "Flooding"}}]


@committed
@on_postgresql
@override_settings(GRAPHQL_DEADLINE_SECONDS=0.3)
def test_a_mutation_stopped_inside_its_transaction_writes_nothing(officer):
    client = GraphQLClient.with_token(token_for(officer))
    incident = make_incident(officer, title="Flooding")
    records = incident.history.count()
    # The update locks its row and writes it, then waits to write its history record.
    holder = LockHolder(Incident.history.model._meta.db_table)
    try:
        body = client(
            UPDATE_INCIDENT,
            {"input": {"id": global_id(incident), "version": 1, "title": "Flood"}},
        )
        assert_stopped(body, 0.3)
        assert statements_waiting_on_a_lock() == 0
    finally:
        holder.release()
    incident.refresh_from_db()
    assert (incident.title, incident.version) == ("Flooding", 1)
    assert incident.history.count() == records
    # Its transaction is gone: the row is not locked, the same change now goes through.
    updated = client.data(
        UPDATE_INCIDENT, {"input": {"id": global_id(incident), "version": 1, "title": "Flood"}}
    )
    assert updated == {"updateIncident": {"version": 2}}


@strawberry.type
class Reading:
    delay: strawberry.Private[float]

    @strawberry.field
    async def value(self) -> float:
        await asyncio.sleep(self.delay)
        return self.delay


@strawberry.type
class NoQuery:
    unused: int = 0


@strawberry.type
class Readings:
    @strawberry.subscription
    async def readings(self) -> AsyncGenerator[Reading, None]:
        yield Reading(delay=0.3)
        yield Reading(delay=0)


@override_settings(GRAPHQL_DEADLINE_SECONDS=0.05)
def test_each_subscription_event_is_bounded_and_the_subscription_goes_on():
    """Not the subscription's life: each event's resolution (the project's executor on a
    schema of its own). A slow event is answered with the deadline's error, the next one as
    usual."""
    schema = strawberry.Schema(
        query=NoQuery,
        subscription=Readings,
        extensions=[Deadline],
        execution_context_class=DeadlineExecutionContext,
    )

    async def events():
        stream = await schema.subscribe("subscription { readings { value } }")
        return [result async for result in stream]

    slow, fast = asyncio.run(events())
    assert slow.data is None
    assert [error.extensions["code"] for error in slow.errors] == [DEADLINE_EXCEEDED]
    assert (fast.data, fast.errors) == ({"readings": {"value": 0}}, None)
    assert watchdog.armed() == 0


UPDATE_WITH_ACTIONS = """
mutation ($input: UpdateIncidentInput!) {
  updateIncident(input: $input) {
    ... on Incident { version actions { edges { node { id } } } }
  }
}"""


@committed
@on_postgresql
@override_settings(GRAPHQL_DEADLINE_SECONDS=0.3)
def test_a_mutation_that_has_written_is_answered_past_its_deadline(officer):
    """Its write committed when its resolver returned: the answer reports it (its payload is
    read to the end, here after a lock wait longer than the deadline) rather than tell a
    client that nothing happened."""
    client = GraphQLClient.with_token(token_for(officer))
    incident = make_incident(officer, title="Flooding")
    # The payload's read waits for the lock twice as long as the deadline.
    LockHolder("coordination_coordinationaction").release_when_waited_on(0.6)
    body = client(
        UPDATE_WITH_ACTIONS, {"input": {"id": global_id(incident), "version": 1, "title": "Flood"}}
    )
    assert body == {"data": {"updateIncident": {"version": 2, "actions": {"edges": []}}}}
    incident.refresh_from_db()
    assert (incident.title, incident.version) == ("Flood", 2)


# --- a real server: one process, a slow operation, then a normal one ---------------------

SERVER_DEADLINE = 0.5


@pytest.fixture(scope="module")
def server(django_db_setup):
    server = Server(extra_env={"GRAPHQL_DEADLINE_SECONDS": str(SERVER_DEADLINE)})
    yield server
    server.stop()


SLOW = ["large document"] + (["locked table"] if connection.vendor == "postgresql" else [])


@pytest.fixture(params=SLOW)
def slow_operation(request, officer):
    """(query, variables) of an operation that outruns the server's deadline: a large
    document, or (PostgreSQL) a read of a table another connection holds locked while the
    test runs."""
    incident = make_incident(officer)
    if request.param == "large document":
        yield LARGE, large_variables(incident)
        return
    holder = LockHolder("coordination_incident")
    yield INCIDENTS, None
    assert statements_waiting_on_a_lock() == 0, "the server's statement was cancelled"
    holder.release()


@committed
def test_no_worker_stays_pinned(server, officer, slow_operation):
    """The slow operation is answered at its deadline and the same server answers the next
    one, over HTTP, then over a WebSocket (a ``subscribe`` whose document is a query)."""
    token = token_for(officer)
    query, variables = slow_operation
    status, body = server.post_graphql(query, variables, token=token, timeout=10)
    assert status == 200
    assert_stopped(body, SERVER_DEADLINE)
    assert server.graphql(ME, token=token)["data"] == {"me": {"username": "officer"}}

    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("slow", query, variables)
        message = ws.receive(timeout=10)
        assert (message["id"], message["type"]) == ("slow", "next"), message
        assert_stopped(message["payload"], SERVER_DEADLINE)
        assert ws.receive() == {"id": "slow", "type": "complete"}
        ws.subscribe("me", ME)
        message = ws.receive()
        assert (message["id"], message["type"]) == ("me", "next"), message
        assert message["payload"]["data"] == {"me": {"username": "officer"}}
