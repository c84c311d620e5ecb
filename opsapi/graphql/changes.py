"""Subscriptions to the changes of a model: the stream behind ``incidentChanged`` and
``coordinationActionChanged``.

A subscription joins the model's channel-layer group (opsapi.events) and, for every change
event, re-reads the object as its subscriber: under the model's visibility for the user as
the database holds it now (a deactivated account or a withdrawn role sees nothing more) and
the subscription's filters. An event about a row the subscriber may not see — or no longer
may, after an unshare — is dropped, so a subscriber learns exactly what a query would show.

A channel layer that cannot be reached (Redis down), when the subscription starts or at any
time after, interrupts the subscription without ending it: the subscriber gets one
``SERVICE_UNAVAILABLE`` error, the stream tries to join the group again with growing delays,
and events flow again once the layer is back. The error comes as a ``next`` message with
``errors``, which graphql-transport-ws clients hand to the subscriber as one more result; an
``error`` message would end the operation, and the subscriber would have to subscribe again.
Changes made during the interruption are not delivered (opsapi.events drops their events; the
writes themselves go on and are on the record), so the error tells the subscriber to query
them.
"""

import asyncio
import datetime
import enum
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import strawberry
import strawberry_django
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from graphql import DocumentNode, GraphQLError
from strawberry import Info

from opsapi.audit.graphql.reads import history_reads
from opsapi.events import group_of
from opsapi.graphql.errors import BAD_USER_INPUT, LiveUpdatesInterrupted
from opsapi.graphql.scoping import SubscriptionContext
from opsapi.subscriptions import LAYER_FAILED, retry_delays, with_one_retry

logger = logging.getLogger("opsapi.graphql")

LIVE_UPDATES_UNAVAILABLE = (
    "Live updates are interrupted: the service that carries them is unavailable. This "
    "subscription resumes by itself when it is back; query what changed in the meantime."
)


@strawberry.enum(description="What happened to the object.")
class ChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"


@dataclass
class Change:
    """One change event, as one subscriber may see it."""

    obj: object
    kind: ChangeKind
    changed_fields: list[str]
    at: datetime.datetime

    @classmethod
    def interruption(cls) -> "Change":
        """The event that tells a subscriber its live updates are interrupted.

        Each part of it is the error, so whichever fields the subscriber selected, the event
        fails with it (graphql-core raises an exception it finds as a field's value), and
        ClientFacingErrors reports it once, as the error of the subscription's field.
        """
        error = LiveUpdatesInterrupted(LIVE_UPDATES_UNAVAILABLE)
        return cls(obj=error, kind=error, changed_fields=error, at=error)


def _refuse_history_reads(info: Info) -> None:
    """History is read through queries, where each read is recorded; a subscription could
    otherwise read the trail unrecorded, event after event."""
    raw = info._raw_info
    document = DocumentNode(definitions=(raw.operation, *raw.fragments.values()))
    if history_reads(raw.schema, document, raw.variable_values):
        raise GraphQLError(
            "History cannot be selected in a subscription: query it instead "
            "(reads of the audit trail are recorded).",
            extensions={"code": BAD_USER_INPUT},
        )


def _visible(model, pk, user_pk, filters, info: Info):
    """The object as the subscriber may see it now, or None."""
    user = get_user_model().objects.filter(pk=user_pk).first()
    queryset = model.objects.filter(pk=pk).filter(model.visibility(user))
    return strawberry_django.filters.apply(filters, queryset, info=info).first()


def _check_filters(model, filters, info: Info) -> None:
    """Raise the filters' input errors (e.g. a malformed ID) before the stream starts."""
    strawberry_django.filters.apply(filters, model.objects.all(), info=info)


async def changes(info: Info, model, filters) -> AsyncIterator[Change]:
    """The changes of ``model`` rows the subscriber may see and ``filters`` select, with
    :meth:`Change.interruption` whenever the channel layer fails."""
    context = info.context
    if not isinstance(context, SubscriptionContext):
        raise GraphQLError("Subscriptions are served over WebSocket at /graphql/.")
    _refuse_history_reads(info)
    await database_sync_to_async(_check_filters)(model, filters, info)
    async for message in _group_messages(context.ws, group_of(model)):
        if message is None:
            yield Change.interruption()
            continue
        obj = await database_sync_to_async(_visible)(
            model, message["pk"], context.user.pk, filters, info
        )
        if obj is not None:
            yield Change(
                obj=obj,
                kind=ChangeKind(message["change"]),
                changed_fields=message["fields"],
                at=datetime.datetime.fromisoformat(message["at"]),
            )


async def _group_messages(consumer, group: str) -> AsyncIterator[dict | None]:
    """The messages sent to ``group``, joined through the connection's ``consumer``, for as
    long as the subscription lasts; None once each time the channel layer fails.

    The layer fails either on joining, or later under the connection, whose receive loop
    then tells each listener (a message marked ``LAYER_FAILED``, opsapi.subscriptions). Either
    way the group is left and joined again with growing delays until that succeeds.
    """
    interrupted = False
    delays = retry_delays()
    while True:
        async with AsyncExitStack() as stack:
            try:
                messages = await _join(stack, consumer, group)
            # Each layer fails in its own way (redis-py's ConnectionError, OSError, timeouts);
            # this call only talks to the layer.
            except Exception as error:
                failure = f"cannot join: {error!r}"
            else:
                if interrupted:
                    logger.info("Live updates of %s resume", group)
                    interrupted = False
                    delays = retry_delays()
                async for message in messages:  # endless but for this break
                    if message.get(LAYER_FAILED):
                        break
                    yield message
                failure = "the connection's channel layer failed"
            if not interrupted:
                logger.warning("Live updates of %s interrupted: %s", group, failure)
                interrupted = True
                yield None  # told before leaving the group, which may wait on the layer
        await asyncio.sleep(next(delays))


async def _join(stack: AsyncExitStack, consumer, group: str):
    """Join ``group`` for the life of ``stack``; returns its messages."""
    messages = await with_one_retry(
        lambda: stack.enter_async_context(consumer.listen_to_channel(group, groups=[group]))
    )
    stack.push_async_callback(messages.aclose)  # no more queueing for it once left
    return messages
