"""The graphql-ws client (npm's `graphql-ws`, the one web and Node applications use) against a
real server: authentication in connectionParams, subscriptions, queries over the socket, and
what a malformed or broken operation costs the others on the socket.

The client runs in Node (clients/ws-checks.mjs); these tests judge what it observed.
"""

import pytest

from tests.clients.node import require_node, ws_check
from tests.factories import global_id, make_incident
from tests.operations import token_for
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(django_db_setup):
    require_node()
    server = Server()
    yield server
    server.stop()


def arguments(server, officer, incident=None) -> dict:
    """What a check needs: the server, an officer's token and the incident to change."""
    base = {"url": server.ws_url, "httpUrl": server.url, "token": token_for(officer)}
    if incident is None:
        return base
    return {**base, "incidentId": global_id(incident), "version": incident.version}


def test_a_subscription_hears_a_change_made_over_http_and_a_query_runs_on_the_socket(
    server, officer
):
    incident = make_incident(officer, title="Levee breach")
    observed = ws_check("subscriptionAndQuery", **arguments(server, officer, incident))

    assert observed["mutation"]["status"] == 200, observed
    assert observed["event"] == {
        "next": {
            "data": {
                "incidentChanged": {
                    "change": "UPDATED",
                    "changedFields": ["severity", "version", "updatedAt"],
                    "incident": {"reference": incident.reference, "severity": "CRITICAL"},
                }
            }
        }
    }
    [result] = observed["query"]
    assert result["data"] == {"node": {"reference": incident.reference, "title": "Levee breach"}}
    assert "errors" not in result
    assert observed["closedEarly"] is None


def test_a_syntax_error_ends_only_its_own_subscription(server, officer):
    incident = make_incident(officer)
    observed = ws_check("syntaxErrorFailsAlone", **arguments(server, officer, incident))

    errors = observed["broken"].get("error")
    assert isinstance(errors, list), observed  # the protocol's error message, not a close
    assert "Syntax Error" in errors[0]["message"]
    assert observed["closedEarly"] is None, "the socket stayed open"
    event = observed["good"]["next"]["data"]["incidentChanged"]
    assert event["incident"] == {"reference": incident.reference, "severity": "HIGH"}


def test_a_malformed_subscribe_gets_an_error_for_its_id_and_the_socket_stays_open(server, officer):
    observed = ws_check("malformedSubscribe", **arguments(server, officer))

    assert observed["init"][0]["type"] == "connection_ack"
    [answer] = observed["malformed"]
    assert (answer["id"], answer["type"]) == ("bad", "error"), observed
    messages = [error["message"] for error in answer["payload"]]
    assert messages, answer
    assert not any("Internal server error" in message for message in messages), messages
    assert "query" in " ".join(messages), "the error names the field at fault"
    answered, completed = observed["following"]
    assert (answered["id"], answered["type"]) == ("good", "next"), observed
    assert answered["payload"]["data"] == {"me": {"username": "officer"}}
    assert completed == {"id": "good", "type": "complete"}
    assert observed["openAfterwards"] is True
    assert "closed" not in observed


# The handshakes read and write nothing: no transactional test's flush.
@pytest.mark.django_db
def test_the_graphql_transport_ws_subprotocol_is_accepted(server):
    observed = ws_check("handshake", url=server.ws_url, protocols=["graphql-transport-ws"])
    assert observed["opened"] is True
    assert observed["protocol"] == "graphql-transport-ws"


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", ["graphql-ws", "foo"])
def test_an_unknown_subprotocol_is_refused_at_the_handshake(server, protocol):
    """'graphql-ws' is the legacy subscriptions-transport-ws protocol, which the server does
    not speak: it must not open a socket that then fails."""
    observed = ws_check("handshake", url=server.ws_url, protocols=[protocol])
    assert observed["opened"] is False, observed
    assert 400 <= observed.get("status", 0) < 500, observed
