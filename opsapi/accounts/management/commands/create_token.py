from django.core.management.base import BaseCommand, CommandError

from opsapi.accounts.services import find_user, issue_token
from opsapi.audit.context import command_context


class Command(BaseCommand):
    help = "Create an API token for a user and print it once (only its digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Command-line token", help="What the token is for.")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Token lifetime (default: none)."
        )

    def handle(self, *args, username, name, expires_in_days, **options):
        user = find_user(username)
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        with command_context("create_token"):
            token, raw = issue_token(
                user=user, name=name, actor=user, expires_in_days=expires_in_days
            )
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "no expiry"
        )
        self.stderr.write(f"Token for {username} ({expiry}). It is shown only once:")
        self.stdout.write(raw)
