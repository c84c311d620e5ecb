"""Turning mutation inputs into service arguments.

Update inputs default every field to UNSET ("leave unchanged"); an explicit null clears a
field where that is allowed and is a ``null`` field error where it is not.
"""

from typing import Annotated

import strawberry
from strawberry import UNSET

from opsapi.errors import field_error


def provided(data, names) -> dict:
    """The fields of ``data`` among ``names`` that the client sent (UNSET ones left out)."""
    values = {name: getattr(data, name) for name in names}
    return {name: value for name, value in values.items() if value is not UNSET}


def refuse_nulls(changes: dict, names) -> None:
    """A ``null`` field error for any of ``names`` sent as null."""
    for name in names:
        if name in changes and changes[name] is None:
            raise field_error(name, "This field cannot be null.", "null")


def named_input(cls):
    """Annotation for a resolver parameter exposed as the mutation's single ``input`` argument
    (the Python name differs so as not to shadow the builtin)."""
    return Annotated[cls, strawberry.argument(name="input")]
