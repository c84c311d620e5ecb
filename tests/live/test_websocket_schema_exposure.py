"""What the schema tells about itself over WebSocket, as over HTTP (tests/test_http_conformance):
introspection only while GRAPHQL_INTROSPECTION allows it, and no "Did you mean ...?" hints
unless DEBUG is on. Real servers, a real WebSocket client; queries and subscriptions alike."""

import pytest

from tests.operations import token_for
from tests.servers import Server
from tests.wsclient import GraphQLWebSocket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Incident") { fields { name } } }'
TYPENAME = "{ __typename me { username } }"
MISSPELLED_FIELD = "subscription { incidentChangd { change } }"
MISSPELLED_FIELD_MESSAGE = "Cannot query field 'incidentChangd' on type 'Subscription'."
FILTERED = "subscription ($f: IncidentFilter) { incidentChanged(filters: $f) { change } }"
MISSPELLED_ENUM = {"f": {"severity": {"exact": "CRITICL"}}}


@pytest.fixture(scope="module")
def locked_down(django_db_setup):
    """A production server with introspection switched off."""
    server = Server(extra_env={"GRAPHQL_INTROSPECTION": "0"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def development(django_db_setup):
    """A development server (DEBUG on), introspection on as by default."""
    server = Server(extra_env={"DEBUG": "1"})
    yield server
    server.stop()


def answer(server, token: str, query: str, variables: dict | None = None) -> dict:
    """What an authenticated connection is sent for one operation: its first message."""
    with GraphQLWebSocket(server.ws_url) as ws:
        assert ws.init(token)["type"] == "connection_ack"
        ws.subscribe("1", query, variables)
        return ws.receive()


def errors_of(message: dict) -> list[dict]:
    """The errors of an `error` message, or of a `next` message's payload."""
    assert message["type"] in {"error", "next"}, message
    return message["payload"] if message["type"] == "error" else message["payload"]["errors"]


@pytest.mark.parametrize("query", [SCHEMA, TYPE])
def test_an_authenticated_connection_is_refused_introspection_when_it_is_off(
    locked_down, officer, query
):
    message = answer(locked_down, token_for(officer), query)
    assert message["type"] == "error", "refused before it runs"
    errors = message["payload"]
    assert errors
    for error in errors:
        assert "introspection has been disabled" in error["message"]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_typename_and_ordinary_queries_still_run_when_introspection_is_off(locked_down, officer):
    message = answer(locked_down, token_for(officer), TYPENAME)
    request_id = message["payload"].pop("extensions")["requestId"]
    assert len(request_id) == 32
    assert message == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"__typename": "Query", "me": {"username": "officer"}}},
    }


def test_an_authenticated_connection_may_introspect_when_it_is_on(development, officer):
    message = answer(development, token_for(officer), SCHEMA)
    assert message["payload"]["data"] == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        (MISSPELLED_FIELD, None, MISSPELLED_FIELD_MESSAGE),
        (
            FILTERED,
            MISSPELLED_ENUM,
            "Variable '$f' has invalid value at .severity.exact: "
            "Value 'CRITICL' does not exist in 'Severity' enum.",
        ),
    ],
)
def test_no_suggestions_over_websocket_in_production(
    locked_down, development, officer, query, variables, expected
):
    token = token_for(officer)
    [error] = errors_of(answer(locked_down, token, query, variables))
    assert error["message"] == expected
    # The same mistake in development: the hint that was taken out.
    [error] = errors_of(answer(development, token, query, variables))
    assert error["message"].startswith(f"{expected} Did you mean")
