"""Incidents, their timeline and the coordination actions the center asks of partners."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from coordination.choices import (
    OPEN_ACTION_STATUSES,
    SEVERITY_RANK,
    ActionKind,
    ActionPriority,
    ActionStatus,
    AttemptOutcome,
    IncidentCategory,
    IncidentStatus,
    NotificationAudience,
    NotificationState,
    Severity,
    Tlp,
    UpdateKind,
)
from opsapi.accounts.access import roles_of
from opsapi.audit.tracking import NOTHING, TrackedModel, TrackedQuerySet, tracked_history
from partners.models import Partner, Sector, State, UrbanArea

LONG_TEXT = 20_000


class ReferenceCounter(models.Model):
    """Last incident reference number issued in a year (row-locked while one is issued)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class IncidentQuerySet(TrackedQuerySet):
    def with_severity_rank(self):
        """Annotate ``severity_rank`` (4 = critical ... 1 = low) for ordering."""
        return self.annotate(
            severity_rank=Case(
                *(When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()),
                default=Value(0),
                output_field=models.PositiveSmallIntegerField(),
            )
        )


class Incident(TrackedModel):
    """Something the center watches and coordinates a response to."""

    reference = models.CharField(
        max_length=20,
        unique=True,
        editable=False,
        help_text="Reference number, OPS-<year>-<6 digits>, issued when the incident is created.",
    )
    title = models.CharField(max_length=200, help_text="Short headline.")
    summary = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(LONG_TEXT)],
        help_text="What is known, in a few paragraphs.",
    )
    category = models.CharField(
        max_length=32, choices=IncidentCategory.choices, help_text="Kind of incident."
    )
    severity = models.CharField(
        max_length=16, choices=Severity.choices, help_text="Assessed severity."
    )
    status = models.CharField(
        max_length=16,
        choices=IncidentStatus.choices,
        default=IncidentStatus.REPORTED,
        help_text="Where the incident stands; changed only through allowed transitions.",
    )
    tlp = models.CharField(
        max_length=16,
        choices=Tlp.choices,
        default=Tlp.AMBER,
        help_text="Traffic Light Protocol marking: how far the information may be shared.",
    )
    occurred_at = models.DateTimeField(
        null=True, blank=True, help_text="When it happened, if known."
    )
    reported_at = models.DateTimeField(
        default=timezone.now, help_text="When the center received the first report."
    )
    activated_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last became active."
    )
    monitoring_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last went to monitoring."
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was resolved (cleared on reopening)."
    )
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was closed.")
    states = models.ManyToManyField(
        State, blank=True, related_name="incidents", help_text="States affected."
    )
    urban_areas = models.ManyToManyField(
        UrbanArea, blank=True, related_name="incidents", help_text="Urban areas affected."
    )
    sectors = models.ManyToManyField(
        Sector,
        blank=True,
        related_name="incidents",
        help_text="Critical-infrastructure sectors affected.",
    )
    latitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
        help_text="Latitude of the point location (WGS 84), if any.",
    )
    longitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
        help_text="Longitude of the point location (WGS 84), if any.",
    )
    source = models.CharField(max_length=200, blank=True, help_text="Where the report came from.")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_incidents",
        help_text="Officer leading the center's coordination.",
    )
    shared_with = models.ManyToManyField(
        Partner,
        blank=True,
        related_name="shared_incidents",
        help_text="Partner organisations the incident is shared with.",
    )
    shared_with_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="named_incidents",
        help_text="Individual partner users named on the incident: the only ones who may see "
        "it when it is marked TLP:RED.",
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Increases with every change; send it back when updating."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history(
        m2m_fields=["states", "urban_areas", "sectors", "shared_with", "shared_with_users"]
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["-reported_at", "-id"], name="incident_reported_idx"),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @classmethod
    def visibility(cls, user) -> Q:
        return incident_visibility(user)

    def clean(self):
        if (self.latitude is None) != (self.longitude is None):
            field = "longitude" if self.longitude is None else "latitude"
            raise ValidationError(
                {field: ValidationError("Give both latitude and longitude.", code="required")}
            )


class IncidentUpdate(TrackedModel):
    """An entry in an incident's timeline: a note, a situation report, a status change."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", help_text="The incident."
    )
    kind = models.CharField(
        max_length=32,
        choices=UpdateKind.choices,
        default=UpdateKind.NOTE,
        help_text="Kind of entry.",
    )
    body = models.TextField(validators=[MaxLengthValidator(LONG_TEXT)], help_text="The text.")
    partner_visible = models.BooleanField(
        default=False,
        help_text="Shown to partners the incident is shared with (otherwise internal).",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incident_updates",
        help_text="Who wrote it.",
    )
    posted_at = models.DateTimeField(default=timezone.now, help_text="When it was posted.")

    history = tracked_history()

    class Meta:
        ordering = ["-posted_at", "-id"]
        indexes = [models.Index(fields=["incident", "-posted_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.incident_id} at {self.posted_at:%Y-%m-%d %H:%M}"

    @classmethod
    def visibility(cls, user) -> Q:
        """Partner users see the partner-visible entries of incidents they can see."""
        roles = roles_of(user)
        if roles.reads_everything:
            return Q()
        if roles.partner_id is not None:
            return Q(partner_visible=True) & incident_visibility(user, via="incident")
        return NOTHING


class CoordinationActionQuerySet(TrackedQuerySet):
    def overdue(self, now=None):
        """Open actions whose due time has passed."""
        return self.filter(status__in=OPEN_ACTION_STATUSES, due_at__lt=now or timezone.now())


class CoordinationAction(TrackedModel):
    """A request from the center to one partner about one incident."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="actions",
        help_text="Incident the action is about.",
    )
    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        related_name="actions",
        help_text="Partner organisation asked to act.",
    )
    kind = models.CharField(max_length=32, choices=ActionKind.choices, help_text="What is asked.")
    instructions = models.TextField(
        validators=[MaxLengthValidator(LONG_TEXT)], help_text="What the partner should do."
    )
    priority = models.CharField(
        max_length=16,
        choices=ActionPriority.choices,
        default=ActionPriority.ROUTINE,
        help_text="How urgent it is.",
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the partner should have acted."
    )
    status = models.CharField(
        max_length=16,
        choices=ActionStatus.choices,
        default=ActionStatus.PENDING,
        help_text="Where the action stands.",
    )
    acknowledged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the partner acknowledged it."
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="acknowledged_actions",
        help_text="Who acknowledged it.",
    )
    response = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(LONG_TEXT)],
        help_text="The partner's latest response.",
    )
    responded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the partner last responded."
    )
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responded_actions",
        help_text="Who gave the latest response.",
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was completed, declined or cancelled."
    )
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was escalated as overdue: still unacknowledged after its due time, "
        "with the partner's 24/7 contact and the incident lead notified.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="created_actions",
        help_text="Officer who issued the action.",
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Increases with every change; send it back when updating."
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, help_text="When the center issued the action."
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()
    history_added_fields = frozenset({"escalated_at"})  # migration 0002

    objects = CoordinationActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["partner", "status"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.partner} ({self.get_status_display()})"

    @classmethod
    def visibility(cls, user) -> Q:
        """Partner users see their own organisation's actions, on incidents they can see."""
        roles = roles_of(user)
        if roles.reads_everything:
            return Q()
        if roles.partner_id is not None:
            return Q(partner_id=roles.partner_id) & incident_visibility(user, via="incident")
        return NOTHING

    @property
    def is_overdue(self) -> bool:
        """Still open after its due time."""
        return (
            self.status in OPEN_ACTION_STATUSES
            and self.due_at is not None
            and self.due_at < timezone.now()
        )


def incident_visibility(user, via: str = "") -> Q:
    """The incidents ``user`` may see, as a filter on incidents (``via=""``) or on rows that
    point to one (``via="incident"``).

    Officers and auditors see every incident. A partner user sees an incident shared with its
    organisation — explicitly, or through a coordination action addressed to it — marked
    CLEAR, GREEN, AMBER or AMBER+STRICT; an incident marked RED only if the user is named on
    it. Everyone else sees none.
    """
    roles = roles_of(user)
    if roles.reads_everything:
        return Q()
    if roles.partner_id is None:
        return NOTHING
    incident = OuterRef(f"{via}_id" if via else "pk")
    tlp = f"{via}__tlp" if via else "tlp"
    shared = Exists(
        Incident.shared_with.through.objects.filter(
            incident_id=incident, partner_id=roles.partner_id
        )
    )
    asked = Exists(
        CoordinationAction.objects.filter(incident_id=incident, partner_id=roles.partner_id)
    )
    named = Exists(
        Incident.shared_with_users.through.objects.filter(incident_id=incident, user_id=user.pk)
    )
    return (~Q(**{tlp: Tlp.RED}) & (shared | asked)) | (Q(**{tlp: Tlp.RED}) & named)


# --- the escalation outbox ------------------------------------------------------------------


class Notification(models.Model):
    """An escalation e-mail in the outbox: written in the escalation's own transaction, so the
    escalation and the e-mail telling someone about it are saved, or rolled back, together;
    sent afterwards by :func:`coordination.outbox.deliver_pending`, retried with back-off.

    Not history-tracked, on purpose. What the center decided and whom it was to tell is on
    the tamper-evident record already: the action's ``escalated_at`` and the timeline entry
    naming every recipient are tracked, in the same transaction as this row. A notification is
    the mail queue's working state (``state``, ``attempts``, ``next_attempt_at`` change on
    every retry during a mail-server outage); tracking it would chain one history record per
    retry of a row whose every attempt is kept anyway, append-only, as a
    :class:`NotificationAttempt`. Notifications are never deleted (the action protects them).
    """

    action = models.ForeignKey(
        CoordinationAction,
        on_delete=models.PROTECT,
        related_name="notifications",
        help_text="The escalated action the e-mail is about.",
    )
    audience = models.CharField(
        max_length=16, choices=NotificationAudience.choices, help_text="Who the e-mail is for."
    )
    recipients = models.JSONField(help_text="The addresses it is sent to.")
    subject = models.TextField()
    body = models.TextField()
    created_at = models.DateTimeField(
        default=timezone.now, help_text="When the escalation wrote it."
    )
    state = models.CharField(
        max_length=16,
        choices=NotificationState.choices,
        default=NotificationState.PENDING,
        help_text="Pending until the mail server accepts it; failed once attempts run out.",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Delivery attempts made so far."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a pending e-mail is tried next."
    )
    last_error = models.TextField(blank=True, help_text="Why the latest attempt failed.")
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mail server accepted it."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx")]

    def __str__(self):
        return f"{self.get_audience_display()} e-mail for action {self.action_id} ({self.state})"


class NotificationAttempt(models.Model):
    """One try at handing a :class:`Notification` to the mail server: when, and what came of
    it. Append-only: written once, in the transaction that updates the notification, never
    changed (``save`` refuses to)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, related_name="delivery_attempts"
    )
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt, and so on.")
    at = models.DateTimeField(help_text="When it was tried.")
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True, help_text="What the mail server or connection said.")

    class Meta:
        ordering = ["notification", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "number"], name="notification_attempt_once"
            )
        ]

    def __str__(self):
        return f"attempt {self.number} at {self.at:%Y-%m-%d %H:%M}: {self.outcome}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Delivery attempts are append-only: record a new attempt.")
        super().save(*args, **kwargs)
