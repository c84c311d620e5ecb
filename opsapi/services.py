"""Helpers shared by the apps' service modules."""

from django.db import models


def apply_changes(obj, changes: dict, allowed: frozenset) -> set[str]:
    """Set ``changes`` (field name -> value) on ``obj``, stripping text.

    Returns the names whose value differs from the current one (an empty set, falsy, when
    nothing changes). Names outside ``allowed`` are a programming error, not user input, and
    raise TypeError.
    """
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Cannot change {', '.join(sorted(unknown))} on {type(obj).__name__}.")
    changed = set()
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed


def validate_changes(obj, changed: set[str]) -> None:
    """``obj.full_clean()`` of an existing row for a change of the fields ``changed``: the
    checks of those fields, every uniqueness rule involving one of them, and the model's
    ``clean()``. The other fields hold what was validated when they were written; checking
    them again would cost a query per relation and unique field.

    A model with constraints other than unique field sets is checked in full.
    """
    opts = obj._meta
    groups = [set(group) for group in opts.unique_together]
    for constraint in opts.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            obj.full_clean()
            return
        groups.append(set(constraint.fields))
    involved = set(changed)
    for group in groups:
        if group & involved:
            involved |= group
    obj.full_clean(exclude=[f.name for f in opts.fields if f.name not in involved])


def locked(obj):
    """``obj`` re-read with its row locked until the transaction ends."""
    return type(obj).objects.select_for_update().get(pk=obj.pk)
