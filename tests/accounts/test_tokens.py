"""API tokens: random, stored hashed, shown once, expiring and revocable."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from opsapi.accounts.models import ApiToken
from opsapi.accounts.services import issue_token, revoke_token, user_for_token


def test_create_token_prints_the_token_once_and_stores_only_its_digest(officer):
    out, err = StringIO(), StringIO()
    call_command("create_token", "officer", "--expires-in-days", "30", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("ops_")
    assert len(raw) > 40
    assert "shown only once" in err.getvalue()
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.digest, token.prefix, token.name}
    assert token.prefix == raw[:12]
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    assert user_for_token(raw) == officer
    record = token.history.get()
    assert record.request_id.startswith("cmd:create_token:")


def test_create_token_for_an_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_token", "ghost")


def test_tokens_are_random(officer):
    _, first = issue_token(user=officer, name="a", actor=officer)
    _, second = issue_token(user=officer, name="b", actor=officer)
    assert first != second


def test_revoked_token_stops_working_and_the_revocation_is_on_record(officer):
    token, raw = issue_token(user=officer, name="Tablet", actor=officer)
    revoke_token(token=token, actor=officer, reason="Device lost")
    assert user_for_token(raw) is None
    record = token.history.first()
    assert record.history_change_reason == "Device lost"
    assert record.history_user == officer


def test_ensure_admin_creates_one_administrator_with_a_random_password(db, monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.delenv("OPSAPI_ADMIN_PASSWORD", raising=False)
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(is_superuser=True)
    assert admin.check_password(password)
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert "already exists" in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_takes_credentials_from_the_environment(db, monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("OPSAPI_ADMIN_USERNAME", "chief")
    monkeypatch.setenv("OPSAPI_ADMIN_PASSWORD", "correct horse battery staple")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "correct horse" not in out.getvalue()
    assert (
        get_user_model()
        .objects.get(username="chief")
        .check_password("correct horse battery staple")
    )


def test_only_the_user_or_an_administrator_manages_a_users_tokens(officer, make_user):
    from opsapi.accounts.access import Forbidden

    colleague = make_user("colleague", staff=True)
    with pytest.raises(Forbidden):
        issue_token(user=colleague, name="Not mine", actor=officer)
    token, _ = issue_token(user=colleague, name="Mine", actor=colleague)
    with pytest.raises(Forbidden):
        revoke_token(token=token, actor=officer)
    admin = make_user("chief", superuser=True)
    revoke_token(token=token, actor=admin, reason="Offboarding")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.count() == 1


def test_revoking_twice_changes_nothing(officer):
    token, _ = issue_token(user=officer, name="Phone", actor=officer)
    first = revoke_token(token=token, actor=officer).revoked_at
    assert revoke_token(token=token, actor=officer).revoked_at == first
    assert token.history.count() == 2
