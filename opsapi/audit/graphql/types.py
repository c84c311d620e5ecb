"""History in the API: the ``HistoryEntry`` interface and the ``history`` field on every type.

Each tracked model gets a ``<Model>HistoryEntry`` type over its simple-history table,
implementing ``HistoryEntry``; ``history`` is a connection over the records linked to the
object (simple-history's ``related_name``), so the optimizer prefetches and pages it for a whole
list of objects in one query. The audit log and ``asOf`` return the same types.
"""

import datetime
import functools
from enum import Enum
from typing import Annotated

import strawberry
import strawberry_django
from django.db.models import Prefetch
from strawberry import Info, relay
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from opsapi.accounts.access import can_read_history, rows_visible_to
from opsapi.accounts.graphql.types import UserType
from opsapi.audit.chain import canonical_value
from opsapi.audit.graphql import proofs
from opsapi.audit.recording import link_accessors, recorded_links
from opsapi.audit.tracking import HISTORY_RELATED_NAME, hidden_history_fields
from opsapi.audit.trail import object_global_id
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.ids import type_name_of
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


@strawberry.interface(
    description="One recorded change to an object: who, when, why, what changed, and the "
    "object as it stood after the change."
)
class HistoryEntry:
    at: datetime.datetime = strawberry.field(description="When the change was made.")
    user: UserType | None = strawberry.field(description="Who made it.")
    change_reason: str | None = strawberry.field(description="Why, as the user stated.")
    request_id: str = strawberry.field(description="The request or command run that made it.")
    action: HistoryAction
    changes: list[FieldChange] = strawberry.field(
        description="What changed relative to the previous record."
    )
    snapshot: JSON = strawberry.field(
        description="Every field of the object as it stood after this change (links included)."
    )
    object_id: relay.GlobalID = strawberry.field(
        description="Global ID of the object, even if it has since been deleted."
    )
    object: relay.Node | None = strawberry.field(
        description="The object as it is now, if it still exists and you may see it."
    )
    record_hash: str = strawberry.field(
        description="HMAC of this record, chained to the object's previous record."
    )

    @strawberry.field(description=proofs.DESCRIPTION)
    def inclusion_proof(
        self,
        info: Info,
        checkpoint: Annotated[int | None, proofs.CHECKPOINT_ARGUMENT] = None,
    ) -> proofs.InclusionProof | None:
        # The log is the record's history table; its leaves are the records by history_id.
        return proofs.resolve(info, self._meta.db_table, self.history_id, checkpoint)


def _present(model, field_name: str, value):
    """A stored value as clients know it: global IDs for relations, enum names for choices."""
    field = model._meta.get_field(field_name)
    if value is None:
        return None
    if field.is_relation:
        related = type_name_of(field.related_model)
        if field.many_to_many:
            return [relay.to_base64(related, pk) for pk in value]
        return relay.to_base64(related, value)
    if field.choices:
        return str(value).upper()
    return canonical_value(field, value)


def field_changes(model, stored: list[dict]) -> list[FieldChange]:
    """The stored ``changes`` of a ``model`` history record, presented for the API."""
    hidden = hidden_history_fields(model)
    return [
        FieldChange(
            field=to_camel_case(change["field"]),
            old=_present(model, change["field"], change["old"]),
            new=_present(model, change["field"], change["new"]),
        )
        for change in stored
        if change["field"] not in hidden
    ]


def snapshot(record) -> dict:
    """Every field of the object as ``record`` stored it, presented for the API."""
    model = record.instance_type
    hidden = hidden_history_fields(model)
    values = {
        to_camel_case(field.name): _present(model, field.name, getattr(record, field.attname))
        for field in record.tracked_fields
        if not field.primary_key and field.name not in hidden
    }
    for name, ids in recorded_links(record).items():
        values[to_camel_case(name)] = _present(model, name, ids)
    return values


def live_object_prefetch(model):
    """Optimizer hint: prefetch each record's live object, within what the caller may see."""

    def prefetch(info: Info):
        user = current_user(info)
        return Prefetch("history_relation", queryset=rows_visible_to(model, user))

    return prefetch


@functools.cache
def history_entry_type(model) -> type:
    """The ``<Model>HistoryEntry`` type for a tracked model (one per model)."""
    historical = model.history.model
    name = type_name_of(model)

    @strawberry_django.type(
        historical,
        name=f"{name}HistoryEntry",
        description=f"A recorded change to a {model._meta.verbose_name}.",
    )
    class Entry(HistoryEntry):
        at: datetime.datetime = strawberry_django.field(field_name="history_date")
        user: UserType | None = strawberry_django.field(field_name="history_user")
        change_reason: str | None = strawberry_django.field(field_name="history_change_reason")
        request_id: str = strawberry_django.field()
        record_hash: str = strawberry_django.field()

        @strawberry_django.field(only=["history_type"])
        def action(self) -> HistoryAction:
            return HistoryAction(self.history_type)

        @strawberry_django.field(only=["changes"])
        def changes(self) -> list[FieldChange]:
            return field_changes(model, self.changes)

        @strawberry_django.field(
            only=[f.attname for f in historical.tracked_fields],
            prefetch_related=[accessor for accessor, _ in link_accessors(historical).values()],
        )
        def snapshot(self) -> JSON:
            return snapshot(self)

        @strawberry_django.field(only=["id"])
        def object_id(self) -> relay.GlobalID:
            return relay.GlobalID.from_id(object_global_id(self))

        @strawberry_django.field(
            only=["history_relation"], prefetch_related=[live_object_prefetch(model)]
        )
        def object(self, info: Info) -> relay.Node | None:
            if info.schema.get_type_by_name(name) is None:
                return None  # a kind of object the API does not serve (tokens, memberships)
            return live_object(self)

        @classmethod
        def get_queryset(cls, queryset, info: Info, **kwargs):
            return queryset if can_read_history(current_user(info)) else queryset.none()

    return Entry


def live_object(record):
    """The record's live object as prefetched within the caller's visibility (None when it was
    deleted or is hidden, or was not prefetched)."""
    field = record._meta.get_field("history_relation")
    return field.get_cached_value(record, default=None)


def history_field(entry_type: type):
    """The ``history`` connection of a model type, newest record first."""
    return connection(
        KeysetConnection[entry_type],
        field_name=HISTORY_RELATED_NAME,
        description="Every recorded change to this object, newest first.",
    )
