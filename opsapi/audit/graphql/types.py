"""History in the API: the ``HistoryEntry`` interface and the ``history`` field on every type.

Each tracked model gets a ``<Model>HistoryEntry`` type over its simple-history table,
implementing ``HistoryEntry``; ``history`` is a connection over the records linked to the
object (simple-history's ``related_name``), so the optimizer prefetches and pages it for a whole
list of objects in one query.
"""

import datetime
from enum import Enum

import strawberry
import strawberry_django
from strawberry import Info, relay
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from opsapi.accounts.access import can_read_history
from opsapi.accounts.graphql.types import UserType
from opsapi.audit.tracking import HISTORY_RELATED_NAME
from opsapi.graphql.connection import DjangoListConnection, connection
from opsapi.graphql.scoping import current_user


@strawberry.enum(description="What a history record did to its object.")
class HistoryAction(Enum):
    CREATED = "+"
    UPDATED = "~"
    DELETED = "-"


@strawberry.type(description="One field as a history record changed it.")
class FieldChange:
    field: str = strawberry.field(description="Field name as in the API.")
    old: JSON | None = strawberry.field(description="Value before (null when created).")
    new: JSON | None = strawberry.field(description="Value after.")


@strawberry.interface(description="One recorded change to an object: who, when, why and what.")
class HistoryEntry:
    at: datetime.datetime = strawberry.field(description="When the change was made.")
    user: UserType | None = strawberry.field(description="Who made it.")
    change_reason: str | None = strawberry.field(description="Why, as the user stated.")
    request_id: str = strawberry.field(description="The request or command run that made it.")
    action: HistoryAction
    changes: list[FieldChange] = strawberry.field(
        description="What changed relative to the previous record."
    )


def _present(model, field_name: str, value):
    """A stored value as clients know it: global IDs for relations, enum names for choices."""
    field = model._meta.get_field(field_name)
    if value is None:
        return None
    if field.is_relation:
        type_name = (
            "User"
            if field.related_model._meta.label == "auth.User"
            else (field.related_model.__name__)
        )
        if field.many_to_many:
            return [relay.to_base64(type_name, pk) for pk in value]
        return relay.to_base64(type_name, value)
    if field.choices:
        return str(value).upper()
    return value


def field_changes(model, stored: list[dict]) -> list[FieldChange]:
    """The stored ``changes`` of a ``model`` history record, presented for the API."""
    return [
        FieldChange(
            field=to_camel_case(change["field"]),
            old=_present(model, change["field"], change["old"]),
            new=_present(model, change["field"], change["new"]),
        )
        for change in stored
    ]


def history_entry_type(model) -> type:
    """The ``<Model>HistoryEntry`` type for a tracked model."""
    historical = model.history.model

    @strawberry_django.type(
        historical,
        name=f"{model.__name__}HistoryEntry",
        description=f"A recorded change to a {model._meta.verbose_name}.",
    )
    class Entry(HistoryEntry):
        at: datetime.datetime = strawberry_django.field(field_name="history_date")
        user: UserType | None = strawberry_django.field(field_name="history_user")
        change_reason: str | None = strawberry_django.field(field_name="history_change_reason")
        request_id: str = strawberry_django.field()

        @strawberry_django.field(only=["history_type"])
        def action(self) -> HistoryAction:
            return HistoryAction(self.history_type)

        @strawberry_django.field(only=["changes"])
        def changes(self) -> list[FieldChange]:
            return field_changes(model, self.changes)

        @classmethod
        def get_queryset(cls, queryset, info: Info, **kwargs):
            return queryset if can_read_history(current_user(info)) else queryset.none()

    return Entry


def history_field(entry_type: type):
    """The ``history`` connection of a model type, newest record first."""
    return connection(
        DjangoListConnection[entry_type],
        field_name=HISTORY_RELATED_NAME,
        description="Every recorded change to this object, newest first.",
    )
