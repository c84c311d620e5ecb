"""Filters and orderings for incidents and coordination actions."""

import strawberry
import strawberry_django
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from strawberry import Info, auto
from strawberry_django import BaseFilterLookup, DatetimeFilterLookup

from coordination import models
from coordination.choices import OPEN_ACTION_STATUSES
from coordination.graphql.enums import (
    ActionKind,
    ActionPriority,
    ActionStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
)
from opsapi.graphql.ids import filter_pk
from opsapi.graphql.scoping import current_user
from partners.models import Partner, Sector, UrbanArea


@strawberry_django.filter_type(models.Incident)
class IncidentFilter:
    status: BaseFilterLookup[IncidentStatus] | None = strawberry.UNSET
    severity: BaseFilterLookup[Severity] | None = strawberry.UNSET
    category: BaseFilterLookup[IncidentCategory] | None = strawberry.UNSET
    tlp: BaseFilterLookup[Tlp] | None = strawberry.UNSET
    occurred_at: DatetimeFilterLookup | None = strawberry.UNSET
    reported_at: DatetimeFilterLookup | None = strawberry.UNSET

    @strawberry_django.filter_field(description="USPS code of an affected state, e.g. TX.")
    def state(self, value: str, prefix: str) -> Q:
        through = models.Incident.states.through
        return Q(
            Exists(
                through.objects.filter(
                    incident_id=OuterRef(f"{prefix}pk"), state__code=value.upper()
                )
            )
        )

    @strawberry_django.filter_field(description="An affected urban area.")
    def urban_area(self, value: strawberry.ID, prefix: str) -> Q:
        pk = filter_pk(value, UrbanArea, argument="urbanArea")
        through = models.Incident.urban_areas.through
        return Q(
            Exists(through.objects.filter(incident_id=OuterRef(f"{prefix}pk"), urbanarea_id=pk))
        )

    @strawberry_django.filter_field(description="An affected critical-infrastructure sector.")
    def sector(self, value: strawberry.ID, prefix: str) -> Q:
        pk = filter_pk(value, Sector, argument="sector")
        through = models.Incident.sectors.through
        return Q(Exists(through.objects.filter(incident_id=OuterRef(f"{prefix}pk"), sector_id=pk)))

    @strawberry_django.filter_field(
        description="A partner involved: shared with it, or with an action addressed to it."
    )
    def partner(self, info: Info, value: strawberry.ID, prefix: str) -> Q:
        # Only what the caller could see in `sharedWith` and `actions`: a partner user cannot
        # learn another organisation's involvement (or existence) by filtering on its ID.
        user = current_user(info)
        pk = filter_pk(value, Partner, argument="partner")
        shares = models.Incident.shared_with.through.objects.filter(
            incident_id=OuterRef(f"{prefix}pk"),
            partner_id=pk,
            partner__in=Partner.objects.filter(Partner.visibility(user)),
        )
        actions = models.CoordinationAction.objects.filter(
            models.CoordinationAction.visibility(user),
            incident_id=OuterRef(f"{prefix}pk"),
            partner_id=pk,
        )
        return Q(Exists(shares)) | Q(Exists(actions))

    @strawberry_django.filter_field(
        description="Text in the reference number, title or summary (case-insensitive)."
    )
    def text(self, value: str, prefix: str) -> Q:
        return (
            Q(**{f"{prefix}reference__icontains": value})
            | Q(**{f"{prefix}title__icontains": value})
            | Q(**{f"{prefix}summary__icontains": value})
        )


@strawberry_django.order_type(models.Incident)
class IncidentOrder:
    reported_at: auto
    occurred_at: auto
    updated_at: auto
    reference: auto
    title: auto
    status: auto

    @strawberry_django.order_field(description="By severity rank (LOW < ... < CRITICAL).")
    def severity(self, queryset, prefix: str, value: auto):
        queryset = queryset.with_severity_rank()
        return queryset, [value.resolve("severity_rank")]


@strawberry_django.filter_type(models.CoordinationAction)
class CoordinationActionFilter:
    status: BaseFilterLookup[ActionStatus] | None = strawberry.UNSET
    kind: BaseFilterLookup[ActionKind] | None = strawberry.UNSET
    priority: BaseFilterLookup[ActionPriority] | None = strawberry.UNSET
    due_at: DatetimeFilterLookup | None = strawberry.UNSET

    @strawberry_django.filter_field(description="The partner the action is addressed to.")
    def partner(self, value: strawberry.ID, prefix: str) -> Q:
        return Q(**{f"{prefix}partner_id": filter_pk(value, Partner, argument="partner")})

    @strawberry_django.filter_field(description="The incident the action is about.")
    def incident(self, value: strawberry.ID, prefix: str) -> Q:
        pk = filter_pk(value, models.Incident, argument="incident")
        return Q(**{f"{prefix}incident_id": pk})

    @strawberry_django.filter_field(
        description="true: still open after the due time; false: everything else."
    )
    def overdue(self, value: bool, prefix: str) -> Q:
        late = Q(
            **{
                f"{prefix}status__in": OPEN_ACTION_STATUSES,
                f"{prefix}due_at__lt": timezone.now(),
            }
        )
        return late if value else ~late


@strawberry_django.order_type(models.CoordinationAction)
class CoordinationActionOrder:
    due_at: auto
    created_at: auto
    updated_at: auto
    status: auto
