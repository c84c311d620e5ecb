"""Filters and orderings for partner-app lists."""

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import auto
from strawberry_django import BaseFilterLookup, StrFilterLookup

from opsapi.graphql.ids import filter_pk
from partners import models
from partners.graphql.enums import PartnerKind, PartnerLevel, StateKind


@strawberry_django.filter_type(models.State)
class StateFilter:
    code: StrFilterLookup | None = strawberry.UNSET
    kind: BaseFilterLookup[StateKind] | None = strawberry.UNSET


@strawberry_django.order_type(models.State)
class StateOrder:
    name: auto
    code: auto
    fips: auto


@strawberry_django.filter_type(models.UrbanArea)
class UrbanAreaFilter:
    name: StrFilterLookup | None = strawberry.UNSET
    program: StrFilterLookup | None = strawberry.UNSET
    fiscal_year: auto
    active: auto

    @strawberry_django.filter_field(description="USPS code of a state the area spans.")
    def state(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}states__code": value.upper()})


@strawberry_django.order_type(models.UrbanArea)
class UrbanAreaOrder:
    name: auto
    fiscal_year: auto


@strawberry_django.filter_type(models.Sector)
class SectorFilter:
    name: StrFilterLookup | None = strawberry.UNSET


@strawberry_django.filter_type(models.Partner)
class PartnerFilter:
    name: StrFilterLookup | None = strawberry.UNSET
    kind: BaseFilterLookup[PartnerKind] | None = strawberry.UNSET
    level: BaseFilterLookup[PartnerLevel] | None = strawberry.UNSET
    active: auto

    @strawberry_django.filter_field(description="USPS code of the partner's state, e.g. VA.")
    def state(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}state__code": value.upper()})

    @strawberry_django.filter_field(description="Urban area the partner serves.")
    def urban_area(self, value: strawberry.ID, prefix: str) -> Q:
        pk = filter_pk(value, models.UrbanArea, argument="urbanArea")
        return Q(**{f"{prefix}urban_area_id": pk})

    @strawberry_django.filter_field(description="A sector the partner operates in.")
    def sector(self, value: strawberry.ID, prefix: str) -> Q:
        pk = filter_pk(value, models.Sector, argument="sector")
        return Q(**{f"{prefix}sectors": pk})


@strawberry_django.order_type(models.Partner)
class PartnerOrder:
    name: auto
    kind: auto
    level: auto
    updated_at: auto
