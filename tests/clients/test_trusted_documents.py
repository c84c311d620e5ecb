"""Trusted documents as the frontend tools write them: relay-compiler's persisted queries (a
flat id -> text map) and Apollo's persisted-query manifest, generated from the operations of
clients/operations/ and loaded by a real server that runs trusted documents only.

Operations are then sent as the clients send them: Relay's ``documentId`` (the GraphQL-over-
HTTP persisted-documents proposal), Apollo's ``extensions.persistedQuery.sha256Hash``; and an
ad-hoc query, over HTTP and over the WebSocket, which is refused.
"""

import json
import urllib.request

import pytest

from coordination.choices import Severity
from tests.clients.node import require_node, run_in_clients, ws_check
from tests.factories import global_id, make_action, make_incident, make_partner
from tests.operations import token_for
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REFUSED = "TRUSTED_DOCUMENT_REQUIRED"


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> dict:
    """Both tools run into a directory of the test's own (clients/*.config.js read
    TRUSTED_DOCUMENTS_DIR): ``{"relay": path, "apollo": path}``."""
    require_node()
    out = tmp_path_factory.mktemp("trusted-documents")
    env = {"TRUSTED_DOCUMENTS_DIR": str(out)}
    run_in_clients("node_modules/.bin/relay-compiler", env=env)
    run_in_clients("node_modules/.bin/generate-persisted-query-manifest", env=env)
    return {"relay": out / "relay-persisted.json", "apollo": out / "apollo-manifest.json"}


@pytest.fixture(scope="module")
def ids(manifests) -> dict:
    """The document id of each operation in each manifest: ``ids[tool][operation name]``."""
    relay = json.loads(manifests["relay"].read_text())
    apollo = json.loads(manifests["apollo"].read_text())
    return {
        "relay": {operation_name(text): document_id for document_id, text in relay.items()},
        "apollo": {operation["name"]: operation["id"] for operation in apollo["operations"]},
    }


def operation_name(text: str) -> str:
    """``WatchFloorQuery`` of ``query WatchFloorQuery(...``."""
    return text.split()[1].split("(")[0]


@pytest.fixture(scope="module")
def server(django_db_setup, manifests):
    server = Server(
        extra_env={
            "GRAPHQL_TRUSTED_DOCUMENTS": f"{manifests['relay']},{manifests['apollo']}",
            "GRAPHQL_TRUSTED_DOCUMENTS_ONLY": "all",
        }
    )
    yield server
    server.stop()


def post(server, body: dict, token: str) -> tuple[int, dict]:
    """POST ``body`` as the GraphQL request: (HTTP status, JSON answer)."""
    request = urllib.request.Request(
        f"{server.url}/graphql/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    return server._send(request, timeout=20)


def by_id(tool: str, document_id: str) -> dict:
    """How each client names a persisted document in its request."""
    if tool == "relay":
        return {"documentId": document_id}
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id}}}


def codes(body: dict) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


@pytest.mark.django_db  # reads and writes nothing: no transactional test's flush
def test_both_tools_wrote_every_operation(ids):
    expected = {"WatchFloorQuery", "RaiseSeverityMutation"}
    assert set(ids["relay"]) == expected
    assert set(ids["apollo"]) == expected


@pytest.mark.parametrize("tool", ["relay", "apollo"])
def test_a_client_runs_its_query_and_its_mutation_by_document_id(server, ids, officer, tool):
    partner = make_partner(officer, name="Gulf Coast Fusion Center")
    incident = make_incident(officer, title="Levee breach")
    make_action(officer, incident, partner)
    token = token_for(officer)

    request = {**by_id(tool, ids[tool]["WatchFloorQuery"]), "variables": {"first": 10}}
    status, body = post(server, request, token)
    assert status == 200, body
    assert "errors" not in body, body
    [edge] = body["data"]["incidents"]["edges"]
    node = edge["node"]
    assert (node["reference"], node["title"]) == (incident.reference, "Levee breach")
    [action] = node["actions"]["edges"]
    assert action["node"]["partner"]["name"] == "Gulf Coast Fusion Center"

    variables = {"input": {"id": global_id(incident), "version": 1, "severity": "CRITICAL"}}
    request = {**by_id(tool, ids[tool]["RaiseSeverityMutation"]), "variables": variables}
    status, body = post(server, request, token)
    assert status == 200, body
    changed = body["data"]["updateIncident"]
    assert (changed["severity"], changed["version"]) == ("CRITICAL", 2)
    incident.refresh_from_db()
    assert incident.severity == Severity.CRITICAL


def test_over_http_anything_but_a_trusted_document_is_refused(server, officer):
    incident = make_incident(officer)
    original = incident.title
    token = token_for(officer)

    status, body = post(server, {"query": "{ me { username } }"}, token)
    assert codes(body) == [REFUSED], (status, body)
    assert body.get("data") is None

    mutation = (
        "mutation ($input: UpdateIncidentInput!) "
        "{ updateIncident(input: $input) { ... on Incident { version } } }"
    )
    variables = {"input": {"id": global_id(incident), "version": 1, "title": "Changed"}}
    _, body = post(server, {"query": mutation, "variables": variables}, token)
    assert codes(body) == [REFUSED], body
    incident.refresh_from_db()
    assert (incident.title, incident.version) == (original, 1), "nothing was written"

    _, body = post(server, {"documentId": "sha256:" + "0" * 64}, token)
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"], body


def test_over_the_websocket_a_trusted_text_runs_and_an_ad_hoc_query_is_refused(
    server, manifests, ids, officer
):
    """graphql-ws sends a document's text (its protocol has no id): the text of a trusted
    document runs, any other is refused as over HTTP."""
    incident = make_incident(officer)
    relay = json.loads(manifests["relay"].read_text())
    watch_floor = relay[ids["relay"]["WatchFloorQuery"]]
    token = token_for(officer)

    trusted = ws_check(
        "operation", url=server.ws_url, token=token, query=watch_floor, variables={"first": 5}
    )
    [result] = trusted["results"]
    assert "errors" not in result, trusted
    [edge] = result["data"]["incidents"]["edges"]
    assert edge["node"]["reference"] == incident.reference

    ad_hoc = ws_check("operation", url=server.ws_url, token=token, query="{ me { username } }")
    assert "error" in ad_hoc, ad_hoc
    assert [error["extensions"]["code"] for error in ad_hoc["error"]] == [REFUSED], ad_hoc
