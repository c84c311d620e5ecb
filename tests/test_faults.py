"""Faults met inside one process: a database that cannot be reached, a failure in the middle of
a mutation, a channel layer that cannot be reached. Server-process faults (a proxy cut, a
killed server) are in tests/live/test_faults_live.py."""

from contextlib import contextmanager

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from django.db import connection
from django.test import Client
from simple_history.signals import post_create_historical_record
from strawberry.channels.handlers.base import ChannelsConsumer

from coordination.models import Incident
from opsapi.accounts.services import issue_token
from opsapi.graphql.changes import LIVE_UPDATES_UNAVAILABLE
from opsapi.graphql.errors import DATABASE_UNAVAILABLE_MESSAGE
from opsapi.graphql.scoping import SubscriptionContext
from opsapi.schema import schema
from tests.factories import global_id, make_incident
from tests.graphql import GraphQLClient
from tests.operations import CREATE_INCIDENT, ME, UPDATE_INCIDENT
from tests.servers import closed_port

# Commits must really happen (or not): after-commit events, rolled-back transactions.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


# --- the database cannot be reached ------------------------------------------------------


@contextmanager
def database_unreachable():
    """The default connection pointed at nowhere: a file that cannot be opened (SQLite), a
    loopback port where nothing listens (PostgreSQL). The database itself is untouched."""
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory/opsapi.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(original)


def token_client(user) -> GraphQLClient:
    return GraphQLClient.with_token(issue_token(user=user, name="faults", actor=user)[1])


@pytest.mark.parametrize("authentication", ["token", "session"])
def test_an_api_request_while_the_database_is_down_gets_503_service_unavailable(
    officer, authentication
):
    api = token_client(officer) if authentication == "token" else GraphQLClient.logged_in(officer)

    with database_unreachable():
        response = api.post(ME)

    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {"message": DATABASE_UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}
        ]
    }
    assert response["Retry-After"] == "5"
    assert response["X-Request-ID"], "the request id a client quotes when reporting it"
    assert api.data(ME) == {"me": {"username": "officer"}}, "served again once it is back"


def test_the_health_check_reports_the_database_down_then_up_again(db):
    client = Client()
    with database_unreachable():
        down = client.get("/healthz")
    assert (down.status_code, down.json()) == (
        503,
        {"status": "unavailable", "database": "unavailable"},
    )
    up = client.get("/healthz")
    assert (up.status_code, up.json()) == (200, {"status": "ok", "database": "ok"})


# --- a failure in the middle of a mutation ------------------------------------------------

POISON = "Poisoned title"


class InjectedFault(Exception):
    """Raised after the row and its history record are written, before the commit."""


def fail_on_poison(sender, instance, history_instance, **kwargs):
    if getattr(instance, "title", None) == POISON:
        raise InjectedFault(f"injected after saving {history_instance!r}")


@pytest.fixture
def poisoned_history():
    """Every history record of a row titled POISON fails once written (receivers run in the
    order connected: the change event is already scheduled for after the commit)."""
    post_create_historical_record.connect(fail_on_poison, dispatch_uid="tests.poison")
    yield
    post_create_historical_record.disconnect(dispatch_uid="tests.poison")


@pytest.fixture
def published(change_events):
    """The incident change events published on the (in-memory) channel layer, so far."""
    return change_events(Incident)


def test_a_failure_after_the_save_leaves_no_change_no_history_and_no_event(
    officer, gql, poisoned_history, published
):
    incident = make_incident(officer, title="Levee breach")
    published()  # its creation
    variables = {"input": {"id": global_id(incident), "version": 1, "title": POISON}}

    body = gql(UPDATE_INCIDENT, variables)

    assert body["errors"] == [
        {
            "message": "Internal server error.",
            "locations": [{"line": 3, "column": 3}],
            "path": ["updateIncident"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    incident.refresh_from_db()
    assert (incident.title, incident.version) == ("Levee breach", 1)
    assert incident.history.count() == 1
    assert not Incident.history.filter(title=POISON).exists()
    assert published() == []

    variables["input"]["title"] = "Levee breach, north side"
    assert gql.data(UPDATE_INCIDENT, variables) == {"updateIncident": {"version": 2}}
    (event,) = published()
    assert (event["pk"], event["change"]) == (incident.pk, "updated"), "the listener does hear"


def test_a_failed_creation_leaves_no_incident_and_takes_no_reference_number(
    officer, gql, poisoned_history, published
):
    before = make_incident(officer).reference
    published()
    poisoned = {"input": {"title": POISON, "category": "CYBER", "severity": "HIGH"}}

    body = gql(CREATE_INCIDENT, poisoned)

    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert not Incident.objects.filter(title=POISON).exists()
    assert not Incident.history.filter(title=POISON).exists()
    assert published() == []
    created = gql.data(
        CREATE_INCIDENT, {"input": {"title": "Outage", "category": "CYBER", "severity": "HIGH"}}
    )
    number = int(created["createIncident"]["reference"].rsplit("-", 1)[1])
    assert number == int(before.rsplit("-", 1)[1]) + 1, "the rolled-back number is issued next"


# --- the channel layer cannot be reached --------------------------------------------------

INCIDENT_CHANGED = "subscription { incidentChanged { change incident { title } } }"


def test_a_subscription_the_channel_layer_cannot_serve_reports_service_unavailable(officer):
    """Redis down when a client subscribes: a clear error, not a generic one (the subscription
    goes on and resumes when Redis is back: tests/live/test_faults_live.py)."""
    layer = RedisChannelLayer(
        hosts=[{"address": f"redis://127.0.0.1:{closed_port()}/0", "socket_connect_timeout": 2}]
    )

    async def first_result():
        consumer = ChannelsConsumer()  # a connection's consumer, without its socket
        consumer.channel_layer = layer
        consumer.channel_name = await layer.new_channel()
        context = SubscriptionContext(ws=consumer, user=officer)
        stream = await schema.subscribe(INCIDENT_CHANGED, context_value=context)
        async for result in stream:
            return result
        return None

    result = async_to_sync(first_result)()

    assert result.data is None
    assert [(error.message, error.extensions) for error in result.errors] == [
        (LIVE_UPDATES_UNAVAILABLE, {"code": "SERVICE_UNAVAILABLE"})
    ]
