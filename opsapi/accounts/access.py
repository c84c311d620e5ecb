"""Who may see and do what: roles, and the permission checks the services call.

Roles are Django groups (created by a data migration) plus the administrator flag:

- ``ops_officer``: reads everything; creates and changes incidents, timeline entries, shares
  and actions; manages partners and contacts.
- ``partner_user``: belongs to one partner organisation (a :class:`PartnerMembership`); sees
  only what is shared with it, within TLP; acknowledges and answers its organisation's actions
  and posts partner-visible updates on incidents it can see.
- ``auditor``: reads everything, including all history; writes nothing.
- administrators (superusers): the Django admin, partner management, memberships and roles.

The matrix is written out in docs/access.md. Which *rows* a role sees is decided by each
model's ``visibility(user)``; this module answers *whether* a user may do an operation.
"""

import dataclasses

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q

OPS_OFFICER = "ops_officer"
PARTNER_USER = "partner_user"
AUDITOR = "auditor"
ROLE_GROUPS = (OPS_OFFICER, PARTNER_USER, AUDITOR)


class Forbidden(PermissionDenied):
    """The caller is authenticated but may not do this."""

    code = "forbidden"


@dataclasses.dataclass(frozen=True)
class Roles:
    """What one user is, as far as access goes."""

    officer: bool = False
    auditor: bool = False
    administrator: bool = False
    partner_id: int | None = None  # set for partner users with a membership

    @property
    def reads_everything(self) -> bool:
        """Officers and auditors see every operational row and all history."""
        return self.officer or self.auditor

    @property
    def any(self) -> bool:
        """Has any role at all (people without one see nothing)."""
        return self.reads_everything or self.administrator or self.partner_id is not None


NO_ROLES = Roles()


def roles_of(user) -> Roles:
    """The roles of ``user``, computed once per user object (i.e. once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_ROLES
    cached = getattr(user, "_opsapi_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user, groups) -> Roles:
    """The roles of ``user``, a member of the groups named ``groups``, kept on it as
    :func:`roles_of` keeps them: for a user read with its groups (:func:`role_annotations`)
    and its partner membership, whose roles then cost no query of their own."""
    groups = set(groups)
    partner_id = None
    if PARTNER_USER in groups:
        membership = getattr(user, "partner_membership", None)
        partner_id = membership.partner_id if membership is not None else None
    user._opsapi_roles = Roles(
        officer=OPS_OFFICER in groups,
        auditor=AUDITOR in groups,
        administrator=user.is_superuser,
        partner_id=partner_id,
    )
    return user._opsapi_roles


def role_annotations(user: str) -> dict:
    """Annotations of a queryset whose rows name a user in the field ``user``: for each role
    group, ``in_<group>``, whether that user belongs to it (see :func:`remember_roles`)."""
    from django.contrib.auth.models import Group

    return {
        f"in_{name}": Exists(Group.objects.filter(user=OuterRef(user), name=name))
        for name in ROLE_GROUPS
    }


def forget_roles(user) -> None:
    """Drop the cached roles of ``user`` (after its groups or membership changed)."""
    user.__dict__.pop("_opsapi_roles", None)


def _refuse(message: str):
    raise Forbidden(message)


def require_officer(user) -> None:
    """Incidents, timelines, sharing and actions are managed by operations officers."""
    if not roles_of(user).officer:
        _refuse("Only operations officers may do this.")


def require_partner_manager(user) -> None:
    """Partners and contacts are managed by operations officers and administrators."""
    roles = roles_of(user)
    if not (roles.officer or roles.administrator):
        _refuse("Only operations officers and administrators may manage partners.")


def require_administrator(user) -> None:
    """Memberships, roles and reference data are managed by administrators."""
    if not roles_of(user).administrator:
        _refuse("Only administrators may do this.")


def require_responder(user, action) -> None:
    """An action is acknowledged and answered by its partner's users (or an officer taking
    the partner's answer on its behalf, e.g. by phone)."""
    roles = roles_of(user)
    if not (
        roles.officer or (roles.partner_id is not None and roles.partner_id == action.partner_id)
    ):
        _refuse("Only the partner the action is addressed to may answer it.")


def can_read_history(user) -> bool:
    """History (and the audit log) is read by officers and auditors; administrators read the
    history of what they manage in the admin."""
    roles = roles_of(user)
    return roles.reads_everything or roles.administrator


def user_visibility(user) -> Q:
    """The user accounts ``user`` may see (public fields only are ever exposed), as a filter:
    everyone for officers, auditors and administrators; a partner user sees the center's
    officers and the people of its own organisation."""
    roles = roles_of(user)
    if roles.reads_everything or roles.administrator:
        return Q()
    if roles.partner_id is not None:
        officers = get_user_model().groups.through.objects.filter(
            user_id=OuterRef("pk"), group__name=OPS_OFFICER
        )
        return Q(Exists(officers)) | Q(partner_membership__partner_id=roles.partner_id)
    return Q(pk__in=[])


def visible_users(user):
    """The user accounts ``user`` may see."""
    return get_user_model().objects.filter(user_visibility(user))


def rows_visible_to(model, user):
    """The rows of any tracked model (users included) that ``user`` may see."""
    if model is get_user_model():
        return visible_users(user)
    return model._default_manager.filter(model.visibility(user))
