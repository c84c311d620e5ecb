"""Partner and contact mutations: resolve IDs within what the caller may see, call a service."""

import strawberry
import strawberry_django
from strawberry import Info

from opsapi.graphql.ids import get_visible, get_visible_list
from opsapi.graphql.inputs import named_input, provided, refuse_nulls
from opsapi.graphql.scoping import current_user
from partners import models, services
from partners.graphql.inputs import (
    CreateContactInput,
    CreatePartnerInput,
    DeleteContactInput,
    UpdateContactInput,
    UpdatePartnerInput,
)
from partners.graphql.types import Contact, Partner

PARTNER_TEXT = ("name", "kind", "level", "watch_phone", "watch_email", "active")
CONTACT_TEXT = ("name", "title", "email", "phone", "is_primary", "is_24x7")


def _optional(model, value, *, user, field):
    return None if value is None else get_visible(model, value, user=user, field=field)


def _partner_links(data, changes: dict, user) -> None:
    """Replace the ID arguments in ``changes`` by the rows they name."""
    if "state" in changes:
        changes["state"] = _optional(models.State, data.state, user=user, field="state")
    if "urban_area" in changes:
        changes["urban_area"] = _optional(
            models.UrbanArea, data.urban_area, user=user, field="urban_area"
        )
    if "sectors" in changes:
        changes["sectors"] = get_visible_list(
            models.Sector, data.sectors, user=user, field="sectors"
        )


@strawberry.type
class PartnersMutation:
    @strawberry_django.mutation(description="Register a partner organisation.")
    def create_partner(self, info: Info, data: named_input(CreatePartnerInput)) -> Partner:
        user = current_user(info)
        fields = provided(data, (*PARTNER_TEXT, "state", "urban_area", "sectors"))
        _partner_links(data, fields, user)
        fields["sectors"] = fields["sectors"] or []
        return services.create_partner(actor=user, reason=data.change_reason, **fields)

    @strawberry_django.mutation(description="Change a partner's details.")
    def update_partner(self, info: Info, data: named_input(UpdatePartnerInput)) -> Partner:
        user = current_user(info)
        partner = get_visible(models.Partner, data.id, user=user, field="id")
        changes = provided(data, (*PARTNER_TEXT, "state", "urban_area", "sectors"))
        refuse_nulls(changes, (*PARTNER_TEXT, "sectors"))
        _partner_links(data, changes, user)
        return services.update_partner(
            actor=user, partner=partner, reason=data.change_reason, **changes
        )

    @strawberry_django.mutation(description="Add a contact person to a partner.")
    def create_contact(self, info: Info, data: named_input(CreateContactInput)) -> Contact:
        user = current_user(info)
        partner = get_visible(models.Partner, data.partner, user=user, field="partner")
        return services.create_contact(
            actor=user, partner=partner, reason=data.change_reason, **provided(data, CONTACT_TEXT)
        )

    @strawberry_django.mutation(description="Change a contact's details.")
    def update_contact(self, info: Info, data: named_input(UpdateContactInput)) -> Contact:
        user = current_user(info)
        contact = get_visible(models.Contact, data.id, user=user, field="id")
        changes = provided(data, CONTACT_TEXT)
        refuse_nulls(changes, CONTACT_TEXT)
        return services.update_contact(
            actor=user, contact=contact, reason=data.change_reason, **changes
        )

    @strawberry_django.mutation(description="Remove a contact; its history is kept.")
    def delete_contact(self, info: Info, data: named_input(DeleteContactInput)) -> Contact:
        user = current_user(info)
        contact = get_visible(models.Contact, data.id, user=user, field="id")
        return services.delete_contact(actor=user, contact=contact, reason=data.change_reason)
