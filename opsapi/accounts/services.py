"""Issuing, revoking and checking API tokens."""

import datetime
import hashlib
import hmac
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from opsapi.accounts.access import Forbidden
from opsapi.accounts.models import ApiToken
from opsapi.audit.tracking import save_with_history
from opsapi.errors import check_change_reason
from opsapi.services import locked

TOKEN_PREFIX = "ops_"


def _digest(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def _require_token_manager(actor, user) -> None:
    """Tokens are managed by the user they act as, or by an administrator."""
    if actor is None or not actor.is_active or not (actor.pk == user.pk or actor.is_superuser):
        raise Forbidden("Only the user or an administrator can manage the user's API tokens.")


@transaction.atomic
def issue_token(*, user, name: str, actor, expires_in_days: int | None = None, reason: str = ""):
    """Create a token for ``user``; returns ``(token, raw)``. ``raw`` is never stored."""
    _require_token_manager(actor, user)
    reason = check_change_reason(reason)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, prefix=raw[:12], digest=_digest(raw))
    if expires_in_days is not None:
        token.expires_at = timezone.now() + datetime.timedelta(days=expires_in_days)
    token.full_clean()
    save_with_history(token, actor=actor, reason=reason or f"API token issued: {name}")
    return token, raw


@transaction.atomic
def revoke_token(*, token: ApiToken, actor, reason: str = "") -> ApiToken:
    """Revoke ``token`` (idempotent)."""
    _require_token_manager(actor, token.user)
    reason = check_change_reason(reason)
    token = locked(token)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        save_with_history(token, actor=actor, reason=reason or "API token revoked")
    return token


def user_for_token(raw: str):
    """The active user a usable token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    digest = _digest(raw)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    return token.user


def find_user(username: str):
    """The user with ``username`` or None."""
    return get_user_model().objects.filter(username=username).first()
