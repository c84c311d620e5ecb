"""The HTTP surface: who gets in, CSRF, the health check and request ids."""

import json
import os

import pytest
from django.test import Client

from opsapi.accounts.services import issue_token, revoke_token
from tests.graphql import GraphQLClient
from tests.processes import run_python

ME = "{ me { username displayName } }"


def test_anonymous_requests_get_a_clear_authentication_error_and_no_data(anonymous_gql):
    response = anonymous_gql.post("{ incidents { totalCount } }")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_anonymous_browser_is_sent_to_the_login_page(db):
    response = Client().get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/graphql/")


def test_logged_in_browser_gets_graphiql(officer):
    client = Client()
    client.force_login(officer)
    response = client.get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_bearer_token_authenticates(officer):
    _, raw = issue_token(user=officer, name="Mobile app", actor=officer)
    body = GraphQLClient.with_token(raw).data(ME)
    assert body["me"] == {"username": "officer", "displayName": "Olivia Officer"}


@pytest.mark.parametrize(
    "header",
    ["Bearer ops_not-a-real-token", "Bearer ", "Basic b2ZmaWNlcjpzZWNyZXQ=", "Bearer x" * 50],
)
def test_bad_authorization_headers_are_refused(db, header):
    response = Client().post(
        "/graphql/",
        data=json.dumps({"query": ME}),
        content_type="application/json",
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_expired_and_revoked_tokens_are_refused(officer):
    from django.utils import timezone

    expired, expired_raw = issue_token(user=officer, name="Old", actor=officer)
    expired.expires_at = timezone.now()
    from opsapi.audit.tracking import save_with_history

    save_with_history(expired, actor=officer, reason="expire for test")
    token, raw = issue_token(user=officer, name="Laptop", actor=officer)
    revoke_token(token=token, actor=officer, reason="Laptop lost")
    for credential in (expired_raw, raw):
        assert GraphQLClient.with_token(credential).post(ME).status_code == 401


def test_token_of_a_deactivated_user_is_refused(officer):
    _, raw = issue_token(user=officer, name="App", actor=officer)
    officer.is_active = False
    officer.save()
    assert GraphQLClient.with_token(raw).post(ME).status_code == 401


def test_cookie_authenticated_post_needs_a_csrf_token(officer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    mutation = json.dumps(
        {
            "query": 'mutation { createIncident(input: {title: "x", category: CYBER, '
            "severity: LOW}) { __typename } }"
        }
    )
    forged = client.post("/graphql/", data=mutation, content_type="application/json")
    assert forged.status_code == 403
    assert forged.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"

    client.get("/graphql/", headers={"Accept": "text/html"})  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    allowed = client.post(
        "/graphql/", data=mutation, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert allowed.status_code == 200
    assert allowed.json()["data"]["createIncident"]["__typename"] == "Incident"


def test_token_authenticated_post_needs_no_csrf_token(officer):
    _, raw = issue_token(user=officer, name="Integration", actor=officer)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": ME}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200


def test_every_response_carries_a_request_id_that_lands_in_history(gql, officer):
    response = gql.post(
        'mutation { createIncident(input: {title: "x", category: CYBER, severity: LOW}) '
        "{ ... on Incident { history { edges { node { requestId } } } } } }"
    )
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    history = response.json()["data"]["createIncident"]["history"]["edges"]
    assert history[0]["node"]["requestId"] == request_id


def test_client_cannot_choose_the_request_id(gql):
    response = gql.client.post(
        "/graphql/",
        data=json.dumps({"query": ME}),
        content_type="application/json",
        headers={"X-Request-ID": "forged-request-id-123"},
    )
    assert response["X-Request-ID"] != "forged-request-id-123"


def test_healthz_reports_the_database_without_authentication(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    """A real process whose database cannot be reached (a port nothing listens on, or a
    SQLite file in a directory that does not exist)."""
    url = (
        "postgres://postgres@127.0.0.1:9/opsapi"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"
    )
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); "
        "print(r.status_code, r.content.decode())"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "opsapi.settings"}
    result = run_python("-c", script, env=env, timeout=60)
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body) == {"status": "unavailable", "database": "unavailable"}


def test_unexpected_errors_are_masked(gql, monkeypatch):
    from coordination import services

    def broken(**kwargs):
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(services, "create_incident", broken)
    body = gql(
        'mutation { createIncident(input: {title: "x", category: CYBER, severity: LOW}) '
        "{ __typename } }"
    )
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in json.dumps(body)
