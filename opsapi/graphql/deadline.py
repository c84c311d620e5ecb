"""The execution deadline: no query or mutation runs longer than ``GRAPHQL_DEADLINE_SECONDS``.

:class:`Deadline` (a schema extension) arms a deadline when execution starts and disarms it
when execution ends, for every transport that runs the schema. When it passes, the operation
is stopped in two ways at once:

- **Between fields** — :class:`DeadlineExecutionContext`, the schema's graphql-core executor,
  looks at the deadline before it resolves the fields of each object (once per object, not per
  field: a per-field check cost 15% of a 6,000-field query, this one under 1% of its function
  calls) and unwinds the whole execution at the first object after the deadline (no further
  resolver runs, no per-field error is collected).
- **Inside a statement** — the watchdog (one thread per process, a heap of armed deadlines)
  cancels the statement running on the operation's own database connections: PostgreSQL by a
  cancel request (psycopg's ``cancel_safe()``), SQLite by ``sqlite3.Connection.interrupt()``.
  The cancel is sent while the operation is still armed, and disarming waits for a cancel in
  flight, so it can never land on the next operation served by the same connection. A lock
  wait on SQLite (its busy timeout) is not interruptible; a statement that computes is.

The answer is ``data: null`` and one error, code ``DEADLINE_EXCEEDED``, naming the limit in
seconds (``extensions.seconds``) and the field at which execution stopped (``path``).

Why a cancel and not ``statement_timeout``: a statement timeout bounds each statement, not the
operation (many statements each under it add up), and setting it per operation costs a round
trip and must be reset before a persistent or pooled connection is reused; ``SET LOCAL``
would need a transaction, which reads do not open (autocommit). The cancel costs nothing until
the deadline passes; arming and disarming one costs about 4 µs (a ``threading.Timer`` per
operation, which starts a thread, about 200 µs). ``DATABASE_STATEMENT_TIMEOUT`` stays the
per-statement bound for code outside GraphQL. After a cancel, a connection left inside no
transaction is given to Django's own check (``close_if_unusable_or_obsolete``): kept if it
answers, closed otherwise, so the next operation reconnects; a pooled connection goes back to
its pool (which resets it).

Mutations write in a transaction per root field (the service's ``transaction.atomic``). A
deadline that passes before a root field's resolver returns stops it inside that transaction,
which rolls back: nothing is written, no history record. Once a root field has returned, its
write is committed, and the deadline is disarmed so that the answer reports the write (its
payload completed; further root fields run): stopping then would answer ``data: null`` for a
change that was made, and invite a client to make it twice.

Subscriptions: the deadline does not bound a subscription's life, but each event's
resolution, by the same executor (cooperatively only: events resolve on the event loop, so
there is no statement of theirs to cancel); a stopped event is answered with the error and
the subscription goes on. Operations executed on an event loop (``Schema.execute``) are
likewise stopped between fields only; every transport of this project executes queries and
mutations with ``execute_sync`` in a thread (opsapi.graphql.pipeline).
"""

import asyncio
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections
from graphql import ExecutionResult, GraphQLError, OperationType
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.graphql import OperationType as StrawberryOperationType

logger = logging.getLogger("opsapi.graphql")

__all__ = [
    "DEADLINE_EXCEEDED",
    "Deadline",
    "DeadlineExceeded",
    "DeadlineExecutionContext",
    "OperationDeadline",
    "passed",
    "watchdog",
]

DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"

# Seconds the watchdog waits for PostgreSQL to take a cancel request.
CANCEL_TIMEOUT = 2.0

# The armed deadline of the operation executing in this context (thread or task).
_current: ContextVar["OperationDeadline | None"] = ContextVar("opsapi_deadline", default=None)


def passed() -> bool:
    """Whether the deadline of the operation executing here has passed: a database error met
    then is the deadline's cancel, which the executor answers (callers need not report it)."""
    deadline = _current.get()
    return deadline is not None and deadline.expired


class DeadlineExceeded(GraphQLError):
    """The operation ran past its deadline and was stopped."""

    def __init__(self, seconds: float, *, nodes=None, path=None):
        super().__init__(
            f"The operation was stopped: it ran longer than {seconds:g} seconds, the most one "
            "operation may run. Ask for less at a time, or try again later.",
            nodes=nodes,
            path=path,
            extensions={"code": DEADLINE_EXCEEDED, "seconds": seconds},
        )


class OperationDeadline:
    """The deadline of one operation: ``expired`` once it has passed while armed; its
    ``on_expiry`` callbacks (the statement cancels) then run in the watchdog's thread, and
    :meth:`disarm` waits for them."""

    __slots__ = ("_disarmed", "_lock", "_on_expiry", "expired", "expires_at", "seconds")

    def __init__(self, seconds: float, on_expiry: tuple[Callable[[], None], ...] = ()):
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.expired = False
        self._disarmed = False
        self._on_expiry = on_expiry
        self._lock = threading.Lock()

    def expire(self) -> None:
        """Mark the deadline passed and cancel the operation's statement (watchdog thread)."""
        with self._lock:
            if self._disarmed:
                return
            self.expired = True
            for cancel in self._on_expiry:
                try:
                    cancel()
                except Exception:  # a connection closing under it, PostgreSQL unreachable
                    logger.warning("Could not cancel a statement at its deadline", exc_info=True)

    def disarm(self) -> bool:
        """Stop watching; waits for a cancel in flight. Returns whether it had expired."""
        with self._lock:
            self._disarmed = True
        watchdog.forget(self)
        return self.expired

    @property
    def disarmed(self) -> bool:
        return self._disarmed


class Watchdog:
    """One thread per process that expires armed deadlines at their time.

    Deadlines sit in a heap by expiry; a disarmed one is dropped from the heap's head at once
    (operations mostly end in the order they began), from elsewhere when it reaches the head.
    The thread sleeps until the earliest armed deadline, so it wakes about once per deadline
    length, not once per operation.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, OperationDeadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def arm(self, seconds: float, on_expiry: tuple[Callable[[], None], ...] = ()):
        deadline = OperationDeadline(seconds, on_expiry)
        with self._condition:
            if self._pid != os.getpid() or self._thread is None:  # first use, or a forked child
                self._heap.clear()
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="graphql-deadline-watchdog", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()
        return deadline

    def forget(self, deadline: OperationDeadline) -> None:
        with self._condition:
            self._drop_disarmed_head()

    def armed(self) -> int:
        """How many deadlines are armed (for tests and diagnostics)."""
        with self._condition:
            return sum(not entry[2].disarmed for entry in self._heap)

    def _drop_disarmed_head(self) -> None:
        heap = self._heap
        while heap and heap[0][2].disarmed:
            heapq.heappop(heap)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._drop_disarmed_head()
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    self._condition.wait(self._heap[0][0] - now if self._heap else None)
                    continue
            for deadline in due:  # outside the heap's lock: a cancel may take a round trip
                deadline.expire()


watchdog = Watchdog()


def _statement_cancels() -> tuple[Callable[[], None], ...]:
    """One cancel per database connection of the calling thread, each reading the
    connection when called (the operation may open it only after the deadline is armed)."""
    return tuple(_cancel_of(connections[alias]) for alias in connections)


def _cancel_of(wrapper) -> Callable[[], None]:
    if wrapper.vendor == "postgresql":

        def cancel():
            raw = wrapper.connection
            if raw is not None and not raw.closed:
                raw.cancel_safe(timeout=CANCEL_TIMEOUT)

    else:

        def cancel():
            raw = wrapper.connection
            if raw is not None and hasattr(raw, "interrupt"):
                raw.interrupt()

    return cancel


def _after_cancel() -> None:
    """Leave the thread's connections usable after a cancelled statement: outside a
    transaction, Django checks each (kept if it answers, closed otherwise)."""
    for alias in connections:
        wrapper = connections[alias]
        if wrapper.connection is not None and not wrapper.in_atomic_block:
            try:
                wrapper.close_if_unusable_or_obsolete()
            except DatabaseError:
                wrapper.close()


class Deadline(SchemaExtension):
    """Arms the execution deadline of each query and mutation, whatever its transport."""

    def on_execute(self):
        operation_type = self.execution_context.operation_type
        if operation_type == StrawberryOperationType.SUBSCRIPTION:
            yield  # each event is bounded by DeadlineExecutionContext instead
            return
        cancels = () if _on_event_loop() else _statement_cancels()
        deadline = watchdog.arm(settings.GRAPHQL_DEADLINE_SECONDS, cancels)
        token = _current.set(deadline)
        try:
            yield
        finally:
            _current.reset(token)
            # The answer's DEADLINE_EXCEEDED is logged with the result's other errors, in one
            # line (opsapi.graphql.errors).
            if deadline.disarm() and cancels:
                _after_cancel()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class DeadlineExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, stopping at the operation's deadline: before the fields of each
    object, and at the first field error met after it (a cancelled statement's among them),
    the execution unwinds with :class:`DeadlineExceeded`, which becomes the whole answer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline: OperationDeadline | None = _current.get()
        self.stopped: DeadlineExceeded | None = None
        if self.operation.operation == OperationType.MUTATION:
            # Only a mutation needs to see its root fields complete (one call per value).
            self.complete_value = self._complete_mutation_value

    # --- the operation -----------------------------------------------------------------

    def execute_operation(self, serially=None):
        if self.operation.operation == OperationType.SUBSCRIPTION:
            # One subscription event (a copy of the subscription's executor): a deadline of
            # its own, without statement cancels (it resolves on the event loop).
            self.deadline = watchdog.arm(settings.GRAPHQL_DEADLINE_SECONDS)
        deadline = self.deadline
        if deadline is None:
            return super().execute_operation(serially)
        try:
            result = super().execute_operation(serially)
        except BaseException:
            self._end_event()
            raise
        if self.is_awaitable(result):

            async def answer():
                try:
                    return self._answer(await result)
                finally:
                    self._end_event()

            return answer()
        self._end_event()
        return self._answer(result)

    def _end_event(self) -> None:
        if self.operation.operation == OperationType.SUBSCRIPTION and self.deadline is not None:
            self.deadline.disarm()

    def _answer(self, result: ExecutionResult) -> ExecutionResult:
        if self.deadline is not None and (self.stopped is not None or self.deadline.expired):
            error = self.stopped or DeadlineExceeded(self.deadline.seconds)
            return ExecutionResult(data=None, errors=[error])
        return result

    # --- each object ----------------------------------------------------------------------

    def _stop(self, field_details_list, path: list) -> DeadlineExceeded:
        if self.stopped is None:
            self.stopped = DeadlineExceeded(
                self.deadline.seconds,
                nodes=[details.node for details in field_details_list],
                path=path,
            )
        return self.stopped

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, context):
        # Looked at once per object (its selection set), not once per field: the check then
        # costs nothing measurable (a per-field override cost 15% of a 6,000-field query).
        deadline = self.deadline
        if deadline is not None and deadline.expired:
            name, field_details_list = next(iter(grouped_field_set.items()))
            raise self._stop(field_details_list, path.as_list() if path else [name])
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, context)

    def handle_field_error(self, raw_error, return_type, field_details_list, path):
        deadline = self.deadline
        if deadline is not None and deadline.expired:
            # Whatever failed after the deadline (a cancelled statement, or the stop itself
            # coming up from a nested object) ends the whole execution.
            if isinstance(raw_error, DeadlineExceeded):
                raise raw_error
            raise self._stop(field_details_list, path.as_list()) from raw_error
        return super().handle_field_error(raw_error, return_type, field_details_list, path)

    def _complete_mutation_value(self, return_type, field_details_list, info, path, result, *rest):
        if path.prev is None and self.deadline is not None and not isinstance(result, Exception):
            # A root mutation field returned: its transaction has committed. Report it.
            self.deadline.disarm()
            self.deadline = None
        return super().complete_value(return_type, field_details_list, info, path, result, *rest)
