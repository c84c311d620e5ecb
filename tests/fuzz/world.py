"""The rows a fuzzed request points at, and a valid input for every mutation.

Each example gets fresh targets (an incident shared with the partner, a pending action to it, a
contact), so that one example's accepted write cannot change what the next one meets. The
valid input is derived from the mutation's input type; the fuzzer then spoils one field of it,
so an error it gets back is about that field.
"""

import dataclasses
import datetime

from django.apps import apps
from django.utils import timezone

from partners.models import Sector, State, UrbanArea
from tests.factories import global_id, make_action, make_contact, make_incident
from tests.fuzz.schema_walk import MutationShape, Slot, input_fields

# Which kind of row an ID field names, by the field's name. A new ID field the fuzzer does not
# know fails test_every_mutation_has_a_valid_input with its name.
ID_TARGETS = {
    "incident": "Incident",
    "partner": "Partner",
    "partners": "Partner",
    "sharedWith": "Partner",
    "users": "User",
    "lead": "User",
    "state": "State",
    "states": "State",
    "urbanArea": "UrbanArea",
    "urbanAreas": "UrbanArea",
    "sectors": "Sector",
}

# Values a valid input needs that the first enum value or a plain string would not give.
VALID_VALUES = {
    ("changeIncidentStatus", "status"): "ACTIVE",
    ("addIncidentUpdate", "kind"): "NOTE",
    ("respondToCoordinationAction", "outcome"): "IN_PROGRESS",
    ("createContact", "email"): "duty@example.gov",
    ("updateContact", "email"): "duty@example.gov",
    ("createPartner", "watchEmail"): "watch@example.gov",
    ("updatePartner", "watchEmail"): "watch@example.gov",
}

# Enum values a client may never send successfully (the service writes them itself).
RESERVED_ENUM_VALUES = {"STATUS_CHANGE", "ESCALATION"}


@dataclasses.dataclass
class Targets:
    """Fresh rows for one example, by GraphQL type name."""

    rows: dict

    @classmethod
    def build(cls, officer, partner, partner_user) -> "Targets":
        incident = make_incident(officer, shared_with=[partner])
        action = make_action(officer, incident, partner)
        return cls(
            {
                "Incident": incident,
                "CoordinationAction": action,
                "Contact": make_contact(officer, partner),
                "Partner": partner,
                "User": partner_user,
                "State": State.objects.get(code="VA"),
                "UrbanArea": UrbanArea.objects.order_by("pk").first(),
                "Sector": Sector.objects.order_by("pk").first(),
            }
        )

    def id_of(self, type_name: str) -> str:
        return global_id(self.rows[type_name])


def target_of(shape: MutationShape, slot: Slot) -> str:
    """The type of row an ID field of ``shape`` names (``id`` is the mutated object)."""
    if slot.name == "id":
        return shape.returns
    return ID_TARGETS[slot.name]


def valid_value(shape: MutationShape, slot: Slot, targets: Targets):
    """A value of ``slot`` that the mutation accepts (for the targets of this example)."""
    if (shape.name, slot.name) in VALID_VALUES:
        return VALID_VALUES[shape.name, slot.name]
    kind = slot.kind
    if kind == "ID":
        value = targets.id_of(target_of(shape, slot))
    elif kind == "Int" and slot.name == "version":
        value = targets.rows[shape.returns].version
    elif kind == "enum":
        value = next(v for v in slot.named.values if v not in RESERVED_ENUM_VALUES)
    elif kind == "input":
        value = {
            f.name: valid_value(shape, f, targets) for f in input_fields(slot.named) if f.required
        }
    elif kind == "String":
        value = "Fuzz value"
    elif kind == "Boolean":
        value = False
    elif kind == "Float":
        value = 38.9
    elif kind == "Int":
        value = 1
    elif kind == "DateTime":
        value = (timezone.now() + datetime.timedelta(hours=2)).isoformat()
    else:
        raise AssertionError(f"The fuzzer has no valid value for {shape.name}.{slot.name}")
    return [value] if slot.is_list else value


def valid_input(shape: MutationShape, targets: Targets) -> dict:
    """The required fields of ``shape``'s input (and those VALID_VALUES names), valid for
    ``targets``."""
    return {
        s.name: valid_value(shape, s, targets)
        for s in shape.fields
        if s.required or (shape.name, s.name) in VALID_VALUES
    }


def counts() -> dict[str, int]:
    """Rows of every table a mutation could write: the app tables and every history table."""
    labels = ("partners", "coordination", "accounts")
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in labels or model.__name__.startswith("Historical")
    }
