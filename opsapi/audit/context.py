"""Which request (or command run) a change belongs to.

The request id travels in a context variable rather than on the request object so that
history records written by management commands and background work carry one too.
"""

import contextlib
import contextvars
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def new_request_id() -> str:
    """A fresh, unguessable request id."""
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request or command run now executing ('' outside of one)."""
    return _request_id.get()


@contextlib.contextmanager
def request_context(request_id: str):
    """Attribute every change made inside the block to ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def command_context(command_name: str):
    """Request context for a management command run: ``cmd:<name>:<random>``."""
    return request_context(f"cmd:{command_name}:{new_request_id()[:12]}")
