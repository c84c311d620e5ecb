"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/) at /graphql/: methods,
media types, status codes, malformed requests; introspection and suggestions; CSRF."""

import json

import pytest
from django.test import Client

from coordination.models import Incident
from opsapi.accounts.services import issue_token

ME = "{ me { username } }"
CREATE_INCIDENT = (
    'mutation { createIncident(input: {title: "Forged", category: CYBER, severity: LOW}) '
    "{ __typename } }"
)
GRAPHQL_RESPONSE = "application/graphql-response+json"
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture
def api(officer):
    """A Django test client sending the officer's API token."""
    _, raw = issue_token(user=officer, name="Conformance", actor=officer)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client, body, *, content_type="application/json", accept=None):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Accept": accept} if accept else {}
    return client.post("/graphql/", data=data, content_type=content_type, headers=headers)


def refusal(response) -> tuple[int, str]:
    """(status, code) of a GraphQL-shaped refusal, which must be JSON and carry no data."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"]
    return response.status_code, error["extensions"]["code"]


# --- GET runs queries only ------------------------------------------------------------------


def test_get_runs_a_query(api):
    response = api.get("/graphql/", {"query": ME})
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"username": "officer"}}}


def test_a_mutation_over_get_is_refused_with_405_and_nothing_is_written(api):
    response = api.get("/graphql/", {"query": CREATE_INCIDENT})
    assert refusal(response) == (405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "POST"
    assert Incident.objects.count() == 0


def test_other_methods_are_refused_with_405(api):
    response = api.put("/graphql/", data=json.dumps({"query": ME}), content_type="application/json")
    assert refusal(response) == (405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET, POST"


# --- POST bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", f"query={ME}"),
        ("text/plain", json.dumps({"query": ME})),
        ("multipart/form-data; boundary=xyz", "--xyz--"),
        ("application/graphql", ME),
    ],
)
def test_post_bodies_other_than_json_are_refused_with_415(api, content_type, body):
    response = post(api, body, content_type=content_type)
    assert refusal(response) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_post_without_a_body_or_content_type_is_refused_with_415(api):
    response = api.post("/graphql/")
    assert refusal(response) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_a_charset_is_json(api):
    response = post(api, {"query": ME}, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("NONSENSE", "Unable to parse request body as JSON"),
        ('{"query":', "Unable to parse request body as JSON"),
        ('"{ me { username } }"', "must be a JSON object"),
        ("42", "must be a JSON object"),
        (b'{"query": "\xff"}', "not valid UTF-8"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ('{"qeury": "{ me { username } }"}', "No GraphQL query found"),
        ('{"query": 5}', "`query` must be a string"),
        ('{"query": {"a": 1}}', "`query` must be a string"),
        ('{"query": "{ me { username } }", "variables": [7]}', "`variables` must be an object"),
        ('{"query": "{ me { username } }", "variables": "x"}', "`variables` must be an object"),
        ('[{"query": "{ me { username } }"}]', "Batching is not enabled"),
    ],
)
def test_malformed_requests_get_400_with_a_clear_json_error(api, body, message):
    for accept in (None, GRAPHQL_RESPONSE):
        response = post(api, body, accept=accept)
        status, code = refusal(response) if accept is None else json_refusal(response)
        assert (status, code) == (400, "BAD_REQUEST")
        assert message in response.json()["errors"][0]["message"]


def json_refusal(response) -> tuple[int, str]:
    """A refusal answered in application/graphql-response+json, as the client asked."""
    assert response["Content-Type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    return response.status_code, body["errors"][0]["extensions"]["code"]


def test_a_body_over_the_upload_limit_gets_413_not_a_crash(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"query": ME, "variables": {"padding": "x" * 10_000}}
    response = post(api, big)
    assert refusal(response) == (413, "PAYLOAD_TOO_LARGE")
    assert "10000 bytes" in response.json()["errors"][0]["message"]


def test_a_body_over_the_upload_limit_with_a_session_cookie_gets_413(officer, settings):
    """The CSRF check reads a form body before the view does: still 413, still JSON."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client()
    client.force_login(officer)
    response = post(
        client, "query=" + "x" * 10_000, content_type="application/x-www-form-urlencoded"
    )
    assert refusal(response) == (413, "PAYLOAD_TOO_LARGE")


# --- media types and status codes -----------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        GRAPHQL_RESPONSE,
        f"{GRAPHQL_RESPONSE}; charset=utf-8, application/json; charset=utf-8",
        f"application/json;q=0.9, {GRAPHQL_RESPONSE}",
    ],
)
def test_clients_asking_for_graphql_response_json_get_it(api, accept):
    response = post(api, {"query": ME}, accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"me": {"username": "officer"}}}


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, */*;q=0.8"])
def test_legacy_clients_get_application_json(api, accept):
    response = post(api, {"query": ME}, accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"


def test_a_client_accepting_no_json_type_gets_406(api):
    response = post(api, {"query": ME}, accept="text/xml")
    assert refusal(response) == (406, "NOT_ACCEPTABLE")


REQUEST_ERRORS = {
    "syntax": ({"query": "{ me { username }"}, None),
    "validation": ({"query": "{ me { nosuchfield } }"}, None),
    "unknown operation": ({"query": ME, "operationName": "Nope"}, None),
    "variable coercion": (
        {"query": "query ($n: Int!) { incidents(first: $n) { totalCount } }", "variables": {}},
        None,
    ),
}


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
def test_request_errors_are_400_without_data_in_graphql_response_json(api, case):
    body, _ = REQUEST_ERRORS[case]
    response = post(api, body, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response["Content-Type"].startswith(GRAPHQL_RESPONSE)
    result = response.json()
    assert "data" not in result
    assert result["errors"][0]["message"]


@pytest.mark.parametrize("case", [c for c in REQUEST_ERRORS if c != "unknown operation"])
def test_request_errors_stay_200_in_legacy_application_json(api, case):
    body, _ = REQUEST_ERRORS[case]
    response = post(api, body)
    assert response.status_code == 200
    result = response.json()
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_an_executed_request_with_a_field_error_is_200_in_both_media_types(api):
    """A field error (an unusable search text) happens during execution; `search` is
    non-null, so data is null, yet the request was executed: 200 (and data present)."""
    query = '{ me { username } search(query: "") { totalCount } }'
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = post(api, {"query": query}, accept=accept)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["path"] == ["search"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_unauthenticated_is_401_in_both_media_types(db):
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = post(Client(), {"query": ME}, accept=accept)
        assert response.status_code == 401
        assert response["Content-Type"].startswith(accept)
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- introspection and suggestions ----------------------------------------------------------


def test_introspection_is_for_authenticated_callers_only(api, anonymous_gql):
    assert anonymous_gql.post(INTROSPECTION).status_code == 401
    body = post(api, {"query": INTROSPECTION}).json()
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_graphiql_is_for_authenticated_browsers_only(officer, db):
    anonymous = Client().get("/graphql/", headers={"Accept": "text/html"})
    assert anonymous.status_code == 302
    client = Client()
    client.force_login(officer)
    page = client.get("/graphql/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert b"graphiql" in page.content.lower()


@pytest.mark.parametrize(
    "query",
    [
        INTROSPECTION,
        '{ __type(name: "Incident") { fields { name } } }',
        "query Q { me { username } ...F } fragment F on Query { __schema { types { name } } }",
    ],
)
def test_introspection_can_be_switched_off(api, settings, query):
    settings.GRAPHQL_INTROSPECTION = False
    response = post(api, {"query": query}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors
    for error in errors:
        assert "introspection has been disabled" in error["message"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # Ordinary queries (and __typename) still run.
    body = post(api, {"query": "{ __typename me { username } }"}).json()
    assert body == {"data": {"__typename": "Query", "me": {"username": "officer"}}}


MISSPELLED = [
    ("{ incidentz { totalCount } }", "Cannot query field 'incidentz' on type 'Query'."),
    (
        "{ incidents(frist: 5) { totalCount } }",
        "Unknown argument 'frist' on field 'Query.incidents'.",
    ),
]


@pytest.mark.parametrize(("query", "message"), MISSPELLED)
def test_no_field_suggestions_in_production(api, query, message):
    [error] = post(api, {"query": query}).json()["errors"]
    assert error["message"] == message


@pytest.mark.parametrize(("query", "message"), MISSPELLED)
def test_field_suggestions_help_in_development(api, settings, query, message):
    settings.DEBUG = True
    [error] = post(api, {"query": query}).json()["errors"]
    assert error["message"].startswith(message)
    assert "Did you mean" in error["message"]


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", f"query={CREATE_INCIDENT}"),
        ("text/plain", json.dumps({"query": CREATE_INCIDENT})),
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n'
            f"{CREATE_INCIDENT}\r\n--b--",
        ),
    ],
)
def test_a_cross_site_form_post_with_a_session_cookie_cannot_run_a_mutation(
    officer, content_type, body
):
    """What a hostile page's auto-submitted <form> sends: the victim's session cookie, no CSRF
    token, its own Origin, a content type a form may use."""
    history_before = Incident.history.count()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(officer)
    response = browser.post(
        "/graphql/",
        data=body,
        content_type=content_type,
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        secure=True,
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"
    assert Incident.objects.count() == 0
    assert Incident.history.count() == history_before


def test_a_token_authenticated_mutation_needs_no_csrf_token(officer):
    _, raw = issue_token(user=officer, name="Integration", actor=officer)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    response = post(client, {"query": CREATE_INCIDENT})
    assert response.status_code == 200
    assert response.json()["data"]["createIncident"]["__typename"] == "Incident"
    assert Incident.objects.get().history.count() == 1
