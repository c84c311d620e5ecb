import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from opsapi.accounts.access import OPS_OFFICER


class Command(BaseCommand):
    help = (
        "Create the first administrator if there is none. The username and password come from "
        "OPSAPI_ADMIN_USERNAME / OPSAPI_ADMIN_PASSWORD, or a random password is generated and "
        "printed once. The first administrator is also an operations officer, so that the "
        "API shows it the operational data from the start."
    )

    def handle(self, *args, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("An administrator already exists; nothing to do.")
            return
        username = os.environ.get("OPSAPI_ADMIN_USERNAME", "admin")
        password = os.environ.get("OPSAPI_ADMIN_PASSWORD") or secrets.token_urlsafe(18)
        admin = users.create_superuser(username=username, email="", password=password)
        admin.groups.add(Group.objects.get(name=OPS_OFFICER))
        self.stdout.write(self.style.SUCCESS("Created the administrator account:"))
        self.stdout.write(f"  username: {username}")
        if "OPSAPI_ADMIN_PASSWORD" in os.environ:
            self.stdout.write("  password: (from OPSAPI_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"  password: {password}   <- shown only this once")
