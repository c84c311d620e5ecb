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
import concurrent.futures
import logging
import os
import threading
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync
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
        if loop is not None:  # committed by sync code running on an event loop's own thread
            task = loop.create_task(layer.group_send(group, message))
            _pending.add(task)
            task.add_done_callback(_sent)
        elif _serving_loop() is not None:  # Django under ASGI: the layer lives on that loop
            async_to_sync(layer.group_send)(group, message)
        else:
            _publisher.send(layer.group_send(group, message))
    except Exception:
        logger.warning(
            "Change event not published (channel layer unavailable): %s %s of #%s",
            group,
            message.get("change"),
            message.get("pk"),
            exc_info=True,
        )


def _serving_loop():
    """The running event loop whose ``sync_to_async`` runs this thread's code (Django under
    ASGI runs every request's sync code so), or None; read where asgiref's ``async_to_sync``
    reads it. asgiref leaves it set after the loop is gone, hence the check that it runs."""
    threadlocal = SyncToAsync.threadlocal
    if getattr(threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


class _Publisher:
    """Sends for code that runs outside any event loop (a WSGI worker, a management command,
    Django's test client) on one event loop, on a daemon thread of its own, started on first
    use in each process. ``async_to_sync`` would start a thread and an event loop for every
    message, costing more than the write that caused it (and, with Redis, a connection)."""

    TIMEOUT = 10  # seconds; a send not done by then is cancelled and logged

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._pid = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # none yet, or forked since
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(
                    target=self._loop.run_forever, name="opsapi-events", daemon=True
                ).start()
            return self._loop

    def send(self, coroutine) -> None:
        """Run ``coroutine`` on the publishing loop and wait for it; raises what it raised."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            future.result(self.TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise


_publisher = _Publisher()


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
