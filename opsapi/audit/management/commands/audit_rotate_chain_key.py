import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from opsapi.audit.chain import current_key_id
from opsapi.audit.models import AuditChainKeyRotation


class Command(BaseCommand):
    help = (
        "Rotate the history chain key (AUDIT_CHAIN_KEY, the HMAC key sealing every history "
        "record and access-log entry): make a new key, record the handover in the database "
        "sealed under the current key and the new one, and print the two settings to set on "
        "every host (the new AUDIT_CHAIN_KEY, and AUDIT_CHAIN_RETIRED_KEYS with the current key "
        "added) with the procedure. The output holds secret keys: do not log it. To rotate the "
        "checkpoint signing key (Ed25519) use audit_rotate_key. See docs/audit.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--again",
            action="store_true",
            help="Rotate even though a rotation recorded earlier was never applied (its key "
            "was lost): that key has sealed nothing and is given up.",
        )

    def handle(self, *args, again, **options):
        current = current_key_id()
        newest = AuditChainKeyRotation.objects.order_by("-pk").first()
        if newest is not None and newest.new_key_id != current and not again:
            raise CommandError(
                f"A rotation from key {newest.old_key_id} to key {newest.new_key_id} was "
                f"recorded at {newest.at:%Y-%m-%d %H:%M:%S %Z}, but AUDIT_CHAIN_KEY is key "
                f"{current}: apply that rotation first (set the keys it printed and restart), or "
                "pass --again if its key was lost."
            )
        new_key = secrets.token_urlsafe(48)
        rotation = AuditChainKeyRotation.record(new_key=new_key)
        retired = [*settings.AUDIT_CHAIN_RETIRED_KEYS, settings.AUDIT_CHAIN_KEY]
        old, new = rotation.old_key_id, rotation.new_key_id
        self.stdout.write(
            "\n".join(
                [
                    f"# Chain key rotation from key {old} to key {new}, recorded at "
                    f"{rotation.at:%Y-%m-%d %H:%M:%S %Z}.",
                    "# 1. Put these two settings in the secret store, replacing the old ones:",
                    f"AUDIT_CHAIN_KEY={new_key}",
                    f"AUDIT_CHAIN_RETIRED_KEYS={','.join(retired)}",
                    "# 2. Set them on every host that runs the application, a worker or a cron "
                    "job, and restart them all.",
                    f"#    Until it restarts, a process seals under key {old}; records verify "
                    "under either key.",
                    f"# 3. Run `manage.py check --deploy` (it warns while a process still has "
                    f"key {old} current, or a key is missing), then `manage.py verify_audit`.",
                    "# 4. Take a checkpoint (`manage.py checkpoint_audit`) and keep its line as "
                    "always.",
                    f"# Keep key {old} secret, and in AUDIT_CHAIN_RETIRED_KEYS for as long as "
                    "the trail is kept: the records it sealed verify only with it.",
                ]
            )
        )
