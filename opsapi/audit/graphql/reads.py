"""Reading the trail is itself on the record.

Every operation that selects history — a ``history`` connection on any object, ``auditLog``,
``asOf``, ``inclusionProof``, or the read log itself — leaves one :class:`AuditAccess` row per
such field: who, when, the request id, the field's path and the arguments along it (filters,
object IDs).
Auditors read them through ``auditReads``.
"""

import json
import logging
import math
from contextlib import nullcontext
from typing import Annotated

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from graphql import (
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from strawberry import Info, auto, relay
from strawberry.extensions import SchemaExtension
from strawberry_django import DatetimeFilterLookup, StrFilterLookup

from opsapi.accounts.access import roles_of
from opsapi.accounts.graphql.types import UserType
from opsapi.audit.chain import AuditJSONEncoder
from opsapi.audit.graphql import proofs
from opsapi.audit.models import AuditAccess
from opsapi.graphql.ids import filter_pk
from opsapi.graphql.scoping import context_user, current_user

logger = logging.getLogger("opsapi.audit")

AUDIT_FIELDS = {"auditLog", "asOf", "auditReads", "inclusionProof"}


def _reads_history(field_name: str, field_type) -> bool:
    if field_name in AUDIT_FIELDS:
        return True
    return field_name == "history" and get_named_type(field_type).name.endswith(
        "HistoryEntryConnection"
    )


class _ReadCollector(Visitor):
    """Finds the history-reading fields of a document, with their path and arguments."""

    def __init__(self, type_info: TypeInfo, variables: dict):
        super().__init__()
        self.type_info = type_info
        self.variables = variables
        self.path: list[tuple[str, dict]] = []
        self.reads: list[tuple[str, str, dict]] = []

    def enter_field(self, node, *args):
        field = self.type_info.get_field_def()
        # The arguments as executed: as sent, variables substituted, page defaults filled in.
        arguments = {
            argument.name.value: value_from_ast_untyped(argument.value, self.variables)
            for argument in node.arguments or ()
        }
        name = node.name.value
        self.path.append((name, arguments))
        if field is not None and _reads_history(name, field.type):
            self.reads.append(
                (
                    name if name in AUDIT_FIELDS else "history",
                    ".".join(step for step, _ in self.path),
                    {step: args for step, args in self.path if args},
                )
            )

    def leave_field(self, node, *args):
        self.path.pop()


def _jsonable(value):
    """``value`` as JSON any database stores, whatever junk the caller sent: a read goes on
    the record even when its arguments hold NaN, infinities, NUL characters or lone
    surrogates (which JSON columns refuse) — those are kept as escaped text."""
    return _storable(json.loads(json.dumps(value, cls=AuditJSONEncoder, default=str)))


def _storable(value):
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")
    return value


def history_reads(schema, document, variables: dict) -> list[tuple[str, str, dict]]:
    """The history-reading fields of a query ``document``: (operation, path, arguments)."""
    type_info = TypeInfo(schema)
    collector = _ReadCollector(type_info, variables)
    visit(document, TypeInfoVisitor(type_info, collector))
    return collector.reads


class RecordAuditReads(SchemaExtension):
    """Writes one AuditAccess row per history-reading field of each operation."""

    def on_execute(self):
        yield
        context = self.execution_context
        user = context_user(context.context)
        if context.graphql_document is None or user is None or not user.is_authenticated:
            return
        # A field is named in the query text itself (aliases and fragments cannot hide its
        # name), so most operations skip walking the document on every request.
        query = context.query
        if query is not None and not any(name in query for name in ("history", *AUDIT_FIELDS)):
            return
        reads = history_reads(
            context.schema._schema, context.graphql_document, context.variables or {}
        )
        for operation, target, arguments in reads:
            try:
                # In a savepoint when inside a transaction: a failure here must not break the
                # transaction around the request. Outside one the INSERT is atomic by itself.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    AuditAccess.record(
                        user=user,
                        operation=operation,
                        target=target,
                        arguments=_jsonable(arguments),
                    )
            except Exception:
                # The read itself already happened; losing its log line must be noticed.
                logger.exception("Could not record an audit-trail read")


@strawberry_django.filter_type(AuditAccess)
class AuditReadFilter:
    operation: StrFilterLookup | None = strawberry.UNSET
    at: DatetimeFilterLookup | None = strawberry.UNSET
    request_id: StrFilterLookup | None = strawberry.UNSET

    @strawberry_django.filter_field(description="Who read (a User ID).")
    def user(self, value: strawberry.ID, prefix: str) -> Q:
        return Q(**{f"{prefix}user_id": filter_pk(value, get_user_model(), argument="user")})


@strawberry_django.type(AuditAccess, name="AuditRead", filters=AuditReadFilter)
class AuditRead(relay.Node):
    at: auto
    user: UserType | None
    request_id: auto
    operation: auto
    target: auto
    arguments: strawberry.scalars.JSON

    @strawberry_django.field(only=["sequence"], description=proofs.DESCRIPTION)
    def inclusion_proof(
        self,
        info: Info,
        checkpoint: Annotated[int | None, proofs.CHECKPOINT_ARGUMENT] = None,
    ) -> proofs.InclusionProof | None:
        # The access log's leaves are its entries by number.
        return proofs.resolve(info, AuditAccess._meta.db_table, self.sequence, checkpoint)

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return queryset if roles_of(current_user(info)).auditor else queryset.none()
