"""The one operation pipeline (opsapi.graphql.pipeline), proven on both transports: the HTTP
view and the WebSocket application (graphql-transport-ws, driven in process). Each rule is
asserted as a client of that transport sees it."""

import json

import pytest
from django.test import Client

from coordination.models import Incident
from opsapi.accounts.services import issue_token
from opsapi.audit.models import AuditAccess
from tests.factories import make_incident
from tests.graphql import GraphQLClient
from tests.wsclient import InProcessGraphQLWebSocket

ME = "{ me { username } }"


@pytest.fixture
def token(officer):
    return issue_token(user=officer, name="pipeline tests", actor=officer)[1]


def http(token, address="127.0.0.1"):
    return GraphQLClient(Client(REMOTE_ADDR=address), headers={"Authorization": f"Bearer {token}"})


def ws(token, address="127.0.0.1"):
    return InProcessGraphQLWebSocket(token, address=address)


TRANSPORTS = {"http": http, "websocket": ws}


@pytest.fixture(params=TRANSPORTS)
def client_for(request):
    return TRANSPORTS[request.param]


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


# --- rate limits ------------------------------------------------------------------------------


def test_the_user_rate_limit_counts_each_operation_on_either_transport(settings, officer, token):
    settings.GRAPHQL_RATE_LIMIT = "4/m"
    # Two over HTTP and two on one socket spend the budget; the fifth, on the socket, is refused.
    assert http(token)(ME)["data"]["me"]["username"] == officer.username
    assert http(token)(ME)["data"]["me"]["username"] == officer.username
    answers = ws(token).exchange([{"query": ME}] * 3)
    assert [a.json().get("data") for a in answers[:2]] == [{"me": {"username": "officer"}}] * 2
    refused = answers[2].json()["errors"][0]
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert refused["extensions"]["retryAfter"] >= 1
    assert len(refused["extensions"]["requestId"]) == 32  # as HTTP's X-Request-ID
    assert answers[2].messages[-1]["type"] == "error"  # for that operation id alone
    response = http(token).post(ME)
    assert (response.status_code, code_of(response)) == (429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_address_whose_tokens_keep_failing_is_refused_before_its_next_token_is_checked(
    settings, token, transport
):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/m"
    client = TRANSPORTS[transport]
    for _ in range(3):
        response = client("ops_guessed-wrong", address="198.51.100.7").post(ME)
        assert (response.status_code, code_of(response)) == (401, "UNAUTHENTICATED")
    # Over the limit even the right token is refused, so a guess that hits teaches nothing.
    response = client(token, address="198.51.100.7").post(ME)
    assert (response.status_code, code_of(response)) == (429, "RATE_LIMITED")
    if transport == "websocket":
        assert response.json()["closeCode"] == 4429
    else:
        assert int(response["Retry-After"]) >= 1
    # Other addresses are not affected.
    assert client(token, address="198.51.100.8").post(ME).status_code == 200


# --- the request id, history records and audit reads --------------------------------------------

RENAME = """
mutation($input: UpdateIncidentInput!) {
  updateIncident(input: $input) { ... on Incident { title version } }
}
"""
HISTORY = "query($id: ID!) { node(id: $id) { ... on Incident { history { totalCount } } } }"


def test_a_mutation_over_the_websocket_writes_its_history_record_with_the_request_id(
    officer, token
):
    incident = make_incident(officer)
    from strawberry import relay

    variables = {
        "input": {
            "id": str(relay.GlobalID("Incident", str(incident.pk))),
            "version": incident.version,
            "title": "Renamed over the socket",
        }
    }
    response = ws(token).post(RENAME, variables)
    assert response.json()["data"]["updateIncident"]["title"] == "Renamed over the socket"
    record = Incident.history.filter(id=incident.pk).latest("history_id")
    assert record.title == "Renamed over the socket"
    assert record.history_user_id == officer.pk
    assert record.request_id == response.request_id
    assert len(response.request_id) == 32


def test_reading_history_over_the_websocket_is_on_the_record_with_its_request_id(officer, token):
    incident = make_incident(officer)
    from strawberry import relay

    variables = {"id": str(relay.GlobalID("Incident", str(incident.pk)))}
    response = ws(token).post(HISTORY, variables)
    assert response.json()["data"]["node"]["history"]["totalCount"] == 1
    read = AuditAccess.objects.get(user=officer, operation="history")
    assert read.request_id == response.request_id
    assert read.target == "node.history"


# --- malformed operations -----------------------------------------------------------------------

MALFORMED = [
    ({"query": 42}, "query"),
    ({"query": ME, "variables": "x"}, "variables"),
    ({"query": ME, "variables": [1]}, "variables"),
    ({"query": ME, "operationName": 5}, "operationName"),
    ({"query": ME, "extensions": "x"}, "extensions"),
    ({"query": ME, "documentId": 7}, "documentId"),
    ({}, "query"),
    ({"variables": {}}, "query"),
]


@pytest.mark.parametrize(("payload", "parameter"), MALFORMED)
def test_a_malformed_operation_is_refused_naming_its_parameter(token, payload, parameter):
    # HTTP: 400 for the request.
    response = http(token).client.post(
        "/graphql/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")
    assert f"`{parameter}`" in response.json()["errors"][0]["message"]
    # WebSocket: an error for that operation id; the next operation on the socket runs.
    refused, after = ws(token).exchange([payload, {"query": ME}])
    assert refused.messages == [{"id": "0", "type": "error", "payload": refused.json()["errors"]}]
    assert code_of(refused) == "BAD_REQUEST"
    assert f"`{parameter}`" in refused.json()["errors"][0]["message"]
    assert after.json()["data"] == {"me": {"username": "officer"}}


def test_a_null_subscribe_payload_is_refused_for_its_id(token):
    refused, after = ws(token).exchange(
        [{"id": "a", "type": "subscribe", "payload": None}, {"query": ME}]
    )
    assert refused.messages[0]["id"] == "a"
    assert code_of(refused) == "BAD_REQUEST"
    assert after.json()["data"]["me"]["username"] == "officer"


def test_a_syntax_error_ends_only_its_own_operation_as_http_answers_it(token):
    over_http = http(token)("{ me { username ")["errors"]
    broken, after = ws(token).exchange([{"query": "{ me { username "}, {"query": ME}])
    (error,) = broken.json()["errors"]
    assert len(error["extensions"].pop("requestId")) == 32
    assert [error] == over_http
    assert over_http[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert over_http[0]["message"].startswith("Syntax Error")
    assert after.json()["data"] == {"me": {"username": "officer"}}


def test_an_unknown_operation_name_is_refused_for_its_id(token):
    refused, after = ws(token).exchange(
        [{"query": "query A { me { username } }", "operationName": "B"}, {"query": ME}]
    )
    assert code_of(refused) == "BAD_REQUEST"
    assert "no operation named 'B'" in refused.json()["errors"][0]["message"]
    assert after.status_code == 200


@pytest.mark.parametrize(
    "message",
    [
        {"id": 5, "type": "subscribe", "payload": {"query": ME}},
        {"type": "subscribe", "payload": {"query": ME}},
        {"id": "1", "type": 7},
        {"id": "1", "payload": {"query": ME}},  # no type
    ],
)
def test_a_message_outside_the_protocol_closes_the_socket_with_4400(token, message):
    (answer,) = ws(token).exchange([message])
    assert answer.json()["closeCode"] == 4400
    assert "Internal server error" not in answer.json()["errors"][0]["message"]


def test_no_malformed_message_logs_a_server_error(token, caplog):
    payloads = [payload for payload, _ in MALFORMED] + [{"query": "{ me { "}]
    ws(token).exchange(payloads)
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


# --- the handshake --------------------------------------------------------------------------------


async def _handshake(subprotocols):
    from opsapi.subscriptions import websocket_application
    from tests.wsclient import _Connection

    scope = {
        "type": "websocket",
        "path": "/graphql/",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "subprotocols": subprotocols,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    connection = _Connection(websocket_application(), scope)
    await connection.send_input({"type": "websocket.connect"})
    answer = await connection.receive_output(10)
    await connection.send_input({"type": "websocket.disconnect", "code": 1000})
    await connection.wait(10)
    return answer


@pytest.mark.parametrize(
    ("subprotocols", "accepted"),
    [
        (["graphql-transport-ws"], True),
        (["graphql-ws", "graphql-transport-ws"], True),
        (["graphql-ws"], False),  # the legacy protocol
        (["foo"], False),
        ([], False),
    ],
)
def test_only_graphql_transport_ws_is_accepted_at_the_handshake(db, subprotocols, accepted):
    from asgiref.sync import async_to_sync

    answer = async_to_sync(_handshake)(subprotocols)
    if accepted:
        assert answer == {"type": "websocket.accept", "subprotocol": "graphql-transport-ws"}
    else:
        # Closing before accepting refuses the handshake (HTTP 403 to the client).
        assert answer["type"] == "websocket.close"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_subscription_sent_over_http_is_refused_with_where_to_send_it(token, method):
    document = "subscription { incidentChanged { id } }"
    client = http(token).client
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        response = client.get("/graphql/", {"query": document}, headers=headers)
    else:
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": document}),
            content_type="application/json",
            headers=headers,
        )
    assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")
    assert "WebSocket" in response.json()["errors"][0]["message"]
