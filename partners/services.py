"""Partner and contact management: the rules the API, the admin and commands all go through.

Every function takes keyword arguments only, checks the actor's permission, validates, and
writes inside one transaction with exactly one history record per changed row.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from opsapi.accounts.access import require_administrator, require_partner_manager
from opsapi.audit.tracking import HISTORY_RELATED_NAME, delete_with_history, save_with_history
from opsapi.errors import check_change_reason
from opsapi.services import apply_changes, locked
from partners.models import Contact, Partner, Sector, State, UrbanArea

PARTNER_FIELDS = frozenset(
    {"name", "kind", "level", "state", "urban_area", "watch_phone", "watch_email", "active"}
)
CONTACT_FIELDS = frozenset({"name", "title", "email", "phone", "is_primary", "is_24x7"})


@transaction.atomic
def create_partner(*, actor, name, kind, level, sectors=(), reason="", **fields) -> Partner:
    """Register a partner organisation."""
    require_partner_manager(actor)
    reason = check_change_reason(reason)
    partner = Partner(kind=kind, level=level)
    apply_changes(partner, {"name": name, **fields}, PARTNER_FIELDS)
    partner.full_clean()
    return save_with_history(partner, actor=actor, reason=reason, links={"sectors": sectors})


@transaction.atomic
def update_partner(*, actor, partner: Partner, reason="", sectors=None, **changes) -> Partner:
    """Change a partner's details; ``sectors`` (if given) replaces its sector list."""
    require_partner_manager(actor)
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
    require_partner_manager(actor)
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
    require_partner_manager(actor)
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
    require_partner_manager(actor)
    reason = check_change_reason(reason)
    contact = locked(contact)  # the deletion record shows the row as stored, not as edited
    pk = contact.pk
    delete_with_history(contact, actor=actor, reason=reason)
    contact.pk = pk  # so the caller can still name what was deleted
    return contact


# --- reference data: states, urban areas, sectors ---------------------------------------------

STATE_FIELDS = frozenset({"code", "name", "fips", "kind"})
URBAN_AREA_FIELDS = frozenset({"name", "program", "fiscal_year", "active"})
SECTOR_FIELDS = frozenset({"code", "name"})

# Error code: a reference row other rows still refer to cannot be deleted.
IN_USE = "in_use"


def _save_reference(model, row, allowed, *, actor, reason, fields, links=None):
    """Create ``model`` (``row`` None) or change ``row``: one history record, or none if
    nothing differs. ``links`` maps many-to-many names to their complete new set (None: keep)."""
    require_administrator(actor)
    reason = check_change_reason(reason)
    row = model() if row is None else locked(row)
    changed = apply_changes(row, fields, allowed)
    new_links = {}
    for name, related in (links or {}).items():
        current = set() if row.pk is None else set(getattr(row, name).values_list("pk", flat=True))
        if related is not None and {obj.pk for obj in related} != current:
            new_links[name] = related
    if row.pk is not None and not changed and not new_links:
        return row
    row.full_clean()
    return save_with_history(row, actor=actor, reason=reason, links=new_links or None)


@transaction.atomic
def save_state(*, actor, state: State | None = None, reason="", **fields) -> State:
    """Add a state, DC or territory (``state`` None) or change ``state``'s details."""
    return _save_reference(State, state, STATE_FIELDS, actor=actor, reason=reason, fields=fields)


@transaction.atomic
def save_urban_area(
    *, actor, urban_area: UrbanArea | None = None, states=None, reason="", **fields
) -> UrbanArea:
    """Add an urban area (``urban_area`` None) or change one; ``states`` (if given) replaces
    the states it spans, in the same history record as the other changes."""
    return _save_reference(
        UrbanArea,
        urban_area,
        URBAN_AREA_FIELDS,
        actor=actor,
        reason=reason,
        fields=fields,
        links={"states": states},
    )


@transaction.atomic
def save_sector(*, actor, sector: Sector | None = None, reason="", **fields) -> Sector:
    """Add a critical-infrastructure sector (``sector`` None) or change ``sector``."""
    return _save_reference(Sector, sector, SECTOR_FIELDS, actor=actor, reason=reason, fields=fields)


def reference_uses(row, *, limit=10) -> list:
    """The rows that refer to the reference ``row`` (at most ``limit`` per relation).

    Many-to-many links count as uses too: deleting the row would silently drop the link from
    the linking row (an incident, an urban area, a partner) without a history record there.
    """
    uses = []
    for relation in row._meta.related_objects:
        if relation.related_name == HISTORY_RELATED_NAME:
            continue  # the row's own history, which outlives it
        uses.extend(getattr(row, relation.get_accessor_name()).all()[:limit])
    return uses


@transaction.atomic
def delete_reference(*, actor, row: State | UrbanArea | Sector, reason="") -> None:
    """Delete a state, urban area or sector that nothing refers to; its history is kept."""
    require_administrator(actor)
    reason = check_change_reason(reason)
    if not isinstance(row, State | UrbanArea | Sector):
        raise TypeError(f"{type(row).__name__} is not reference data.")
    row = locked(row)
    uses = reference_uses(row, limit=3)
    if uses:
        named = ", ".join(f"{use._meta.verbose_name} {use}" for use in uses)
        raise ValidationError(
            f"{row} is in use and cannot be deleted (used by {named}).", code=IN_USE
        )
    delete_with_history(row, actor=actor, reason=reason)
