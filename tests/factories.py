"""Test data made through the services, so every row has its history like real data."""

import datetime
import itertools

from django.utils import timezone
from strawberry import relay

from coordination import services as coordination
from coordination.choices import ActionKind, IncidentCategory, Severity
from partners import services as partners
from partners.choices import PartnerKind, PartnerLevel
from partners.models import Sector, State

_sequence = itertools.count(1)


def global_id(obj) -> str:
    """The global ID clients use for ``obj``."""
    type_name = "User" if obj._meta.label == "auth.User" else type(obj).__name__
    return relay.to_base64(type_name, obj.pk)


def state(code: str) -> State:
    return State.objects.get(code=code)


def sector(code: str) -> Sector:
    return Sector.objects.get(code=code)


def make_partner(actor, **fields):
    """A state-level partner in Virginia unless told otherwise."""
    n = next(_sequence)
    values = {
        "name": f"Partner {n}",
        "kind": PartnerKind.EMERGENCY_MANAGEMENT,
        "level": PartnerLevel.STATE,
        "state": state("VA"),
        **fields,
    }
    return partners.create_partner(actor=actor, **values)


def make_contact(actor, partner, **fields):
    n = next(_sequence)
    values = {"name": f"Contact {n}", "email": f"contact{n}@example.gov", **fields}
    return partners.create_contact(actor=actor, partner=partner, **values)


def make_incident(actor, **fields):
    n = next(_sequence)
    values = {
        "title": f"Incident {n}",
        "category": IncidentCategory.NATURAL_HAZARD,
        "severity": Severity.MODERATE,
        **fields,
    }
    return coordination.create_incident(actor=actor, **values)


def make_action(actor, incident, partner, **fields):
    values = {
        "kind": ActionKind.REQUEST_FOR_INFORMATION,
        "instructions": "Report the status of your watch center.",
        "due_at": timezone.now() + datetime.timedelta(hours=4),
        **fields,
    }
    return coordination.create_action(actor=actor, incident=incident, partner=partner, **values)
