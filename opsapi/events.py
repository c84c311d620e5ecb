"""Change events: what subscribers are told, published only once the change has committed.

Every change to a tracked row writes a history record (opsapi.audit.tracking); an app that
offers live updates for a model connects :func:`publish_changes_of` to it, and each new record
of that model then schedules one message on the channel layer for when the writing
transaction commits. Rolled-back work publishes nothing.

A message names the object, the kind of change and the changed fields — never their values:
each subscriber re-reads the object under its own visibility before anything is sent to it.
The channel layer is in-memory in a single process, or Redis shared by several (settings).
Publishing never fails the write that caused it: with the layer unreachable the event is
logged and dropped, since the change itself is committed and on the record.
"""

import asyncio
import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from simple_history.signals import post_create_historical_record
from strawberry.utils.str_converters import to_camel_case

from opsapi.audit.tracking import hidden_history_fields

logger = logging.getLogger("opsapi.events")

# History types -> the kind of change told to subscribers.
CHANGE_KINDS = {"+": "created", "~": "updated"}


def group_of(model) -> str:
    """The channel-layer group that receives the change events of ``model``; also their
    message type, by which a connection routes each to its subscriptions of that model."""
    return f"changes.{model._meta.label_lower}"


def change_message(record) -> dict:
    """The event of a historical ``record``: ids and field names (API names), no values."""
    model = record.instance_type
    hidden = hidden_history_fields(model)
    return {
        "type": group_of(model),
        "pk": getattr(record, model._meta.pk.attname),
        "change": CHANGE_KINDS[record.history_type],
        "fields": [
            to_camel_case(change["field"])
            for change in record.changes or ()
            if change["field"] not in hidden
        ],
        "at": record.history_date.isoformat(),
        "record": record.pk,
    }


def publish(group: str, message: dict) -> None:
    """Send ``message`` to ``group`` now; log and drop it if the channel layer fails."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:  # committed by sync code running on an event loop's own thread
            task = loop.create_task(layer.group_send(group, message))
            _pending.add(task)
            task.add_done_callback(_sent)
    except Exception:
        logger.warning(
            "Change event not published (channel layer unavailable): %s %s of #%s",
            group,
            message.get("change"),
            message.get("pk"),
            exc_info=True,
        )


# Sends under way on an event loop (held so they are not garbage-collected before they run).
_pending: set = set()


def _sent(task) -> None:
    _pending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Change event not published: %s", task.exception())


def _schedule(sender, history_instance, using=None, **kwargs):
    if history_instance.history_type == "-":
        return  # a deleted row is no one's to see
    group = group_of(history_instance.instance_type)
    transaction.on_commit(
        partial(publish, group, change_message(history_instance)),
        using=using,
        robust=True,
    )


def publish_changes_of(model) -> None:
    """Publish a change event after commit for every history record of ``model``."""
    post_create_historical_record.connect(
        _schedule, sender=model.history.model, dispatch_uid=f"opsapi.events:{model._meta.label}"
    )
