"""API tokens in the admin: issued with the value shown once, listed, revoked, never edited."""

import hashlib
import re

import pytest
from django.urls import reverse

from opsapi.accounts.models import ApiToken
from opsapi.accounts.services import issue_token
from tests.graphql import GraphQLClient

pytestmark = pytest.mark.django_db

TOKEN_ADD = reverse("admin:accounts_apitoken_add")
TOKEN_LIST = reverse("admin:accounts_apitoken_changelist")
ME = "{ me { username } }"
RAW_TOKEN = re.compile(r"ops_[A-Za-z0-9_-]{40,}")


def create_token_in_admin(client, user, **fields) -> tuple:
    """POST the add form; returns (response after the redirect, raw token from the message)."""
    data = {"user": str(user.pk), "name": "Watch-floor tablet", "expires_in_days": "30"}
    data.update(fields)
    response = client.post(TOKEN_ADD, data, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    raws = {raw for text in shown for raw in RAW_TOKEN.findall(text)}
    assert len(raws) == 1, shown
    return response, raws.pop()


def test_issued_token_is_shown_once_and_authenticates(admin_client, admin_user, officer):
    response, raw = create_token_in_admin(admin_client, officer, change_reason="Tablet for desk 4")

    token = ApiToken.objects.get()
    assert token.user == officer
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    record = token.history.get()
    assert record.history_user == admin_user
    assert record.history_change_reason == "Tablet for desk 4"
    assert raw in response.content.decode()  # on the page the admin is sent to, once

    pages = [
        TOKEN_LIST,
        reverse("admin:accounts_apitoken_change", args=[token.pk]),
        reverse("admin:accounts_apitoken_history", args=[token.pk]),
        reverse("admin:accounts_apitoken_simple_history", args=[token.pk, record.pk]),
    ]
    for url in pages:
        page = admin_client.get(url).content.decode()
        assert raw not in page, url
        assert token.digest not in page, url

    body = GraphQLClient.with_token(raw)(ME)
    assert body["data"]["me"]["username"] == officer.username


def test_token_without_expiry(admin_client, officer):
    create_token_in_admin(admin_client, officer, expires_in_days="")

    assert ApiToken.objects.get().expires_at is None


def test_token_form_errors_show_and_nothing_is_issued(admin_client, officer):
    response = admin_client.post(
        TOKEN_ADD, {"user": str(officer.pk), "name": "", "expires_in_days": "0"}
    )

    errors = response.context["adminform"].form.errors
    assert set(errors) == {"name", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_list_shows_tokens_without_their_digest(admin_client, officer):
    token, _ = issue_token(user=officer, name="Integration", actor=officer)

    response = admin_client.get(TOKEN_LIST)

    page = response.content.decode()
    assert token.prefix in page
    assert "Integration" in page
    assert token.digest not in page


def test_revoke_action_stops_the_token(admin_client, admin_user, officer):
    token, raw = issue_token(user=officer, name="Lost phone", actor=officer)
    _kept, kept_raw = issue_token(user=officer, name="Desk", actor=officer)

    response = admin_client.post(
        TOKEN_LIST, {"action": "revoke_selected", "_selected_action": [str(token.pk)]}
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.history.order_by("-history_id").first().history_user == admin_user
    revoked = GraphQLClient.with_token(raw).post(ME)
    assert revoked.status_code == 401
    assert GraphQLClient.with_token(kept_raw).data(ME)["me"]["username"] == officer.username


def test_usable_filter(admin_client, officer):
    revoked, _ = issue_token(user=officer, name="Old", actor=officer)
    admin_client.post(
        TOKEN_LIST, {"action": "revoke_selected", "_selected_action": [str(revoked.pk)]}
    )
    usable, _ = issue_token(user=officer, name="New", actor=officer)

    def listed(value):
        return set(admin_client.get(TOKEN_LIST, {"usable": value}).context["cl"].result_list)

    assert listed("yes") == {usable}
    assert listed("no") == {revoked}


def test_tokens_are_never_edited_or_deleted(admin_client, officer):
    token, _ = issue_token(user=officer, name="Integration", actor=officer)
    change_url = reverse("admin:accounts_apitoken_change", args=[token.pk])

    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(change_url, {"name": "Renamed"}).status_code == 403
    delete_url = reverse("admin:accounts_apitoken_delete", args=[token.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    token.refresh_from_db()
    assert token.name == "Integration"
    assert token.history.count() == 1
