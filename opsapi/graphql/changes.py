"""Subscriptions to the changes of a model: the stream behind ``incidentChanged`` and
``coordinationActionChanged``.

A subscription joins the model's channel-layer group (opsapi.events) and, for every change
event, re-reads the object as its subscriber: under the model's visibility for the user as
the database holds it now (a deactivated account or a withdrawn role sees nothing more) and
the subscription's filters. An event about a row the subscriber may not see — or no longer
may, after an unshare — is dropped, so a subscriber learns exactly what a query would show.

A channel layer that cannot be reached (Redis down) ends the subscription with a
``SERVICE_UNAVAILABLE`` error rather than a generic one, so the client knows to subscribe
again later; the writes themselves go on (opsapi.events drops their events).
"""

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
from opsapi.graphql.errors import BAD_USER_INPUT, ServiceUnavailable
from opsapi.graphql.scoping import SubscriptionContext

logger = logging.getLogger("opsapi.graphql")

LIVE_UPDATES_UNAVAILABLE = "Live updates are unavailable at the moment; subscribe again shortly."
# Tries at joining a model's group: a connection pooled before an outage of Redis fails its
# first use after Redis is back (and is then replaced), which must not fail the subscription.
JOIN_ATTEMPTS = 2


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
    """The changes of ``model`` rows the subscriber may see and ``filters`` select."""
    context = info.context
    if not isinstance(context, SubscriptionContext):
        raise GraphQLError("Subscriptions are served over WebSocket at /graphql/.")
    _refuse_history_reads(info)
    await database_sync_to_async(_check_filters)(model, filters, info)
    async with AsyncExitStack() as stack:
        messages = await _join(stack, context.ws, group_of(model))
        async for message in messages:
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


async def _join(stack: AsyncExitStack, consumer, group: str):
    """Join ``group`` for the life of ``stack``; returns its messages. Raises
    ServiceUnavailable if the channel layer fails ``JOIN_ATTEMPTS`` times."""
    failure = None
    for _ in range(JOIN_ATTEMPTS):
        try:
            return await stack.enter_async_context(
                consumer.listen_to_channel(group, groups=[group])
            )
        # Each layer fails in its own way (redis-py's ConnectionError, OSError, timeouts);
        # this call only talks to the layer.
        except Exception as error:
            failure = error
    logger.warning("Channel layer unavailable, subscription to %s refused: %r", group, failure)
    raise ServiceUnavailable(LIVE_UPDATES_UNAVAILABLE) from failure
