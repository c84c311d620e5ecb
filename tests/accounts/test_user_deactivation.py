"""Users with history are deactivated, never deleted: the admin's delete button, delete URL and
bulk action all lead to deactivation, with a message saying why, and none raises a database
error (the trail's foreign keys protect every user it names)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from opsapi.accounts.services import issue_token, user_for_token
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

User = get_user_model()
USER_LIST = reverse("admin:auth_user_changelist")
NEVER_DELETED = "Accounts are deactivated, never deleted"


def user_url(user, view="change") -> str:
    return reverse(f"admin:auth_user_{view}", args=[user.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def author(officer):
    """An officer whose name is on the trail: lead and author of an incident."""
    make_incident(officer, lead=officer)
    return officer


def test_the_delete_button_leads_to_deactivation(admin_client, author):
    change_page = admin_client.get(user_url(author))
    assert user_url(author, "delete") in change_page.content.decode()

    page = admin_client.get(user_url(author, "delete"))

    assert page.status_code == 200
    text = page.content.decode()
    assert NEVER_DELETED in text
    assert f'value="Deactivate {author.username}"' in text


def test_deactivating_keeps_the_account_and_its_history(admin_client, admin_user, author):
    _, raw = issue_token(user=author, name="script", actor=admin_user)
    signed_in = Client()
    signed_in.force_login(author)

    response = admin_client.post(
        user_url(author, "delete"), {"change_reason": "Left the center on 30 November"}
    )

    assert response.status_code == 302
    assert response.url == user_url(author)
    assert messages_of(response) == [
        "officer is deactivated: they can no longer sign in or use their API tokens. "
        "The account and its history stay."
    ]
    author.refresh_from_db()
    assert not author.is_active
    record = author.history.order_by("-history_id").first()
    assert (record.is_active, record.history_user, record.history_change_reason) == (
        False,
        admin_user,
        "Left the center on 30 November",
    )
    assert user_for_token(raw) is None
    assert signed_in.get(reverse("admin:index")).status_code == 302  # to the login page
    again = admin_client.get(user_url(author, "delete"))
    assert "is already deactivated" in again.content.decode()


def test_bulk_deactivation_and_no_bulk_delete(admin_client, admin_user, author, auditor):
    listing = admin_client.get(USER_LIST)
    actions = dict(listing.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert actions["deactivate_selected"] == "Deactivate selected users"
    chosen = [str(pk) for pk in (author.pk, auditor.pk, admin_user.pk)]

    deleting = admin_client.post(
        USER_LIST, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    )
    assert deleting.status_code == 302
    assert admin_client.get(deleting.url).status_code == 200  # shows "No action selected."
    assert User.objects.filter(pk__in=chosen, is_active=True).count() == 3

    response = admin_client.post(
        USER_LIST, {"action": "deactivate_selected", "_selected_action": chosen}
    )

    assert response.status_code == 302
    assert set(User.objects.filter(is_active=False).values_list("username", flat=True)) == {
        "auditor",
        "officer",
    }
    assert messages_of(response) == [
        "admin: You cannot take this from your own account: ask another administrator.",
        "Deactivated 2 user(s): auditor, officer. "
        "They can no longer sign in or use their API tokens; their history stays.",
    ]


def test_an_administrator_cannot_deactivate_their_own_account(admin_client, admin_user):
    response = admin_client.post(user_url(admin_user, "delete"), {"change_reason": ""})

    assert response.status_code == 200
    assert messages_of(response) == [
        "admin: You cannot take this from your own account: ask another administrator."
    ]
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_an_unknown_user_redirects_with_a_message(admin_client):
    response = admin_client.get(reverse("admin:auth_user_delete", args=[999_999]))

    assert response.status_code == 302
    assert "with ID “999999” doesn\u2019t exist" in messages_of(response)[0]
