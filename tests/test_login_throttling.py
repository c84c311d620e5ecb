"""Guessing credentials: password logins lock out after repeated failures (django-axes), and an
API token is checked without the secret ever reaching the database."""

import datetime
import hashlib

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opsapi.accounts.services import issue_token, user_for_token
from tests.graphql import GraphQLClient

PASSWORD = "correct horse battery staple"
LOGIN_PAGES = ["/login/", "/admin/login/"]


@pytest.fixture
def staff_member(officer):
    """The officer (staff, so the admin login accepts them) with a known password."""
    officer.set_password(PASSWORD)
    officer.save()
    return officer


def log_in(page: str, username: str, password: str, *, address="192.0.2.10"):
    return Client(REMOTE_ADDR=address).post(
        page, {"username": username, "password": password, "next": "/"}
    )


def logged_in(response) -> bool:
    return response.status_code == 302


def fail(page: str, username: str, times: int, **kwargs):
    return [log_in(page, username, "wrong password", **kwargs) for _ in range(times)]


def assert_locked_out(response):
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert b"Account locked" in response.content
    assert b"locked after 5 failed logins" in response.content
    assert b"Try again in 15 minutes" in response.content


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(staff_member, page):
    attempts = fail(page, "officer", 5)

    # Four failures are told as failures (the form again); the fifth locks the account.
    assert [r.status_code for r in attempts[:4]] == [200] * 4
    assert_locked_out(attempts[4])
    assert_locked_out(log_in(page, "officer", PASSWORD))


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_success_before_the_limit_starts_the_count_again(staff_member, page):
    fail(page, "officer", 4)
    assert logged_in(log_in(page, "officer", PASSWORD))
    fail(page, "officer", 4)
    assert logged_in(log_in(page, "officer", PASSWORD))


def test_the_lockout_is_for_that_username_from_that_address(staff_member, auditor):
    """So a stranger's guessing does not lock a colleague out of their own desk."""
    auditor.set_password(PASSWORD)
    auditor.save()
    fail("/login/", "officer", 5)
    assert logged_in(log_in("/login/", "officer", PASSWORD, address="198.51.100.7"))
    assert logged_in(log_in("/login/", "auditor", PASSWORD))


def test_the_lock_lifts_after_the_cool_off(staff_member):
    fail("/login/", "officer", 5)
    assert_locked_out(log_in("/login/", "officer", PASSWORD))
    # Sixteen minutes pass (AccessAttempt is django-axes' bookkeeping, not a tracked model).
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    )
    assert logged_in(log_in("/login/", "officer", PASSWORD))


def test_an_administrator_unlocks_with_the_reset_command(staff_member):
    fail("/admin/login/", "officer", 5)
    assert_locked_out(log_in("/admin/login/", "officer", PASSWORD))

    call_command("axes_reset_username", "officer", verbosity=0)

    assert logged_in(log_in("/admin/login/", "officer", PASSWORD))


def test_an_administrator_unlocks_in_the_admin(staff_member, administrator):
    fail("/login/", "officer", 5)
    [attempt] = AccessAttempt.objects.filter(username="officer")
    admin = Client()
    admin.force_login(administrator)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert b"officer" in listing.content

    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    assert logged_in(log_in("/login/", "officer", PASSWORD))


def test_the_api_stays_token_based_for_a_locked_out_user(staff_member):
    _, raw = issue_token(user=staff_member, name="Mobile", actor=staff_member)
    fail("/login/", "officer", 5)
    assert GraphQLClient.with_token(raw).data("{ me { username } }") == {
        "me": {"username": "officer"}
    }


def test_a_token_check_sends_only_the_digest_to_the_database(officer):
    """The lookup compares SHA-256 digests, so its timing says nothing about the secret."""
    _, raw = issue_token(user=officer, name="Laptop", actor=officer)
    with CaptureQueriesContext(connection) as queries:
        assert user_for_token(raw) == officer
        assert user_for_token(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert hashlib.sha256(raw.encode()).hexdigest() in sql
    assert raw not in sql
    assert raw[12:] not in sql  # not even the secret part past the displayed prefix
