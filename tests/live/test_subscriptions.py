"""Live updates end to end: real server processes, a real WebSocket client, real commits.

The servers run opsapi.asgi under uvicorn on loopback against the test database; the tests
change data through the servers' API (or the services, committed) and watch what arrives.
"""

import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus

from coordination.choices import Severity
from tests.factories import global_id, make_action, make_incident, make_partner
from tests.operations import (
    ACKNOWLEDGE,
    CREATE_INCIDENT,
    UNSHARE_INCIDENT,
    UPDATE_INCIDENT,
    token_for,
)
from tests.servers import Server, require_redis, unique_prefix
from tests.wsclient import GraphQLWebSocket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The per-connection cap the module's server runs with.
CAP = 3

INCIDENT_CHANGED = """
subscription ($filters: IncidentFilter) {
  incidentChanged(filters: $filters) {
    change changedFields
    incident { reference title severity states { code } }
  }
}"""

ACTION_CHANGED = """
subscription {
  coordinationActionChanged { change changedFields action { status partner { name } } }
}"""


@pytest.fixture(scope="module")
def server(django_db_setup):
    server = Server(extra_env={"SUBSCRIPTIONS_PER_CONNECTION": str(CAP)})
    yield server
    server.stop()


def change_severity(server, token, incident, severity, version=1):
    body = server.graphql(
        UPDATE_INCIDENT,
        {"input": {"id": global_id(incident), "version": version, "severity": severity}},
        token=token,
    )
    assert "version" in body["data"]["updateIncident"], body


def next_data(ws, field):
    message = ws.receive()
    assert message["type"] == "next", message
    return message["payload"]["data"][field]


def subscribed(server, token, query=INCIDENT_CHANGED, variables=None) -> GraphQLWebSocket:
    ws = GraphQLWebSocket(server.ws_url)
    assert ws.init(token)["type"] == "connection_ack"
    ws.subscribe("1", query, variables)
    assert ws.nothing_within(0.3)  # subscribed, and nothing stale delivered
    return ws


def test_an_officer_receives_changes_made_through_the_api(server, officer):
    incident = make_incident(officer, title="Levee breach")
    token = token_for(officer)
    with subscribed(server, token) as ws:
        change_severity(server, token, incident, "HIGH")
        assert next_data(ws, "incidentChanged") == {
            "change": "UPDATED",
            "changedFields": ["severity", "version", "updatedAt"],
            "incident": {
                "reference": incident.reference,
                "title": "Levee breach",
                "severity": "HIGH",
                "states": [],
            },
        }
        body = server.graphql(
            CREATE_INCIDENT,
            {"input": {"title": "Dam", "category": "INFRASTRUCTURE", "severity": "LOW"}},
            token=token,
        )
        created = next_data(ws, "incidentChanged")
        assert created["change"] == "CREATED"
        assert created["incident"]["reference"] == body["data"]["createIncident"]["reference"]
        assert ws.nothing_within(0.3), "one event per change"


def test_a_partner_user_hears_only_of_incidents_it_may_see_until_unshared(
    server, officer, make_user
):
    partner = make_partner(officer, name="Gulf Coast Fusion Center")
    analyst = make_user("analyst", partner=partner)
    shared = make_incident(officer, title="Shared", shared_with=[partner])
    hidden = make_incident(officer, title="Internal")
    officer_token = token_for(officer)
    with subscribed(server, token_for(analyst)) as ws:
        change_severity(server, officer_token, hidden, "HIGH")
        change_severity(server, officer_token, shared, "HIGH")
        assert next_data(ws, "incidentChanged")["incident"]["title"] == "Shared"
        assert ws.nothing_within(0.5), "the internal incident's change was not delivered"

        body = server.graphql(
            UNSHARE_INCIDENT,
            {"input": {"id": global_id(shared), "version": 2, "partners": [global_id(partner)]}},
            token=officer_token,
        )
        assert body["data"]["unshareIncident"] == {"version": 3}
        change_severity(server, officer_token, shared, "CRITICAL", version=3)
        assert ws.nothing_within(0.7), "nothing about an incident after it is unshared"


def test_filters_select_the_events(server, officer):
    token = token_for(officer)
    low = make_incident(officer, title="Low", severity=Severity.LOW)
    critical = make_incident(officer, title="Critical", severity=Severity.CRITICAL)
    variables = {"filters": {"severity": {"exact": "CRITICAL"}}}
    with subscribed(server, token, variables=variables) as ws:
        change_severity(server, token, low, "MODERATE")
        change_severity(server, token, critical, "CRITICAL")  # no change, no event
        change_severity(server, token, low, "CRITICAL", version=2)
        assert next_data(ws, "incidentChanged")["incident"]["title"] == "Low"
        assert ws.nothing_within(0.5)


def test_action_events_reach_the_officer_and_only_the_addressed_partner(server, officer, make_user):
    gulf = make_partner(officer, name="Gulf")
    other = make_partner(officer, name="Other")
    responder = make_user("responder", partner=gulf)
    outsider_partner = make_user("elsewhere", partner=other)
    incident = make_incident(officer)
    action = make_action(officer, incident, gulf)
    with (
        subscribed(server, token_for(officer), ACTION_CHANGED) as officer_ws,
        subscribed(server, token_for(outsider_partner), ACTION_CHANGED) as other_ws,
    ):
        acknowledgement = {"input": {"id": global_id(action), "version": 1}}
        body = server.graphql(ACKNOWLEDGE, acknowledgement, token=token_for(responder))
        assert body["data"]["acknowledgeCoordinationAction"] == {"status": "ACKNOWLEDGED"}
        event = next_data(officer_ws, "coordinationActionChanged")
        assert event["change"] == "UPDATED"
        assert {"status", "acknowledgedAt", "acknowledgedBy", "version"} <= set(
            event["changedFields"]
        )
        assert event["action"] == {"status": "ACKNOWLEDGED", "partner": {"name": "Gulf"}}
        assert other_ws.nothing_within(0.5)


def test_a_browser_session_authenticates_the_connection(server, officer):
    """A page of the site itself: its session cookie, no token."""
    browser = Client()
    browser.force_login(officer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    incident = make_incident(officer)
    with GraphQLWebSocket(server.ws_url, additional_headers={"Cookie": cookie}) as ws:
        assert ws.init()["type"] == "connection_ack"
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)
        change_severity(server, token_for(officer), incident, "HIGH")
        assert next_data(ws, "incidentChanged")["incident"]["severity"] == "HIGH"


# --- bad input and abuse --------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "ops_not-a-real-token"])
def test_a_connection_without_valid_credentials_is_closed(server, db, token):
    with GraphQLWebSocket(server.ws_url) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        ws.send({"type": "connection_init", "payload": payload})
        assert ws.close_code() == 4403


def test_subscribing_before_connection_init_is_refused(server, db):
    with GraphQLWebSocket(server.ws_url) as ws:
        ws.subscribe("1", INCIDENT_CHANGED)
        assert ws.close_code() == 4401


def test_a_page_on_another_site_cannot_open_a_socket_with_the_users_cookies(server, db):
    with pytest.raises(InvalidStatus) as refused:
        GraphQLWebSocket(server.ws_url, origin="https://attacker.example")
    assert refused.value.response.status_code == 403


def test_other_websocket_paths_are_refused(server, db):
    with pytest.raises(InvalidStatus):
        GraphQLWebSocket(server.ws_url.replace("/graphql/", "/elsewhere/"))


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"filters": {"nonsense": True}}, "nonsense"),
        ({"filters": {"urbanArea": "not-an-id"}}, "BAD_USER_INPUT"),
        ({"filters": {"urbanArea": "U3RhdGU6MQ=="}}, "urbanArea"),  # a State's ID
        ({"filters": {"severity": {"exact": "APOCALYPTIC"}}}, "APOCALYPTIC"),
    ],
)
def test_malformed_filters_get_an_error_and_the_connection_goes_on(
    server, officer, variables, expected
):
    token = token_for(officer)
    incident = make_incident(officer)
    with GraphQLWebSocket(server.ws_url) as ws:
        ws.init(token)
        ws.subscribe("bad", INCIDENT_CHANGED, variables)
        message = ws.receive()
        assert message["id"] == "bad"
        assert message["type"] in {"error", "next"}, message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert expected in str(errors)
        if message["type"] == "next":  # an execution error: the operation then completes
            assert ws.receive() == {"id": "bad", "type": "complete"}
        ws.subscribe("good", INCIDENT_CHANGED)
        assert ws.nothing_within(0.3)  # subscribed before the change is made
        change_severity(server, token, incident, "HIGH")
        following = ws.receive()
        assert (following["id"], following["type"]) == ("good", "next")


def test_history_cannot_be_read_through_a_subscription(server, officer):
    with GraphQLWebSocket(server.ws_url) as ws:
        ws.init(token_for(officer))
        ws.subscribe(
            "1", "subscription { incidentChanged { incident { history { totalCount } } } }"
        )
        message = ws.receive()
        assert "History cannot be selected in a subscription" in str(message["payload"])


def test_a_flood_of_subscriptions_is_capped_per_connection(server, officer):
    token = token_for(officer)
    incident = make_incident(officer)
    with GraphQLWebSocket(server.ws_url) as ws:
        ws.init(token)
        for n in range(CAP + 2):
            ws.subscribe(str(n), INCIDENT_CHANGED)
        refused = [ws.receive(), ws.receive()]
        assert {m["id"] for m in refused} == {str(CAP), str(CAP + 1)}
        assert all(m["type"] == "error" for m in refused)
        assert "Subscription limit reached" in str(refused[0]["payload"])
        change_severity(server, token, incident, "HIGH")
        delivered = {ws.receive()["id"] for _ in range(CAP)}
        assert delivered == {str(n) for n in range(CAP)}


def test_a_dropped_connection_leaves_the_server_serving(server, officer):
    token = token_for(officer)
    incident = make_incident(officer)
    ws = subscribed(server, token)
    ws.socket.socket.close()  # the network goes away: no close frame, no `complete`
    change_severity(server, token, incident, "HIGH")
    assert server.alive()
    with subscribed(server, token) as again:
        change_severity(server, token, incident, "CRITICAL", version=2)
        assert next_data(again, "incidentChanged")["incident"]["severity"] == "CRITICAL"


# --- several server processes, one Redis ----------------------------------------------------


@pytest.fixture
def two_servers_sharing_redis(django_db_setup):
    require_redis()
    prefix = unique_prefix()
    servers = [Server(redis_prefix=prefix), Server(redis_prefix=prefix)]
    yield servers
    for server in servers:
        server.stop()


def test_a_change_made_on_one_server_reaches_a_subscriber_on_another(
    two_servers_sharing_redis, officer, make_user
):
    first, second = two_servers_sharing_redis
    partner = make_partner(officer, name="Metro OEM")
    partner_user = make_user("metro", partner=partner)
    shared = make_incident(officer, title="Shared", shared_with=[partner])
    hidden = make_incident(officer, title="Hidden")
    token = token_for(officer)
    with (
        subscribed(first, token) as officer_ws,
        subscribed(first, token_for(partner_user)) as partner_ws,
    ):
        change_severity(second, token, hidden, "HIGH")
        change_severity(second, token, shared, "CRITICAL")
        titles = [next_data(officer_ws, "incidentChanged")["incident"]["title"] for _ in "ab"]
        assert sorted(titles) == ["Hidden", "Shared"]
        assert next_data(partner_ws, "incidentChanged")["incident"]["title"] == "Shared"
        assert partner_ws.nothing_within(0.5)
