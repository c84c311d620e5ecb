"""The demo watch officers, whose accounts also mark a database as seeded."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from coordination.demo.errors import DemoDataError
from opsapi.accounts.access import OPS_OFFICER

OFFICERS = (
    ("demo.officer1", "Morgan", "Hale"),
    ("demo.officer2", "Jordan", "Castillo"),
    ("demo.officer3", "Riley", "Okafor"),
    ("demo.officer4", "Casey", "Nguyen"),
    ("demo.officer5", "Avery", "Lambert"),
    ("demo.officer6", "Quinn", "Delgado"),
)
OFFICER_EMAIL_DOMAIN = "opscenter.example.org"


def create_officers() -> list:
    """The demo watch officers: operations officers nobody can log in to (no usable password)."""
    users = get_user_model().objects
    usernames = [username for username, _, _ in OFFICERS]
    existing = users.filter(username__in=usernames).order_by("username").first()
    if existing is not None:
        raise DemoDataError(
            f"Demo data is already present (user {existing.username} exists); seed_demo adds it "
            "only once. To seed again, start from an empty database."
        )
    officers = [
        users.create_user(
            username=username,
            email=f"{username}@{OFFICER_EMAIL_DOMAIN}",
            password=None,
            first_name=first,
            last_name=last,
            is_staff=True,
        )
        for username, first, last in OFFICERS
    ]
    role = Group.objects.get(name=OPS_OFFICER)
    for officer in officers:
        officer.groups.add(role)
    return officers
