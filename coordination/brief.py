"""The daily brief and the situation picture: what the watch floor reads at the morning meeting.

This module computes every number of the ``dailyBrief`` and ``situation`` queries *and* of the
printable page at /brief/<date>/, so the API and the paper cannot disagree. Every number is
taken over the rows the caller may see (each model's ``visibility``), so a partner user's brief
covers its own incidents and actions only, and someone without a role gets an empty one. Each
section is one aggregate query, whatever the amount of data.
"""

import dataclasses
import datetime
import functools
import operator

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from coordination.choices import (
    INCIDENT_TRANSITIONS,
    OPEN_ACTION_STATUSES,
    ActionStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    UpdateKind,
)
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from coordination.services import status_change_text
from partners.models import Partner, State, UrbanArea

# Incidents the center is still working on.
OPEN_INCIDENT_STATUSES = (IncidentStatus.REPORTED, IncidentStatus.ACTIVE, IncidentStatus.MONITORING)

EARLIEST_DAY = datetime.date(1970, 1, 1)

# Most severe first, as the brief lists them.
SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MODERATE, Severity.LOW)

# Statuses an incident can be moved to, each with the statuses it can be moved from.
STATUS_CHANGE_TARGETS = {
    target: tuple(source for source, targets in INCIDENT_TRANSITIONS.items() if target in targets)
    for target in IncidentStatus
    if any(target in targets for targets in INCIDENT_TRANSITIONS.values())
}


class BriefArgumentError(ValueError):
    """An argument the brief cannot use; ``argument`` is its name as clients send it."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument
        self.message = message


# --- the day and the place ------------------------------------------------------------------


def today(now=None) -> datetime.date:
    """The current date in the center's time zone (settings.TIME_ZONE)."""
    return timezone.localdate(now or timezone.now())


def check_day(day: datetime.date, *, now=None) -> None:
    """A brief covers a day from 1970-01-01 to tomorrow (the watch prepares tomorrow's brief
    the evening before); anything else is a typing mistake, not a question."""
    latest = today(now) + datetime.timedelta(days=1)
    if not EARLIEST_DAY <= day <= latest:
        raise BriefArgumentError(
            "date",
            f"No brief for {day.isoformat()}: give a date from {EARLIEST_DAY.isoformat()} "
            f"to {latest.isoformat()}.",
        )


@dataclasses.dataclass(frozen=True)
class Window:
    """The 24 hours of one date in the center's time zone: [local midnight, next local midnight).

    On the days daylight saving time starts or ends the window is 23 or 25 hours long: it is
    still that date on the watch floor's clocks. ``start`` and ``end`` are UTC, because Python
    compares and subtracts two datetimes of the same zone by their wall-clock readings.
    """

    day: datetime.date
    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def of(cls, day: datetime.date) -> "Window":
        zone = timezone.get_default_timezone()

        def midnight(d):
            # A midnight skipped by a clock change (fold=0) lands on the first instant of d.
            local = datetime.datetime.combine(d, datetime.time.min, tzinfo=zone)
            return local.astimezone(datetime.UTC)

        return cls(day=day, start=midnight(day), end=midnight(day + datetime.timedelta(days=1)))

    @property
    def hours(self) -> float:
        """How long the day is on the center's clock: 24, or 23 or 25 on a clock change."""
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, field: str) -> Q:
        """Rows whose ``field`` falls inside the window."""
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})


@dataclasses.dataclass(frozen=True)
class Scope:
    """Where the brief looks: the whole nation, one state, one urban area, or incidents
    affecting both a state and an urban area."""

    state: State | None = None
    urban_area: UrbanArea | None = None

    def incidents(self, via: str = "") -> Q:
        """Incidents in scope, as a filter on incidents (``via=""``) or on rows pointing to one
        (``via="incident"``)."""
        incident = OuterRef(f"{via}_id" if via else "pk")
        condition = Q()
        if self.state is not None:
            links = Incident.states.through.objects.filter(
                incident_id=incident, state_id=self.state.pk
            )
            condition &= Q(Exists(links))
        if self.urban_area is not None:
            links = Incident.urban_areas.through.objects.filter(
                incident_id=incident, urbanarea_id=self.urban_area.pk
            )
            condition &= Q(Exists(links))
        return condition


def resolve_scope(*, user, state: str | None = None, urban_area_pk: int | None = None) -> Scope:
    """The scope named by a USPS state code (any case) and an urban area's primary key.

    A state or urban area the caller may not see is refused exactly like one that does not
    exist (reference data is seen by anyone with a role at the center).
    """
    found_state = found_area = None
    if state is not None:
        code = state.strip().upper()
        found_state = State.objects.visible_to(user).filter(code=code).first() if code else None
        if found_state is None:
            raise BriefArgumentError(
                "state", f"No state, district or territory has the USPS code '{state}'."
            )
    if urban_area_pk is not None:
        found_area = UrbanArea.objects.visible_to(user).filter(pk=urban_area_pk).first()
        if found_area is None:
            raise BriefArgumentError("urbanArea", "No urban area with this ID.")
    return Scope(state=found_state, urban_area=found_area)


# --- what the numbers are made of -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OpenIncidents:
    """Incidents open now (reported, active or monitoring), broken down three ways; every
    key is present, zeros included, most severe first."""

    total: int
    by_severity: dict[Severity, int]
    by_category: dict[IncidentCategory, int]
    by_status: dict[IncidentStatus, int]


@dataclasses.dataclass(frozen=True)
class StatusChanges:
    """Status changes made in the window, counted by the status moved to."""

    total: int
    by_status: dict[IncidentStatus, int]


@dataclasses.dataclass(frozen=True)
class ActionActivity:
    """What happened to coordination actions in the window."""

    created: int
    acknowledged: int
    completed: int
    overdue: int


def _open_incidents(incidents) -> OpenIncidents:
    groups = (
        incidents.filter(status__in=OPEN_INCIDENT_STATUSES)
        .order_by()
        .values("severity", "category", "status")
        .annotate(n=Count("pk"))
    )
    by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
    by_category = dict.fromkeys(IncidentCategory, 0)
    by_status = dict.fromkeys(OPEN_INCIDENT_STATUSES, 0)
    # At most 4 x 10 x 3 groups, whatever the number of incidents.
    for group in groups:
        by_severity[Severity(group["severity"])] += group["n"]
        by_category[IncidentCategory(group["category"])] += group["n"]
        by_status[IncidentStatus(group["status"])] += group["n"]
    return OpenIncidents(
        total=sum(by_status.values()),
        by_severity=by_severity,
        by_category=by_category,
        by_status=by_status,
    )


def _by_severity(incidents):
    """Most severe first, then the newest report."""
    return incidents.with_severity_rank().order_by("-severity_rank", "-reported_at", "-pk")


class DailyBrief:
    """The numbers of one day's brief, for one caller, over one scope.

    "Open now" numbers are as of ``now`` whatever the date; the others count what happened in
    the date's window. An action is overdue when it is still open and was due before the end
    of the window (or before now, for today and tomorrow). Sections are computed when first
    asked for, one query each.
    """

    def __init__(self, *, user, window: Window, scope: Scope = Scope(), now=None):
        self.user = user
        self.window = window
        self.scope = scope
        self.now = now or timezone.now()
        self.cutoff = min(self.now, window.end)

    @functools.cached_property
    def incidents(self):
        """Every incident in scope the caller may see."""
        return Incident.objects.visible_to(self.user).filter(self.scope.incidents())

    @functools.cached_property
    def actions(self):
        """Every action in scope the caller may see."""
        return CoordinationAction.objects.visible_to(self.user).filter(
            self.scope.incidents(via="incident")
        )

    def opened_incidents(self):
        """Incidents reported in the window, most severe first."""
        return _by_severity(self.incidents.filter(self.window.contains("reported_at")))

    @functools.cached_property
    def opened_count(self) -> int:
        return self.incidents.filter(self.window.contains("reported_at")).count()

    @functools.cached_property
    def open_now(self) -> OpenIncidents:
        return _open_incidents(self.incidents)

    @functools.cached_property
    def status_changes(self) -> StatusChanges:
        """Counted from the incidents' timelines (the STATUS_CHANGE entries the service posts
        with every change), not from incident history, for two reasons.

        Visibility: partner users may not read history at all, and of a timeline they see only
        the partner-visible entries. Counting timeline entries through their own visibility
        rule gives each caller exactly the changes it could read; status-change entries are
        internal today, so a partner user's count is zero until the center shares them.
        Time: an entry's ``posted_at`` is when the change happened, also for changes loaded
        after the fact (imports, demo data), whereas a history record is dated when written.

        The status moved to is read from the opening of the entry's text, which
        ``services.change_incident_status`` writes with ``services.status_change_text``.
        """
        entries = IncidentUpdate.objects.visible_to(self.user).filter(
            self.scope.incidents(via="incident"),
            self.window.contains("posted_at"),
            kind=UpdateKind.STATUS_CHANGE,
        )
        counts = entries.aggregate(
            **{
                target.value: Count("pk", filter=_moved_to(target))
                for target in STATUS_CHANGE_TARGETS
            }
        )
        by_status = {target: counts[target.value] for target in STATUS_CHANGE_TARGETS}
        return StatusChanges(total=sum(by_status.values()), by_status=by_status)

    def states(self) -> list[State]:
        """Each state with an open incident or an incident opened in the window, annotated
        with ``open_now`` and ``opened``; the busiest first. An incident affecting several
        states counts in each."""
        return self._places(State.objects.visible_to(self.user))

    def urban_areas(self) -> list[UrbanArea]:
        """As :meth:`states`, for urban areas."""
        return self._places(UrbanArea.objects.visible_to(self.user))

    def _places(self, places) -> list:
        open_now = self.incidents.filter(status__in=OPEN_INCIDENT_STATUSES)
        opened = self.incidents.filter(self.window.contains("reported_at"))
        return list(
            places.annotate(
                open_now=Count("incidents", filter=Q(incidents__in=open_now)),
                opened=Count("incidents", filter=Q(incidents__in=opened)),
            )
            .filter(Q(open_now__gt=0) | Q(opened__gt=0))
            .order_by("-open_now", "-opened", "name", "pk")
        )

    @functools.cached_property
    def action_activity(self) -> ActionActivity:
        counts = self.actions.aggregate(
            created=Count("pk", filter=self.window.contains("created_at")),
            acknowledged=Count("pk", filter=self.window.contains("acknowledged_at")),
            completed=Count(
                "pk",
                filter=Q(status=ActionStatus.COMPLETED) & self.window.contains("closed_at"),
            ),
            overdue=Count("pk", filter=self._overdue),
        )
        return ActionActivity(**counts)

    @property
    def _overdue(self) -> Q:
        return Q(status__in=OPEN_ACTION_STATUSES, due_at__lt=self.cutoff)

    def overdue_actions(self):
        """Open actions due before the cutoff, the longest overdue first."""
        return self.actions.filter(self._overdue).order_by("due_at", "pk")

    def unacknowledged_partners(self) -> list[Partner]:
        """Partners with requests still pending (never acknowledged) after their due time,
        annotated with ``unacknowledged`` (how many) and ``oldest_due_at``; the longest
        waiting first. A partner user sees its own organisation here, or nothing."""
        late = self.actions.filter(status=ActionStatus.PENDING, due_at__lt=self.cutoff)
        return list(
            Partner.objects.visible_to(self.user)
            .annotate(
                unacknowledged=Count("actions", filter=Q(actions__in=late)),
                oldest_due_at=Min("actions__due_at", filter=Q(actions__in=late)),
            )
            .filter(unacknowledged__gt=0)
            .order_by("oldest_due_at", "name", "pk")
        )


def _moved_to(target: IncidentStatus) -> Q:
    """Status-change entries recording a move to ``target`` (from any allowed status)."""
    prefixes = (status_change_text(source, target) for source in STATUS_CHANGE_TARGETS[target])
    return functools.reduce(operator.or_, (Q(body__startswith=p) for p in prefixes))


class Situation:
    """The common operating picture now, for one caller, over one scope: the open incidents,
    the open actions on them, and the partners engaged on them. Everything here is about the
    same set of incidents: the open ones in scope that the caller may see."""

    def __init__(self, *, user, scope: Scope = Scope(), now=None):
        self.user = user
        self.scope = scope
        self.now = now or timezone.now()

    @functools.cached_property
    def _open(self):
        return Incident.objects.visible_to(self.user).filter(
            self.scope.incidents(), status__in=OPEN_INCIDENT_STATUSES
        )

    def incidents(self):
        """Open incidents, most severe first, then the newest report."""
        return _by_severity(self._open)

    @functools.cached_property
    def _open_actions(self):
        return CoordinationAction.objects.visible_to(self.user).filter(
            status__in=OPEN_ACTION_STATUSES, incident__in=self._open
        )

    @functools.cached_property
    def open_actions(self) -> dict[ActionStatus, int]:
        """Open actions on the open incidents, by status (every open status, zeros included)."""
        counts = dict.fromkeys((s for s in ActionStatus if s in OPEN_ACTION_STATUSES), 0)
        rows = self._open_actions.order_by().values("status").annotate(n=Count("pk"))
        for row in rows:
            counts[ActionStatus(row["status"])] = row["n"]
        return counts

    def partners_engaged(self):
        """Partners with an open action on, or an explicit share of, an open incident."""
        acting = self._open_actions.filter(partner_id=OuterRef("pk"))
        shares = Incident.shared_with.through.objects.filter(
            partner_id=OuterRef("pk"), incident__in=self._open
        )
        return (
            Partner.objects.visible_to(self.user)
            .filter(Q(Exists(acting)) | Q(Exists(shares)))
            .order_by("name", "pk")
        )
