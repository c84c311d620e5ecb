from django.core.management.base import BaseCommand, CommandError

from opsapi.audit import signing
from opsapi.audit.checkpoints import CheckpointError, rotate_signing_key, signing_key
from opsapi.audit.management.commands.audit_keygen import public_lines


class Command(BaseCommand):
    help = (
        "Rotate the checkpoint signing key: make a new key, store its public key with a "
        "rotation statement signed by both the current key (AUDIT_SIGNING_KEY) and the new one, "
        "and print the new private key. Put it in AUDIT_SIGNING_KEY and restart; the old key "
        "then signs nothing more, and its checkpoints stay verifiable. See docs/audit.md §10."
    )

    def handle(self, *args, **options):
        key = signing_key()
        if key is None:
            raise CommandError("AUDIT_SIGNING_KEY is not set: there is no key to rotate from.")
        try:
            new = rotate_signing_key(key)
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        old = signing.key_id(key.public_key())
        self.stdout.write(f"# rotated from key {old}; set AUDIT_SIGNING_KEY to:")
        self.stdout.write(f"AUDIT_SIGNING_KEY={signing.private_key_text(new)}")
        self.stdout.write(public_lines(new.public_key()))
