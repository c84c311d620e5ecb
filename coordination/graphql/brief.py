"""The ``dailyBrief`` and ``situation`` queries: thin types over :mod:`coordination.brief`.

Every number comes from the brief service, which the printable page at /brief/<date>/ uses too.
Objects (incidents, partners, states, urban areas, actions) are the API's usual types, scoped to
the caller as everywhere else.
"""

import datetime
from collections.abc import Iterable
from typing import Annotated, Generic, TypeVar

import strawberry
from django.utils import timezone
from strawberry import Info, relay

from coordination import brief, models
from coordination.graphql.enums import ActionStatus, IncidentCategory, IncidentStatus, Severity
from coordination.graphql.types import CoordinationAction, Incident
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.errors import BadInput
from opsapi.graphql.ids import filter_pk
from opsapi.graphql.scoping import current_user
from partners import models as partner_models
from partners.graphql.types import Partner, State, UrbanArea

Key = TypeVar("Key")


@strawberry.type(description="How many there are for one value of a key.")
class CountBy(Generic[Key]):
    key: Key
    count: int


def _counts(counts: dict) -> list:
    return [CountBy(key=key, count=count) for key, count in counts.items()]


@strawberry.type(
    description="Incidents open now (reported, active or monitoring), whatever the brief's "
    "date. Every key is listed, zeros included; severities most severe first."
)
class OpenIncidents:
    total: int
    by_severity: list[CountBy[Severity]]
    by_category: list[CountBy[IncidentCategory]]
    by_status: list[CountBy[IncidentStatus]]


@strawberry.type(description="Incident status changes made during the day, by the new status.")
class StatusChanges:
    total: int
    by_status: list[CountBy[IncidentStatus]]


@strawberry.type(description="A state with open incidents, or incidents opened during the day.")
class StateActivity:
    state: State
    open_now: int = strawberry.field(description="Incidents affecting it open now.")
    opened: int = strawberry.field(description="Incidents affecting it opened during the day.")


@strawberry.type(
    description="An urban area with open incidents, or incidents opened during the day."
)
class UrbanAreaActivity:
    urban_area: UrbanArea
    open_now: int = strawberry.field(description="Incidents affecting it open now.")
    opened: int = strawberry.field(description="Incidents affecting it opened during the day.")


@strawberry.type(description="Coordination actions during the day.")
class ActionActivity:
    created: int = strawberry.field(description="Issued during the day.")
    acknowledged: int = strawberry.field(description="Acknowledged during the day.")
    completed: int = strawberry.field(description="Completed during the day.")
    overdue: int = strawberry.field(
        description="Still open now and due before the day's end (or before now, if sooner)."
    )


@strawberry.type(description="A partner that has not acknowledged requests past their due time.")
class UnacknowledgedPartner:
    partner: Partner
    actions: int = strawberry.field(description="Requests pending past their due time.")
    oldest_due_at: datetime.datetime = strawberry.field(
        description="Due time of the longest-waiting one."
    )


@strawberry.type(
    description="The daily brief: one date's 24 hours on the center's clock (23 or 25 on the "
    "days daylight saving time starts or ends), over what the caller may see."
)
class DailyBrief:
    report: strawberry.Private[brief.DailyBrief]

    @strawberry.field(description="The date the brief covers.")
    def date(self) -> datetime.date:
        return self.report.window.day

    @strawberry.field(description="Start of the day (local midnight).")
    def starts_at(self) -> datetime.datetime:
        return self.report.window.start.astimezone(timezone.get_default_timezone())

    @strawberry.field(description="End of the day (the next local midnight), exclusive.")
    def ends_at(self) -> datetime.datetime:
        return self.report.window.end.astimezone(timezone.get_default_timezone())

    @strawberry.field(description="The center's time zone, e.g. America/New_York.")
    def time_zone(self) -> str:
        return str(timezone.get_default_timezone())

    @strawberry.field(description="The state the brief is limited to, if any.")
    def state(self) -> State | None:
        return self.report.scope.state

    @strawberry.field(description="The urban area the brief is limited to, if any.")
    def urban_area(self) -> UrbanArea | None:
        return self.report.scope.urban_area

    @connection(
        KeysetConnection[Incident],
        filters=None,
        ordering=None,
        description="Incidents reported during the day, most severe first, then the newest.",
    )
    def incidents_opened(self) -> Iterable[models.Incident]:
        return self.report.opened_incidents()

    @strawberry.field(description="Status changes made during the day.")
    def status_changes(self) -> StatusChanges:
        changes = self.report.status_changes
        return StatusChanges(total=changes.total, by_status=_counts(changes.by_status))

    @strawberry.field(description="Incidents open now, by severity, category and status.")
    def open_now(self) -> OpenIncidents:
        return _open_incidents(self.report.open_now)

    @strawberry.field(
        description="States with open incidents or incidents opened during the day, busiest "
        "first. An incident affecting several states counts in each."
    )
    def states(self) -> list[StateActivity]:
        return [
            StateActivity(state=s, open_now=s.open_now, opened=s.opened)
            for s in self.report.states()
        ]

    @strawberry.field(
        description="Urban areas with open incidents or incidents opened during the day, "
        "busiest first."
    )
    def urban_areas(self) -> list[UrbanAreaActivity]:
        return [
            UrbanAreaActivity(urban_area=a, open_now=a.open_now, opened=a.opened)
            for a in self.report.urban_areas()
        ]

    @strawberry.field(description="Coordination actions issued, acknowledged, completed, overdue.")
    def actions(self) -> ActionActivity:
        activity = self.report.action_activity
        return ActionActivity(
            created=activity.created,
            acknowledged=activity.acknowledged,
            completed=activity.completed,
            overdue=activity.overdue,
        )

    @connection(
        KeysetConnection[CoordinationAction],
        filters=None,
        ordering=None,
        description="The overdue actions counted in `actions.overdue`, longest overdue first.",
    )
    def overdue_actions(self) -> Iterable[models.CoordinationAction]:
        return self.report.overdue_actions()

    @strawberry.field(
        description="Partners with requests pending past their due time, longest waiting first."
    )
    def unacknowledged_partners(self) -> list[UnacknowledgedPartner]:
        return [
            UnacknowledgedPartner(
                partner=p, actions=p.unacknowledged, oldest_due_at=p.oldest_due_at
            )
            for p in self.report.unacknowledged_partners()
        ]


def _open_incidents(open_now: brief.OpenIncidents) -> OpenIncidents:
    return OpenIncidents(
        total=open_now.total,
        by_severity=_counts(open_now.by_severity),
        by_category=_counts(open_now.by_category),
        by_status=_counts(open_now.by_status),
    )


@strawberry.type(
    description="The common operating picture now: the open incidents the caller may see in "
    "the scope, the open actions on them and the partners engaged on them."
)
class Situation:
    report: strawberry.Private[brief.Situation]

    @strawberry.field(description="When the picture was taken.")
    def as_of(self) -> datetime.datetime:
        return self.report.now

    @strawberry.field(description="The state the picture is limited to, if any.")
    def state(self) -> State | None:
        return self.report.scope.state

    @strawberry.field(description="The urban area the picture is limited to, if any.")
    def urban_area(self) -> UrbanArea | None:
        return self.report.scope.urban_area

    @connection(
        KeysetConnection[Incident],
        filters=None,
        ordering=None,
        description="Open incidents, most severe first, then the newest report.",
    )
    def incidents(self) -> Iterable[models.Incident]:
        return self.report.incidents()

    @strawberry.field(description="Open actions on these incidents, by status (zeros included).")
    def open_actions(self) -> list[CountBy[ActionStatus]]:
        return _counts(self.report.open_actions)

    @connection(
        KeysetConnection[Partner],
        filters=None,
        ordering=None,
        description="Partners with an open action on, or an explicit share of, one of these "
        "incidents, by name.",
    )
    def partners_engaged(self) -> Iterable[partner_models.Partner]:
        return self.report.partners_engaged()


def _urban_area_pk(value: strawberry.ID | None) -> int | None:
    """The primary key in an UrbanArea global ID; any other string is a bad ``urbanArea``."""
    if value is None:
        return None
    try:
        global_id = relay.GlobalID.from_id(value)
    except (ValueError, TypeError, UnicodeError, relay.GlobalIDValueError):
        raise BadInput("'urbanArea' is not a valid UrbanArea ID.", argument="urbanArea") from None
    pk = filter_pk(global_id, partner_models.UrbanArea, argument="urbanArea")
    if not 0 < pk < 2**63:
        raise BadInput("'urbanArea' is not a valid UrbanArea ID.", argument="urbanArea")
    return pk


def _scope(info: Info, state: str | None, urban_area: strawberry.ID | None) -> brief.Scope:
    try:
        return brief.resolve_scope(
            user=current_user(info), state=state, urban_area_pk=_urban_area_pk(urban_area)
        )
    except brief.BriefArgumentError as error:
        raise BadInput(error.message, argument=error.argument) from None


DATE_ARGUMENT = "The date, from 1970-01-01 to tomorrow (default: today on the center's clock)."
STATE_ARGUMENT = "USPS code of a state, DC or territory, e.g. VA (any case)."
URBAN_AREA_ARGUMENT = "An urban area. With `state` too: incidents affecting both."


@strawberry.type
class BriefQuery:
    @strawberry.field(
        description="The daily brief for a date (default: today on the center's clock), for "
        "the nation, a state or an urban area. Covers only what the caller may see."
    )
    def daily_brief(
        self,
        info: Info,
        date: Annotated[
            datetime.date | None, strawberry.argument(description=DATE_ARGUMENT)
        ] = None,
        state: Annotated[str | None, strawberry.argument(description=STATE_ARGUMENT)] = None,
        urban_area: Annotated[
            strawberry.ID | None, strawberry.argument(description=URBAN_AREA_ARGUMENT)
        ] = None,
    ) -> DailyBrief:
        now = timezone.now()
        day = date if date is not None else brief.today(now)
        try:
            brief.check_day(day, now=now)
        except brief.BriefArgumentError as error:
            raise BadInput(error.message, argument=error.argument) from None
        scope = _scope(info, state, urban_area)
        return DailyBrief(
            report=brief.DailyBrief(
                user=current_user(info), window=brief.Window.of(day), scope=scope, now=now
            )
        )

    @strawberry.field(
        description="The common operating picture now, for the nation, a state or an urban "
        "area: open incidents by severity, open actions by status, partners engaged."
    )
    def situation(
        self,
        info: Info,
        state: Annotated[str | None, strawberry.argument(description=STATE_ARGUMENT)] = None,
        urban_area: Annotated[
            strawberry.ID | None, strawberry.argument(description=URBAN_AREA_ARGUMENT)
        ] = None,
    ) -> Situation:
        return Situation(
            report=brief.Situation(user=current_user(info), scope=_scope(info, state, urban_area))
        )
