"""API tokens: how API clients (partners' apps, integrations) authenticate."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsapi.audit.tracking import TrackedModel, tracked_history


class ApiToken(TrackedModel):
    """A bearer token acting as one user; only its SHA-256 digest is stored. Expires, revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The user the token acts as.",
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'Mobile app'.")
    prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters of the token, to recognise it."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this time the token no longer works."
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the token was revoked."
    )

    history = tracked_history()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_usable(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )
