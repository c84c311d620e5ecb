"""Partner and contact management: the rules the API, the admin and commands all go through.

Every function takes keyword arguments only, checks the actor's permission, validates, and
writes inside one transaction with exactly one history record per changed row.
"""

from django.db import transaction

from opsapi.accounts.access import require_writer
from opsapi.audit.tracking import delete_with_history, save_with_history
from opsapi.errors import check_change_reason
from opsapi.services import apply_changes, locked
from partners.models import Contact, Partner

PARTNER_FIELDS = frozenset(
    {"name", "kind", "level", "state", "urban_area", "watch_phone", "watch_email", "active"}
)
CONTACT_FIELDS = frozenset({"name", "title", "email", "phone", "is_primary", "is_24x7"})


@transaction.atomic
def create_partner(*, actor, name, kind, level, sectors=(), reason="", **fields) -> Partner:
    """Register a partner organisation."""
    require_writer(actor)
    reason = check_change_reason(reason)
    partner = Partner(kind=kind, level=level)
    apply_changes(partner, {"name": name, **fields}, PARTNER_FIELDS)
    partner.full_clean()
    return save_with_history(partner, actor=actor, reason=reason, links={"sectors": sectors})


@transaction.atomic
def update_partner(*, actor, partner: Partner, reason="", sectors=None, **changes) -> Partner:
    """Change a partner's details; ``sectors`` (if given) replaces its sector list."""
    require_writer(actor)
    reason = check_change_reason(reason)
    partner = locked(partner)
    changed = apply_changes(partner, changes, PARTNER_FIELDS)
    links = None
    if sectors is not None and {s.pk for s in sectors} != set(
        partner.sectors.values_list("pk", flat=True)
    ):
        links = {"sectors": sectors}
    if not changed and links is None:
        return partner
    partner.full_clean()
    return save_with_history(partner, actor=actor, reason=reason, links=links)


def _demote_other_primary_contacts(contact: Contact, actor) -> None:
    """A partner has one primary contact: the others stop being primary (each on the record)."""
    others = contact.partner.contacts.select_for_update().filter(is_primary=True)
    for other in others.exclude(pk=contact.pk):
        other.is_primary = False
        save_with_history(other, actor=actor, reason=f"{contact.name} became the primary contact")


@transaction.atomic
def create_contact(*, actor, partner: Partner, name, reason="", **fields) -> Contact:
    """Add a contact person to a partner."""
    require_writer(actor)
    reason = check_change_reason(reason)
    contact = Contact(partner=partner)
    apply_changes(contact, {"name": name, **fields}, CONTACT_FIELDS)
    contact.full_clean()
    save_with_history(contact, actor=actor, reason=reason)
    if contact.is_primary:
        _demote_other_primary_contacts(contact, actor)
    return contact


@transaction.atomic
def update_contact(*, actor, contact: Contact, reason="", **changes) -> Contact:
    """Change a contact's details."""
    require_writer(actor)
    reason = check_change_reason(reason)
    contact = locked(contact)
    if not apply_changes(contact, changes, CONTACT_FIELDS):
        return contact
    contact.full_clean()
    save_with_history(contact, actor=actor, reason=reason)
    if contact.is_primary:
        _demote_other_primary_contacts(contact, actor)
    return contact


@transaction.atomic
def delete_contact(*, actor, contact: Contact, reason="") -> Contact:
    """Remove a contact. Its history is kept and ends with a deletion record."""
    require_writer(actor)
    reason = check_change_reason(reason)
    pk = contact.pk
    delete_with_history(contact, actor=actor, reason=reason)
    contact.pk = pk  # so the caller can still name what was deleted
    return contact
