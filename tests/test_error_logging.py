"""What the log says about failed requests: a client's mistake or refused access is one line at
INFO or WARNING with the request id and the error code, never an ERROR with a traceback (a
fuzz run would otherwise bury the real faults); a server fault is an ERROR with its traceback.
"""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from opsapi.accounts.access import OPS_OFFICER
from opsapi.accounts.services import issue_token
from tests.graphql import GraphQLClient
from tests.wsclient import InProcessGraphQLWebSocket

# (request, the code the client gets, the level of the one line logged)
GRAPHQL_MISTAKES = {
    "misspelt field": ("{ incidentz { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
    "syntax error": ("{ incidents { ", None),  # whichever code parse failures get
    "bad ID": ('{ node(id: "bm90IGFuIGlk") { id } }', "BAD_USER_INPUT"),
    "bad cursor": ('{ incidents(after: "x") { totalCount } }', "BAD_USER_INPUT"),
    "page size refused": ("{ incidents(first: 1000) { totalCount } }", "BAD_USER_INPUT"),
    "bad variable": (
        "query($f: IncidentFilter) { incidents(filters: $f) { totalCount } }",
        "GRAPHQL_VALIDATION_FAILED",
        {"f": {"severity": {"exact": "HIHG"}}},
    ),
}


@pytest.fixture
def caller(db):
    """An operations officer, without a password to hash."""
    user = get_user_model().objects.create(username="logging-caller")
    user.groups.set(Group.objects.filter(name=OPS_OFFICER))
    return GraphQLClient.logged_in(user)


@pytest.fixture
def log(caplog):
    """The records logged from here on, at INFO and above, by any logger."""
    caplog.set_level(logging.INFO)
    caplog.clear()

    def records():
        return [r for r in caplog.records if r.levelno >= logging.INFO]

    return records


def assert_one_line(records, response, code, level=logging.INFO):
    [record] = records
    assert record.levelno == level
    assert record.exc_info is None
    assert record.request_id == response["X-Request-ID"]
    assert code in record.error_codes
    assert code in record.getMessage()
    assert "\n" not in record.getMessage()


@pytest.mark.parametrize("case", GRAPHQL_MISTAKES.values(), ids=GRAPHQL_MISTAKES)
def test_a_graphql_mistake_is_one_info_line_with_request_id_and_code(caller, log, case):
    query, code, *variables = case
    response = caller.post(query, *variables)
    [answered] = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert answered == (code or answered) != "INTERNAL_SERVER_ERROR"
    assert_one_line(log(), response, answered)


@pytest.mark.parametrize("case", GRAPHQL_MISTAKES.values(), ids=GRAPHQL_MISTAKES)
def test_a_graphql_mistake_over_the_websocket_is_one_info_line_too(caller, log, case):
    user = get_user_model().objects.get(username="logging-caller")
    socket = InProcessGraphQLWebSocket(issue_token(user=user, name="logs", actor=user)[1])
    query, _, *variables = case
    log_before = len(log())
    response = socket.post(query, *variables)
    [answered] = [e["extensions"]["code"] for e in response.json()["errors"]]
    [record] = log()[log_before:]
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert answered in record.error_codes
    if response.request_id is not None:  # an operation refused before it ran has none
        assert record.request_id == response.request_id


def test_an_invalid_token_is_one_warning_line(db, log):
    response = GraphQLClient.with_token("not-a-token").post("{ me { username } }")
    assert response.status_code == 401
    assert_one_line(log(), response, "UNAUTHENTICATED", logging.WARNING)


def test_a_forbidden_request_is_one_warning_line(caller, log):
    response = caller.client.get("/audit/export/")
    assert response.status_code == 403
    assert_one_line(log(), response, "FORBIDDEN", logging.WARNING)


def test_a_rate_limited_request_is_one_warning_line(caller, settings, log):
    settings.GRAPHQL_RATE_LIMIT = "1/m"
    caller.post("{ me { username } }")
    first = len(log())
    response = caller.post("{ me { username } }")
    assert response.status_code == 429
    assert_one_line(log()[first:], response, "RATE_LIMITED", logging.WARNING)


def test_several_mistakes_in_one_request_are_still_one_line(caller, log):
    response = caller.post("{ incidentz { totalCount } statez { totalCount } }")
    assert len(response.json()["errors"]) == 2
    assert_one_line(log(), response, "GRAPHQL_VALIDATION_FAILED")


def test_a_client_error_over_the_specified_media_type_is_still_one_line(caller, log):
    response = caller.client.post(
        "/graphql/",
        data='{"query": "{ incidentz { totalCount } }"}',
        content_type="application/json",
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert_one_line(log(), response, "GRAPHQL_VALIDATION_FAILED")


def test_a_server_fault_is_an_error_with_its_traceback(caller, log, monkeypatch):
    from coordination import services

    def broken(**kwargs):
        raise RuntimeError("a bug in the service")

    monkeypatch.setattr(services, "create_incident", broken)
    response = caller.post(
        'mutation { createIncident(input: {title: "x", category: CYBER, severity: LOW}) '
        "{ __typename } }"
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    errors = [r for r in log() if r.levelno >= logging.ERROR]
    [error] = errors
    assert error.exc_info[0] is RuntimeError
    assert error.request_id == response["X-Request-ID"]


def test_a_fault_in_an_extension_is_masked_and_logged_as_an_error(caller, log, monkeypatch):
    from opsapi.graphql import compiled

    def broken(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(compiled, "compiled_data", broken)
    response = caller.post("{ incidents { totalCount } }")
    [error] = response.json()["errors"]
    assert error == {
        "message": "Internal server error.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    [record] = [r for r in log() if r.levelno >= logging.ERROR]
    assert record.exc_info[0] is RuntimeError


def test_a_fuzz_like_run_of_client_errors_logs_no_error(caller, log):
    for case in GRAPHQL_MISTAKES.values():
        query, _, *variables = case
        caller.post(query, *variables)
    Client().get("/audit/export/")
    GraphQLClient.with_token("not-a-token").post("{ me { username } }")
    assert not [r for r in log() if r.levelno >= logging.ERROR]
    assert len(log()) == len(GRAPHQL_MISTAKES) + 2
