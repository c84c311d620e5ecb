"""User accounts, roles and memberships; issuing, revoking and checking API tokens."""

import datetime
import hashlib
import hmac
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opsapi.accounts.access import (
    PARTNER_USER,
    ROLE_GROUPS,
    Forbidden,
    forget_roles,
    remember_roles,
    require_administrator,
    role_annotations,
)
from opsapi.accounts.models import ApiToken, PartnerMembership
from opsapi.audit.tracking import delete_with_history, save_with_history
from opsapi.errors import check_change_reason, field_error
from opsapi.services import apply_changes, locked

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
    token = (
        ApiToken.objects.select_related("user__partner_membership")
        .annotate(**role_annotations("user"))
        .filter(digest=digest)
        .first()
    )
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    # Its roles were read with it: the rest of the request asks no more.
    remember_roles(token.user, [name for name in ROLE_GROUPS if getattr(token, f"in_{name}")])
    return token.user


def find_user(username: str):
    """The user with ``username`` or None."""
    return get_user_model().objects.filter(username=username).first()


# --- user accounts, roles and memberships -----------------------------------------------------

# Account fields an administrator sets. Passwords are set by Django's own password forms.
USER_FIELDS = frozenset(
    {"username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"}
)

# Error codes.
MEMBERSHIP_REQUIRED = "membership_required"  # a partner user without a partner organisation
MEMBERSHIP_WITHOUT_ROLE = "membership_without_role"  # a partner for someone not a partner user
OWN_ACCESS = "own_access"  # an administrator removing their own access
UNKNOWN_ROLE = "invalid_choice"

# Leaves a user's membership as it is (None would end it).
KEEP = object()

# The flags an administrator may not take from their own account: nobody locks themselves out
# (or the center out of its last administrator) by mistake.
_OWN_ACCESS_FLAGS = ("is_active", "is_staff", "is_superuser")


def _check_membership(roles: set[str], partner) -> None:
    """A partner user belongs to exactly one partner organisation; nobody else belongs to one."""
    if PARTNER_USER in roles and partner is None:
        raise field_error(
            "partner",
            "A partner user belongs to a partner organisation: choose it.",
            MEMBERSHIP_REQUIRED,
        )
    if PARTNER_USER not in roles and partner is not None:
        raise field_error(
            "partner",
            "Only partner users belong to a partner organisation: "
            "give the partner user role or clear the partner.",
            MEMBERSHIP_WITHOUT_ROLE,
        )


def _check_roles(roles) -> set[str]:
    unknown = set(roles) - set(ROLE_GROUPS)
    if unknown:
        raise field_error(
            "roles",
            f"Unknown role: {', '.join(sorted(unknown))}. Roles are {', '.join(ROLE_GROUPS)}.",
            UNKNOWN_ROLE,
        )
    return set(roles)


def _check_username_free(username: str, pk=None) -> None:
    """Usernames differing only in case are the same person to a reader of the trail."""
    taken = get_user_model().objects.filter(username__iexact=username).exclude(pk=pk)
    if taken.exists():
        raise field_error("username", "A user with that username already exists.", "unique")


@transaction.atomic
def create_user(*, actor, username: str, password: str | None = None, reason="", **fields):
    """Open an account with no roles (give them with :func:`update_user`). ``password`` None
    creates an account that cannot log in with a password."""
    require_administrator(actor)
    reason = check_change_reason(reason)
    user = get_user_model()()
    apply_changes(user, {"username": username, **fields}, USER_FIELDS)
    _check_username_free(user.username)
    if password is None:
        user.set_unusable_password()
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.error_list}) from None
        user.set_password(password)
    user.full_clean()
    return save_with_history(user, actor=actor, reason=reason or "Account opened")


@transaction.atomic
def update_user(*, actor, user, roles=None, partner=KEEP, reason="", **changes):
    """Change an account: its fields (:data:`USER_FIELDS`), its ``roles`` (the complete new set
    of role names, None to keep them) and its partner organisation (``partner``; None ends the
    membership, :data:`KEEP` keeps it), all validated together.

    Writes one history record on the user (fields and roles together) and one on its
    membership, each only if it changed, with ``actor`` and ``reason``.
    """
    require_administrator(actor)
    reason = check_change_reason(reason)
    given = user
    user = locked(user)
    before = {flag: getattr(user, flag) for flag in _OWN_ACCESS_FLAGS}
    renamed = "username" in changes and changes["username"] != user.username
    changed = apply_changes(user, changes, USER_FIELDS)
    if renamed:
        _check_username_free(user.username, user.pk)
    if user.pk == actor.pk:
        for flag in _OWN_ACCESS_FLAGS:
            if before[flag] and not getattr(user, flag):
                raise field_error(
                    flag,
                    "You cannot take this from your own account: ask another administrator.",
                    OWN_ACCESS,
                )
    groups = list(user.groups.all())
    current_roles = {group.name for group in groups if group.name in ROLE_GROUPS}
    new_roles = current_roles if roles is None else _check_roles(roles)
    membership = PartnerMembership.objects.select_for_update().filter(user=user).first()
    current_partner = membership.partner if membership is not None else None
    new_partner = current_partner if partner is KEEP else partner
    _check_membership(new_roles, new_partner)

    links = None
    if new_roles != current_roles:
        others = [group for group in groups if group.name not in ROLE_GROUPS]
        links = {"groups": [*others, *Group.objects.filter(name__in=new_roles)]}
    if changed or links:
        user.full_clean(exclude=["password"])
        save_with_history(user, actor=actor, reason=reason, links=links)

    if membership is None and new_partner is not None:
        membership = PartnerMembership(user=user, partner=new_partner)
        membership.full_clean()
        save_with_history(membership, actor=actor, reason=reason)
    elif membership is not None and new_partner is None:
        delete_with_history(membership, actor=actor, reason=reason)
    elif membership is not None and new_partner != current_partner:
        membership.partner = new_partner
        membership.full_clean()
        save_with_history(membership, actor=actor, reason=reason)

    forget_roles(given)
    return user
