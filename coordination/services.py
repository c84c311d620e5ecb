"""Incidents, their timeline and coordination actions: every rule lives here.

Functions that stamp times take an optional ``now`` (default: the current time) so that
commands loading past events (demo data, imports) record when things happened; history
records always carry the real time of writing.

The GraphQL mutations, the admin and the management commands call these functions; each takes
keyword arguments only, checks the actor's permission, validates (raising ``ValidationError``
keyed by field with a stable code), and writes inside one transaction, one history record per
changed row. Changes to an incident or an action require the ``version`` the caller read.
"""

import dataclasses
import datetime
import logging

from django.db import transaction
from django.utils import timezone

from coordination import errors, outbox
from coordination.choices import (
    INCIDENT_TRANSITIONS,
    OPEN_ACTION_STATUSES,
    STATUS_TIMESTAMP_FIELDS,
    ActionOutcome,
    ActionPriority,
    ActionStatus,
    IncidentStatus,
    NotificationAudience,
    Tlp,
    UpdateKind,
)
from coordination.models import (
    CoordinationAction,
    Incident,
    IncidentUpdate,
    Notification,
    ReferenceCounter,
)
from opsapi.accounts.access import Forbidden, require_officer, require_responder, roles_of
from opsapi.audit.tracking import save_with_history
from opsapi.errors import (
    IN_FUTURE,
    IN_PAST,
    OUT_OF_RANGE,
    STALE_VERSION,
    check_change_reason,
    field_error,
)
from opsapi.services import apply_changes, locked, validate_changes

INCIDENT_FIELDS = frozenset(
    {
        "title",
        "summary",
        "category",
        "severity",
        "tlp",
        "occurred_at",
        "reported_at",
        "latitude",
        "longitude",
        "source",
        "lead",
    }
)
INCIDENT_LINKS = frozenset({"states", "urban_areas", "sectors"})
ACTION_FIELDS = frozenset({"kind", "instructions", "priority", "due_at"})

# Timeline entries only the service itself writes.
RESERVED_UPDATE_KINDS = frozenset({UpdateKind.STATUS_CHANGE, UpdateKind.ESCALATION})

EARLIEST_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
CLOCK_SKEW = datetime.timedelta(minutes=5)
LONGEST_DUE = datetime.timedelta(days=366)


# --- validation helpers -------------------------------------------------------------------


def _check_aware(field: str, value: datetime.datetime) -> None:
    if timezone.is_naive(value):
        raise field_error(
            field, "Give the time with its UTC offset, e.g. 2026-05-01T14:00:00Z.", "invalid"
        )


def _check_past_time(field: str, value, now) -> None:
    """A time something already happened: not in the future, not absurdly old."""
    if value is None:
        return
    _check_aware(field, value)
    if value > now + CLOCK_SKEW:
        raise field_error(field, "This time is in the future.", IN_FUTURE)
    if value < EARLIEST_TIME:
        raise field_error(field, "This time is before 1970.", OUT_OF_RANGE)


def _check_due_time(value, now) -> None:
    if value is None:
        return
    _check_aware("due_at", value)
    if value <= now:
        raise field_error("due_at", "The due time has already passed.", IN_PAST)
    if value > now + LONGEST_DUE:
        raise field_error("due_at", "The due time is more than a year away.", OUT_OF_RANGE)


def _check_lead(lead) -> None:
    if lead is not None and not (lead.is_active and lead.is_staff):
        raise field_error(
            "lead", "The lead must be an active officer of the center.", errors.INVALID_LEAD
        )


def _check_active_partners(field: str, partners) -> None:
    inactive = [p.name for p in partners if not p.active]
    if inactive:
        raise field_error(
            field, f"Inactive partner(s): {', '.join(inactive)}.", errors.INACTIVE_PARTNER
        )


def _check_version(obj, version: int) -> None:
    if version != obj.version:
        noun = obj._meta.verbose_name
        raise field_error(
            "version",
            f"This {noun} was changed by someone else since you read it "
            f"(version {version}, now {obj.version}); reload it and try again.",
            STALE_VERSION,
        )


def _changed_links(obj, links: dict) -> dict:
    """The entries of ``links`` that differ from what ``obj`` links to now."""
    return {
        name: related
        for name, related in links.items()
        if {r.pk for r in related} != set(getattr(obj, name).values_list("pk", flat=True))
    }


# --- incidents ----------------------------------------------------------------------------


def _next_reference(now) -> str:
    """Issue the next OPS-<year>-<number>. The counter row stays locked until commit, so two
    incidents created at the same moment can never get the same number."""
    year = timezone.localtime(now).year
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"OPS-{year}-{counter.last_number:06d}"


@transaction.atomic
def create_incident(
    *,
    actor,
    title,
    category,
    severity,
    states=(),
    urban_areas=(),
    sectors=(),
    shared_with=(),
    reason="",
    now=None,
    **fields,
) -> Incident:
    """Open a new incident with a fresh reference number."""
    require_officer(actor)
    reason = check_change_reason(reason)
    now = now or timezone.now()
    incident = Incident(category=category, severity=severity)
    if fields.get("reported_at") is None:
        fields["reported_at"] = now
    if fields.get("tlp") is None:
        fields["tlp"] = Tlp.AMBER
    apply_changes(incident, {"title": title, **fields}, INCIDENT_FIELDS)
    _check_past_time("occurred_at", incident.occurred_at, now)
    _check_past_time("reported_at", incident.reported_at, now)
    _check_lead(incident.lead)
    _check_active_partners("shared_with", shared_with)
    incident.full_clean(exclude=["reference"])
    incident.reference = _next_reference(now)
    return save_with_history(
        incident,
        actor=actor,
        reason=reason,
        links={
            "states": states,
            "urban_areas": urban_areas,
            "sectors": sectors,
            "shared_with": shared_with,
        },
    )


@transaction.atomic
def update_incident(*, actor, incident: Incident, version: int, reason="", **changes) -> Incident:
    """Change an incident's details (not its status or sharing, which have their own rules)."""
    require_officer(actor)
    reason = check_change_reason(reason)
    incident = locked(incident)
    _check_version(incident, version)
    links = _changed_links(incident, {k: changes.pop(k) for k in INCIDENT_LINKS & set(changes)})
    changed = apply_changes(incident, changes, INCIDENT_FIELDS)
    if not changed and not links:
        return incident
    now = timezone.now()
    if "occurred_at" in changes:
        _check_past_time("occurred_at", incident.occurred_at, now)
    if "reported_at" in changes:
        _check_past_time("reported_at", incident.reported_at, now)
    if "lead" in changes:
        _check_lead(incident.lead)
    validate_changes(incident, changed)
    incident.version += 1
    return save_with_history(incident, actor=actor, reason=reason, links=links or None)


@transaction.atomic
def change_incident_status(
    *, actor, incident: Incident, version: int, status: str, reason="", now=None
) -> Incident:
    """Move an incident to ``status`` if the transition is allowed, stamp the time it entered
    that status, and record the change on the incident's timeline."""
    require_officer(actor)
    reason = check_change_reason(reason)
    incident = locked(incident)
    _check_version(incident, version)
    previous = IncidentStatus(incident.status)
    target = IncidentStatus(status)
    if target not in INCIDENT_TRANSITIONS[previous]:
        allowed = ", ".join(sorted(s.label for s in INCIDENT_TRANSITIONS[previous])) or "none"
        raise field_error(
            "status",
            f"An incident cannot go from {previous.label} to {target.label} "
            f"(allowed from {previous.label}: {allowed}).",
            errors.INVALID_TRANSITION,
        )
    now = now or timezone.now()
    incident.status = target
    setattr(incident, STATUS_TIMESTAMP_FIELDS[target], now)
    if previous == IncidentStatus.RESOLVED and target == IncidentStatus.ACTIVE:
        incident.resolved_at = None  # reopened
    incident.version += 1
    save_with_history(incident, actor=actor, reason=reason)
    body = status_change_text(previous, target)
    if reason:
        body += f" Reason: {reason}"
    save_with_history(
        IncidentUpdate(
            incident=incident,
            kind=UpdateKind.STATUS_CHANGE,
            body=body,
            author=actor,
            posted_at=now,
        ),
        actor=actor,
        reason=reason,
    )
    return incident


def status_change_text(previous: IncidentStatus, target: IncidentStatus) -> str:
    """How the timeline entry of a status change opens (the daily brief counts changes by it)."""
    return f"Status changed from {previous.label} to {target.label}."


def _check_named_users(users) -> None:
    if any(not (user.is_active and roles_of(user).partner_id) for user in users):
        raise field_error(
            "users",
            "Only active partner users can be named on an incident.",
            errors.NOT_A_PARTNER_USER,
        )


@transaction.atomic
def share_incident(
    *, actor, incident: Incident, version: int, partners=(), users=(), reason=""
) -> Incident:
    """Share an incident with more partner organisations, and name more individual partner
    users on it (named users are the only partner users who see it when it is TLP:RED)."""
    require_officer(actor)
    reason = check_change_reason(reason)
    incident = locked(incident)
    _check_version(incident, version)
    _check_active_partners("partners", partners)
    _check_named_users(users)
    links = {}
    for name, added in (("shared_with", partners), ("shared_with_users", users)):
        current = list(getattr(incident, name).all())
        new = [obj for obj in added if obj not in current]
        if new:
            links[name] = current + new
    if not links:
        return incident
    incident.version += 1
    return save_with_history(incident, actor=actor, reason=reason, links=links)


@transaction.atomic
def unshare_incident(
    *, actor, incident: Incident, version: int, partners=(), users=(), reason=""
) -> Incident:
    """Stop sharing an incident with some partner organisations or named users."""
    require_officer(actor)
    reason = check_change_reason(reason)
    incident = locked(incident)
    _check_version(incident, version)
    links = {}
    for name, removed in (("shared_with", partners), ("shared_with_users", users)):
        current = list(getattr(incident, name).all())
        remaining = [obj for obj in current if obj not in removed]
        if len(remaining) != len(current):
            links[name] = remaining
    if not links:
        return incident
    incident.version += 1
    return save_with_history(incident, actor=actor, reason=reason, links=links)


@transaction.atomic
def add_incident_update(
    *,
    actor,
    incident: Incident,
    body: str,
    kind=UpdateKind.NOTE,
    partner_visible=False,
    reason="",
    now=None,
) -> IncidentUpdate:
    """Post an entry (note or situation report) on an incident's timeline.

    Officers post internal or partner-visible entries; a partner user posts on incidents it
    can see, and its entries are always partner-visible.
    """
    roles = roles_of(actor)
    if roles.partner_id is not None and not roles.officer:
        if not Incident.objects.visible_to(actor).filter(pk=incident.pk).exists():
            raise Forbidden("You cannot post on this incident.")
        partner_visible = True
    else:
        require_officer(actor)
    reason = check_change_reason(reason)
    if kind in RESERVED_UPDATE_KINDS:
        raise field_error(
            "kind",
            f"{UpdateKind(kind).label} entries are written by the center's own operations "
            "(status changes, overdue escalation), not posted.",
            errors.RESERVED_KIND,
        )
    update = IncidentUpdate(
        incident=incident,
        kind=kind,
        body=body.strip(),
        partner_visible=partner_visible,
        author=actor,
        posted_at=now or timezone.now(),
    )
    update.full_clean()
    return save_with_history(update, actor=actor, reason=reason)


# --- coordination actions -----------------------------------------------------------------


def _check_open(action: CoordinationAction) -> None:
    if action.status not in OPEN_ACTION_STATUSES:
        raise field_error(
            "status",
            f"This action is {action.get_status_display().lower()} and can no longer change.",
            errors.ACTION_CLOSED,
        )


@transaction.atomic
def create_action(
    *,
    actor,
    incident: Incident,
    partner,
    kind,
    instructions,
    priority=ActionPriority.ROUTINE,
    due_at=None,
    reason="",
    now=None,
) -> CoordinationAction:
    """Ask one partner to do something about one incident."""
    require_officer(actor)
    reason = check_change_reason(reason)
    if incident.status == IncidentStatus.CLOSED:
        raise field_error(
            "incident",
            "The incident is closed; no new actions can be issued.",
            errors.INCIDENT_CLOSED,
        )
    _check_active_partners("partner", [partner])
    now = now or timezone.now()
    _check_due_time(due_at, now)
    action = CoordinationAction(
        incident=incident,
        partner=partner,
        kind=kind,
        instructions=instructions.strip(),
        priority=priority or ActionPriority.ROUTINE,
        due_at=due_at,
        created_by=actor,
        created_at=now,
    )
    action.full_clean()
    return save_with_history(action, actor=actor, reason=reason)


@transaction.atomic
def update_action(
    *, actor, action: CoordinationAction, version: int, reason="", **changes
) -> CoordinationAction:
    """Change what an open action asks, its priority or its due time."""
    require_officer(actor)
    reason = check_change_reason(reason)
    action = locked(action)
    _check_version(action, version)
    _check_open(action)
    changed = apply_changes(action, changes, ACTION_FIELDS)
    if not changed:
        return action
    if "due_at" in changes:
        _check_due_time(action.due_at, timezone.now())
    validate_changes(action, changed)
    action.version += 1
    return save_with_history(action, actor=actor, reason=reason)


@transaction.atomic
def acknowledge_action(
    *, actor, action: CoordinationAction, version: int, reason="", now=None
) -> CoordinationAction:
    """The partner confirms it has received the request."""
    require_responder(actor, action)
    reason = check_change_reason(reason)
    action = locked(action)
    _check_version(action, version)
    if action.status != ActionStatus.PENDING:
        raise field_error(
            "status",
            f"Only a pending action can be acknowledged; this one is "
            f"{action.get_status_display().lower()}.",
            errors.INVALID_TRANSITION,
        )
    action.status = ActionStatus.ACKNOWLEDGED
    action.acknowledged_at = now or timezone.now()
    action.acknowledged_by = actor
    action.version += 1
    return save_with_history(action, actor=actor, reason=reason)


@transaction.atomic
def respond_to_action(
    *,
    actor,
    action: CoordinationAction,
    version: int,
    outcome,
    response: str,
    reason="",
    now=None,
) -> CoordinationAction:
    """The partner reports progress, completion or that it declines, with its response."""
    require_responder(actor, action)
    reason = check_change_reason(reason)
    action = locked(action)
    _check_version(action, version)
    _check_open(action)
    if not response.strip():
        raise field_error("response", "Say what was done or why not.", "required")
    now = now or timezone.now()
    outcome = ActionOutcome(outcome)
    action.response = response.strip()
    action.responded_at = now
    action.responded_by = actor
    if action.acknowledged_at is None and outcome != ActionOutcome.DECLINED:
        action.acknowledged_at, action.acknowledged_by = now, actor
    action.status = ActionStatus(outcome.value)
    if outcome != ActionOutcome.IN_PROGRESS:
        action.closed_at = now
    action.full_clean()
    action.version += 1
    return save_with_history(action, actor=actor, reason=reason)


@transaction.atomic
def cancel_action(
    *, actor, action: CoordinationAction, version: int, reason="", now=None
) -> CoordinationAction:
    """The center withdraws an open request."""
    require_officer(actor)
    reason = check_change_reason(reason)
    action = locked(action)
    _check_version(action, version)
    _check_open(action)
    action.status = ActionStatus.CANCELLED
    action.closed_at = now or timezone.now()
    action.version += 1
    return save_with_history(action, actor=actor, reason=reason)


# --- overdue escalation -------------------------------------------------------------------
#
# Run by the center itself (manage.py escalate_overdue, from cron or a timer), not by a user:
# no actor, no permission check; the history records carry no user and the run's request id.

escalation_logger = logging.getLogger("coordination.escalation")


@dataclasses.dataclass(frozen=True)
class Escalation:
    """One action escalated by a run: how late it was and whom the center emailed."""

    action: CoordinationAction
    late_by: datetime.timedelta
    partner_recipients: tuple[str, ...]
    lead_recipient: str | None


@dataclasses.dataclass
class EscalationRun:
    """What one run of :func:`escalate_overdue` did. ``failed`` holds the ids of actions whose
    escalation raised and was rolled back; they are tried again by the next run. ``delivery``
    is what the outbox sent afterwards (this run's e-mails and earlier ones due for retry)."""

    escalated: list[Escalation] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)
    delivery: outbox.Delivery = dataclasses.field(default_factory=outbox.Delivery)


def unacknowledged_past_due(now=None):
    """Actions still pending (never acknowledged) after their due time, most overdue first.

    Only silence is escalated: an acknowledged or in-progress action is late work the partner
    is already on, which the officer follows up, not a request nobody may have seen.
    """
    return CoordinationAction.objects.filter(
        status=ActionStatus.PENDING, due_at__lt=now or timezone.now()
    ).order_by("due_at", "pk")


def awaiting_escalation(now=None):
    """The unacknowledged past-due actions not escalated yet: what a run escalates."""
    return unacknowledged_past_due(now).filter(escalated_at__isnull=True)


def escalate_overdue(*, now=None) -> EscalationRun:
    """Escalate every action still unacknowledged after its due time, once.

    Each action is escalated in its own transaction: marked (``escalated_at``, a new
    ``version``), noted on the incident's internal timeline, and its e-mails to the partner's
    24/7 addresses and to the incident lead written to the outbox (:class:`Notification`), all
    committed or rolled back together. An action already escalated, acknowledged meanwhile, or
    locked by a concurrent run is left alone, so running this again (or twice at once)
    escalates and emails nothing twice. One action failing does not stop the others; it is
    logged and retried next run. Then the outbox delivers every due notification
    (:func:`coordination.outbox.deliver_pending`): a mail server that is down leaves them
    pending, retried with back-off by later runs, and undoes no escalation.
    """
    now = now or timezone.now()
    run = EscalationRun()
    for pk in list(awaiting_escalation(now).values_list("pk", flat=True)):
        try:
            escalation = _escalate_action(pk, now)
        except Exception:
            escalation_logger.exception(
                "Escalating coordination action %s failed; nothing of it was saved or sent, "
                "the next run tries again.",
                pk,
            )
            run.failed.append(pk)
            continue
        if escalation is not None:
            run.escalated.append(escalation)
    run.delivery = outbox.deliver_pending(now=now)
    return run


@transaction.atomic
def _escalate_action(pk: int, now) -> Escalation | None:
    # Lock the row and re-check the condition under the lock. SKIP LOCKED: a row another run
    # (or a partner acknowledging right now) holds is not waited for; whoever holds it decides.
    action = (
        awaiting_escalation(now)
        .filter(pk=pk)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("incident__lead", "partner")
        .first()
    )
    if action is None:
        return None
    late_by = now - action.due_at
    late = duration_text(late_by)
    reason = f"Escalated: unacknowledged {late} past due"
    action.escalated_at = now
    action.version += 1
    save_with_history(action, actor=None, reason=reason)

    partner_to = _partner_watch_addresses(action.partner)
    lead_to = _lead_address(action.incident)
    if not partner_to:
        escalation_logger.warning(
            "Coordination action %s (%s) is overdue but %s %s; escalated without emailing "
            "the partner.",
            action.pk,
            action.incident.reference,
            action.partner.name,
            _unreachable_why(action.partner),
        )
    # Internal: partner-visible entries are read by every partner the incident is shared
    # with, and one partner's lateness is none of the others' business. The late partner
    # itself is told by email.
    save_with_history(
        IncidentUpdate(
            incident=action.incident,
            kind=UpdateKind.ESCALATION,
            body=_escalation_entry(action, late, partner_to, lead_to),
            partner_visible=False,
            author=None,
            posted_at=now,
        ),
        actor=None,
        reason=reason,
    )
    for notification in _escalation_notifications(action, late, partner_to, lead_to):
        notification.created_at = notification.next_attempt_at = now
        notification.save()
    return Escalation(
        action=action,
        late_by=late_by,
        partner_recipients=tuple(partner_to),
        lead_recipient=lead_to,
    )


def duration_text(delta: datetime.timedelta) -> str:
    """``2 d 4 h``, ``3 h 10 min``, ``25 min``: how late, to the minute a watch officer reads."""
    minutes = int(delta.total_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def center_time_text(moment: datetime.datetime) -> str:
    """A time as the watch floor reads it: in the center's time zone, with its abbreviation."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _partner_watch_addresses(partner) -> list[str]:
    """Where the partner is reachable around the clock by email: its watch mailbox and its
    24/7 contacts (none for a partner marked inactive)."""
    if not partner.active:
        return []
    candidates = [partner.watch_email]
    candidates += partner.contacts.filter(is_24x7=True).values_list("email", flat=True)
    unique = {}
    for address in candidates:
        if address:
            unique.setdefault(address.lower(), address)
    return sorted(unique.values(), key=str.lower)


def _lead_address(incident) -> str | None:
    lead = incident.lead
    if lead is None or not lead.is_active or not lead.email:
        return None
    return lead.email


def _unreachable_why(partner) -> str:
    return "is marked inactive" if not partner.active else "has no 24/7 email address"


def _escalation_entry(action, late: str, partner_to, lead_to) -> str:
    """The timeline entry: which partner, which action, how late, and who was emailed."""
    partner = action.partner
    lines = [
        f"Overdue: the {action.get_kind_display().lower()} asked of {partner.name} "
        f"(due {center_time_text(action.due_at)}) is still unacknowledged {late} later."
    ]
    if partner_to:
        lines.append(f"Emailed the partner's 24/7 watch: {', '.join(partner_to)}.")
    else:
        phone = f"; its watch phone is {partner.watch_phone}" if partner.watch_phone else ""
        lines.append(f"No email went to the partner: it {_unreachable_why(partner)}{phone}.")
    if lead_to:
        lines.append(f"Emailed the incident lead: {lead_to}.")
    else:
        lines.append("No email went to an incident lead: none with an email address is set.")
    return "\n".join(lines)


def _escalation_notifications(action, late: str, partner_to, lead_to) -> list[Notification]:
    """One message to the partner's watch, one to the incident lead.

    The partner's copy names the incident by reference only, without its title or the
    action's instructions: a watch mailbox is read by whoever is on duty, which for a TLP:RED
    incident may be someone not named on it. The partner looks the details up signed in.
    """
    incident = action.incident
    kind = action.get_kind_display()
    due = center_time_text(action.due_at)
    notifications = []
    if partner_to:
        notifications.append(
            Notification(
                action=action,
                audience=NotificationAudience.PARTNER,
                subject=f"[{incident.reference}] Overdue: {kind} due {due}",
                body=(
                    f"The operations center asked {action.partner.name} for the following about "
                    f"incident {incident.reference}, and nobody has acknowledged it yet.\n\n"
                    f"Request:  {kind} (priority: {action.get_priority_display()})\n"
                    f"Due:      {due}\n"
                    f"Overdue:  {late}\n\n"
                    "Please sign in to the OPS API and acknowledge the action, or call the "
                    "center's watch desk.\n"
                ),
                recipients=list(partner_to),
            )
        )
    if lead_to:
        reached = (
            ", ".join(partner_to)
            if partner_to
            else f"nobody (it {_unreachable_why(action.partner)})"
        )
        notifications.append(
            Notification(
                action=action,
                audience=NotificationAudience.LEAD,
                subject=f"[{incident.reference}] Overdue: {kind} to {action.partner.name}, "
                f"due {due}",
                body=(
                    f"Incident {incident.reference}: {incident.title}\n\n"
                    f"The {kind.lower()} asked of {action.partner.name} is still unacknowledged "
                    f"{late} after its due time ({due}).\n"
                    f"Partner's 24/7 watch emailed: {reached}.\n"
                ),
                recipients=[lead_to],
            )
        )
    return notifications
