"""Deployment checks of the audit trail (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def chain_key_is_set(app_configs, **kwargs):
    """Without its own AUDIT_CHAIN_KEY the chain key follows SECRET_KEY, and rotating the secret
    key would make every earlier record fail verification."""
    if not settings.AUDIT_CHAIN_KEY_FROM_SECRET_KEY:
        return []
    return [
        checks.Warning(
            "AUDIT_CHAIN_KEY is not set: the history chain key is derived from SECRET_KEY, so "
            "rotating SECRET_KEY would make every earlier history record fail verify_audit.",
            hint="Set AUDIT_CHAIN_KEY to a random value kept outside the database, and keep it.",
            id="audit.W001",
        )
    ]
