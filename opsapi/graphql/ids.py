"""Global IDs in arguments: decoding them, and finding the rows they name.

Mutation inputs take IDs as plain ``ID`` strings and resolve them here, so that a malformed ID,
an ID of the wrong type and the ID of a row the caller may not see all come back as field
errors in the payload (``invalid_id`` / ``not_found``) rather than as request failures. A
hidden row gets exactly the same ``not_found`` error as a row that does not exist.
"""

from django.core.exceptions import ValidationError
from strawberry import relay

from opsapi.errors import INVALID_ID, MAX_IDS_PER_ARGUMENT, NOT_FOUND, TOO_MANY_ITEMS, field_error
from opsapi.graphql.errors import BadInput


def type_name_of(model) -> str:
    """The GraphQL type name of a model (our types are named after their models)."""
    return "User" if model._meta.label == "auth.User" else model.__name__


def decode_id(value, model, *, field: str) -> int:
    """The primary key in a global ID of ``model``'s type, or a field error ``invalid_id``."""
    expected = type_name_of(model)
    try:
        global_id = relay.GlobalID.from_id(str(value))
        pk = int(global_id.node_id)
    except (ValueError, TypeError, UnicodeError):
        raise field_error(field, f"Not a valid {expected} ID.", INVALID_ID) from None
    if global_id.type_name != expected:
        raise field_error(
            field, f"Expected a {expected} ID, got a {global_id.type_name} ID.", INVALID_ID
        )
    if not 0 < pk < 2**63:
        raise field_error(field, f"Not a valid {expected} ID.", INVALID_ID)
    return pk


def _not_found(model, field: str) -> ValidationError:
    noun = model._meta.verbose_name
    return field_error(field, f"No {noun} with this ID.", NOT_FOUND)


def get_visible(model, value, *, user, field: str, rows=None):
    """The ``model`` row named by global ID ``value`` if ``user`` may see it.

    ``rows`` is the queryset of rows ``user`` may see (default ``model.objects.visible_to``).
    Raises a field error ``not_found`` otherwise, identical for hidden and missing rows.
    """
    pk = decode_id(value, model, field=field)
    if rows is None:
        rows = model.objects.visible_to(user)
    obj = rows.filter(pk=pk).first()
    if obj is None:
        raise _not_found(model, field)
    return obj


def get_visible_list(model, values, *, user, field: str, rows=None) -> list:
    """The ``model`` rows named by a list of global IDs, in the order given, duplicates dropped.

    ``rows`` as for :func:`get_visible`.
    """
    values = list(values or [])
    if len(values) > MAX_IDS_PER_ARGUMENT:
        raise field_error(
            field, f"Give at most {MAX_IDS_PER_ARGUMENT} IDs at a time.", TOO_MANY_ITEMS
        )
    pks = list(dict.fromkeys(decode_id(v, model, field=field) for v in values))
    if rows is None:
        rows = model.objects.visible_to(user)
    found = rows.in_bulk(pks)
    if len(found) != len(pks):
        raise _not_found(model, field)
    return [found[pk] for pk in pks]


def filter_pk(value: str | relay.GlobalID, model, *, argument: str) -> int:
    """The primary key a filter argument names, or a request error naming ``argument`` for a
    malformed ID, an ID of another type or one out of range.

    Filter arguments are declared as plain ``ID`` strings and decoded here: declared as
    ``GlobalID``, a malformed one fails in strawberry's coercion, whose error names no argument.
    """
    expected = type_name_of(model)
    if not isinstance(value, relay.GlobalID):
        try:
            value = relay.GlobalID.from_id(str(value))
        except (ValueError, TypeError, UnicodeError):
            raise BadInput(
                f"'{argument}' is not a valid {expected} ID.", argument=argument
            ) from None
    if value.type_name != expected:
        raise BadInput(f"'{argument}' must be a {expected} ID.", argument=argument)
    try:
        pk = int(value.node_id)
    except ValueError:
        pk = 0
    if not 0 < pk < 2**63:
        raise BadInput(f"'{argument}' is not a valid {expected} ID.", argument=argument)
    return pk
