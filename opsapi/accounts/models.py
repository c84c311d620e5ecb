"""API tokens: how API clients (partners' apps, integrations) authenticate."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsapi.accounts.access import roles_of
from opsapi.audit.tracking import NOTHING, TrackedModel, track_existing_model, tracked_history


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
    # The digest is in the records (so tampering shows) but never displayed.
    history_hidden_fields = ("digest",)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @classmethod
    def visibility(cls, user) -> Q:
        """Administrators see every token; others only their own."""
        if roles_of(user).administrator:
            return Q()
        return Q(user_id=user.pk) if user is not None and user.is_authenticated else NOTHING

    @property
    def is_usable(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class PartnerMembership(TrackedModel):
    """A partner user's organisation: the one partner whose shared incidents and actions the
    user sees and answers. Managed by administrators."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner_membership",
        help_text="The partner user.",
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text="The organisation the user belongs to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = tracked_history()

    class Meta:
        ordering = ["partner", "user"]

    def __str__(self):
        return f"{self.user} at {self.partner}"

    @classmethod
    def visibility(cls, user) -> Q:
        roles = roles_of(user)
        return Q() if roles.administrator or roles.reads_everything else NOTHING


# Role changes are on the record too: who became an officer, an auditor or an administrator,
# and when. Password hashes and login times are not history.
track_existing_model(
    get_user_model(),
    app_config_name="opsapi.accounts",
    app_label="accounts",
    m2m_fields=["groups"],
    excluded_fields=["password", "last_login"],
)
