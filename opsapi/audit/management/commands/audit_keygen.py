from django.core.management.base import BaseCommand, CommandError

from opsapi.audit import signing
from opsapi.audit.checkpoints import signing_key


class Command(BaseCommand):
    help = (
        "Print a new Ed25519 key pair for signing audit checkpoints: the private key for "
        "AUDIT_SIGNING_KEY (keep it secret, outside the database) and the public key with its "
        "id (give it to the auditors). With --current, the public key of AUDIT_SIGNING_KEY. "
        "To change the key of a running system use audit_rotate_key. See docs/audit.md §10."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--current", action="store_true", help="The public half of AUDIT_SIGNING_KEY only."
        )

    def handle(self, *args, current, **options):
        if current:
            key = signing_key()
            if key is None:
                raise CommandError("AUDIT_SIGNING_KEY is not set.")
            self.stdout.write(public_lines(key.public_key()))
            return
        key = signing.generate_private_key()
        self.stdout.write(f"AUDIT_SIGNING_KEY={signing.private_key_text(key)}")
        self.stdout.write(public_lines(key.public_key()))


def public_lines(public) -> str:
    return (
        f"# key id {signing.key_id(public)}; public key (for verify_export):\n"
        f"{signing.public_key_text(public)}"
    )
