"""Choice lists of the coordination app (values are stored; names are API enums)."""

from django.db import models


class IncidentCategory(models.TextChoices):
    TERRORISM = "terrorism", "Terrorism or targeted violence"
    NATURAL_HAZARD = "natural_hazard", "Natural hazard or disaster"
    INFRASTRUCTURE = "infrastructure", "Infrastructure failure"
    CYBER = "cyber", "Cyber event"
    PUBLIC_SAFETY = "public_safety", "Public-safety crisis"
    HAZMAT = "hazmat", "Hazardous materials"
    PUBLIC_HEALTH = "public_health", "Public health"
    CIVIL_UNREST = "civil_unrest", "Civil unrest"
    TRANSPORTATION = "transportation", "Transportation"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Most severe first; used to order incidents by severity.
SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MODERATE: 2, Severity.LOW: 1}


class IncidentStatus(models.TextChoices):
    REPORTED = "reported", "Reported"
    ACTIVE = "active", "Active"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Which status may follow which. Reopening is resolved -> active; closed is final.
INCIDENT_TRANSITIONS = {
    IncidentStatus.REPORTED: {
        IncidentStatus.ACTIVE,
        IncidentStatus.MONITORING,
        IncidentStatus.CLOSED,
    },
    IncidentStatus.ACTIVE: {IncidentStatus.MONITORING, IncidentStatus.RESOLVED},
    IncidentStatus.MONITORING: {IncidentStatus.ACTIVE, IncidentStatus.RESOLVED},
    IncidentStatus.RESOLVED: {IncidentStatus.ACTIVE, IncidentStatus.CLOSED},
    IncidentStatus.CLOSED: set(),
}

# The timestamp field recording when an incident last entered each status.
STATUS_TIMESTAMP_FIELDS = {
    IncidentStatus.REPORTED: "reported_at",
    IncidentStatus.ACTIVE: "activated_at",
    IncidentStatus.MONITORING: "monitoring_at",
    IncidentStatus.RESOLVED: "resolved_at",
    IncidentStatus.CLOSED: "closed_at",
}


class Tlp(models.TextChoices):
    """Traffic Light Protocol 2.0 markings (FIRST)."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


class UpdateKind(models.TextChoices):
    NOTE = "note", "Note"
    SITUATION_REPORT = "situation_report", "Situation report"
    STATUS_CHANGE = "status_change", "Status change"
    ESCALATION = "escalation", "Escalation"


class ActionKind(models.TextChoices):
    NOTIFICATION = "notification", "Notification"
    REQUEST_FOR_INFORMATION = "request_for_information", "Request for information"
    RESOURCE_REQUEST = "resource_request", "Resource request"
    DEPLOYMENT = "deployment", "Deployment"
    BRIEFING = "briefing", "Briefing"
    ADVISORY = "advisory", "Advisory"


class ActionPriority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    PRIORITY = "priority", "Priority"
    IMMEDIATE = "immediate", "Immediate"


class ActionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


# Statuses in which an action still asks something of the partner.
OPEN_ACTION_STATUSES = {ActionStatus.PENDING, ActionStatus.ACKNOWLEDGED, ActionStatus.IN_PROGRESS}


class ActionOutcome(models.TextChoices):
    """What a partner reports when it responds to an action."""

    IN_PROGRESS = "in_progress", "Work under way"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"


# The escalation outbox (coordination.models.Notification and its attempts).


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed for good"


class NotificationAudience(models.TextChoices):
    PARTNER = "partner", "Partner's 24/7 watch"
    LEAD = "lead", "Incident lead"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
