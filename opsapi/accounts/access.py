"""Who may read and write through the API.

For now every active staff user may read and write everything; per-role and per-partner
rules plug in here and in each model's ``visible_to``.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied


class Forbidden(PermissionDenied):
    """The caller is authenticated but may not do this."""

    code = "forbidden"


def can_use_api(user) -> bool:
    """May ``user`` read through the API at all."""
    return bool(user is not None and user.is_active and user.is_staff)


def require_writer(user) -> None:
    """Raise :class:`Forbidden` unless ``user`` may change operational data."""
    if not can_use_api(user):
        raise Forbidden("You do not have permission to change operational data.")


def visible_users(user):
    """The user accounts ``user`` may see (public fields only are ever exposed)."""
    users = get_user_model().objects.all()
    return users if can_use_api(user) else users.none()
