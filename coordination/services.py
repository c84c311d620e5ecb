"""Incidents, their timeline and coordination actions: every rule lives here.

Functions that stamp times take an optional ``now`` (default: the current time) so that
commands loading past events (demo data, imports) record when things happened; history
records always carry the real time of writing.

The GraphQL mutations, the admin and the management commands call these functions; each takes
keyword arguments only, checks the actor's permission, validates (raising ``ValidationError``
keyed by field with a stable code), and writes inside one transaction, one history record per
changed row. Changes to an incident or an action require the ``version`` the caller read.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from coordination import errors
from coordination.choices import (
    INCIDENT_TRANSITIONS,
    OPEN_ACTION_STATUSES,
    STATUS_TIMESTAMP_FIELDS,
    ActionOutcome,
    ActionPriority,
    ActionStatus,
    IncidentStatus,
    Tlp,
    UpdateKind,
)
from coordination.models import (
    CoordinationAction,
    Incident,
    IncidentUpdate,
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
from opsapi.services import apply_changes, locked

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
    if not apply_changes(incident, changes, INCIDENT_FIELDS) and not links:
        return incident
    now = timezone.now()
    if "occurred_at" in changes:
        _check_past_time("occurred_at", incident.occurred_at, now)
    if "reported_at" in changes:
        _check_past_time("reported_at", incident.reported_at, now)
    if "lead" in changes:
        _check_lead(incident.lead)
    incident.full_clean()
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
    body = f"Status changed from {previous.label} to {target.label}."
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
    if not apply_changes(action, changes, ACTION_FIELDS):
        return action
    if "due_at" in changes:
        _check_due_time(action.due_at, timezone.now())
    action.full_clean()
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
